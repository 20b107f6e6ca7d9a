// ggml's ternary types TQ1_0 and TQ2_0 (values in {-1, 0, 1} times a block scale).
// Each type: quantize_<t> (fast path) and quantize_<t>_ref (scalar reference, bit-identical),
// dequantize_<t> and dequantize_<t>_ref. Signatures as QuantizeRowsFn / DequantizeFn in quant/types.h.
#pragma once

#include <cstdint>

namespace qs {

// On-disk blocks of 256 values, field for field ggml's block_tq1_0 / block_tq2_0 (ggml-common.h);
// value = (trit - 1)·d with d IEEE f16 bits.

// Five trits per byte in base 3, most significant first, stored as ceil(Σ t·3^(4-n) · 256/243):
// qs[m] (m < 32) holds values m + 32n, qs[32 + m] (m < 16) values 160 + m + 16n (n = 0..4), and
// qh[j] four trits for values 240 + j + 4n (n = 0..3) with a zero fifth trit. Trit n of a byte b
// is ((b·3^n mod 256)·3) >> 8.
struct BlockTQ1_0 {
  uint8_t qs[48];
  uint8_t qh[4];
  uint16_t d;
};
static_assert(sizeof(BlockTQ1_0) == 54);

// Four 2-bit codes (trit 0..2) per byte: value 128h + 32k + l at bits 2k..2k+1 of qs[32h + l].
struct BlockTQ2_0 {
  uint8_t qs[64];
  uint16_t d;
};
static_assert(sizeof(BlockTQ2_0) == 66);

void quantize_tq1_0(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_tq1_0_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_tq1_0(const void *src, float *dst, int64_t n);
void dequantize_tq1_0_ref(const void *src, float *dst, int64_t n);

void quantize_tq2_0(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_tq2_0_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_tq2_0(const void *src, float *dst, int64_t n);
void dequantize_tq2_0_ref(const void *src, float *dst, int64_t n);

}  // namespace qs
