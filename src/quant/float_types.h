// F32, F16 and BF16: plain conversions (round to nearest even).
// Each type: quantize_<t> (fast path) and quantize_<t>_ref (scalar reference, bit-identical),
// dequantize_<t> and dequantize_<t>_ref. Signatures as QuantizeRowsFn / DequantizeFn in quant/types.h.
#pragma once

#include <cstdint>

namespace qs {

void quantize_f32(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_f32_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_f32(const void *src, float *dst, int64_t n);
void dequantize_f32_ref(const void *src, float *dst, int64_t n);

void quantize_f16(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_f16_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_f16(const void *src, float *dst, int64_t n);
void dequantize_f16_ref(const void *src, float *dst, int64_t n);

void quantize_bf16(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_bf16_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_bf16(const void *src, float *dst, int64_t n);
void dequantize_bf16_ref(const void *src, float *dst, int64_t n);

}  // namespace qs
