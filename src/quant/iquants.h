// ggml's i-quants: IQ4_NL, IQ4_XS (non-linear 4-bit) and the lattice-grid types IQ3_XXS, IQ3_S, IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M.
// Each type: quantize_<t> (fast path) and quantize_<t>_ref (scalar reference, bit-identical),
// dequantize_<t> and dequantize_<t>_ref. Signatures as QuantizeRowsFn / DequantizeFn in quant/types.h.
#pragma once

#include <cstdint>

namespace qs {

void quantize_iq4_nl(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_iq4_nl_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_iq4_nl(const void *src, float *dst, int64_t n);
void dequantize_iq4_nl_ref(const void *src, float *dst, int64_t n);

void quantize_iq4_xs(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_iq4_xs_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_iq4_xs(const void *src, float *dst, int64_t n);
void dequantize_iq4_xs_ref(const void *src, float *dst, int64_t n);

void quantize_iq3_xxs(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_iq3_xxs_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_iq3_xxs(const void *src, float *dst, int64_t n);
void dequantize_iq3_xxs_ref(const void *src, float *dst, int64_t n);

void quantize_iq3_s(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_iq3_s_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_iq3_s(const void *src, float *dst, int64_t n);
void dequantize_iq3_s_ref(const void *src, float *dst, int64_t n);

void quantize_iq2_xxs(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_iq2_xxs_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_iq2_xxs(const void *src, float *dst, int64_t n);
void dequantize_iq2_xxs_ref(const void *src, float *dst, int64_t n);

void quantize_iq2_xs(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_iq2_xs_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_iq2_xs(const void *src, float *dst, int64_t n);
void dequantize_iq2_xs_ref(const void *src, float *dst, int64_t n);

void quantize_iq2_s(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_iq2_s_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_iq2_s(const void *src, float *dst, int64_t n);
void dequantize_iq2_s_ref(const void *src, float *dst, int64_t n);

void quantize_iq1_s(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_iq1_s_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_iq1_s(const void *src, float *dst, int64_t n);
void dequantize_iq1_s_ref(const void *src, float *dst, int64_t n);

void quantize_iq1_m(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_iq1_m_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_iq1_m(const void *src, float *dst, int64_t n);
void dequantize_iq1_m_ref(const void *src, float *dst, int64_t n);

}  // namespace qs
