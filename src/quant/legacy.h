// ggml's legacy 32-value block types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: block layouts and kernels.
// Each type: quantize_<t> (fast path) and quantize_<t>_ref (scalar reference, bit-identical),
// dequantize_<t> and dequantize_<t>_ref. Signatures as QuantizeRowsFn / DequantizeFn in quant/types.h.
#pragma once

#include <cstdint>

namespace qs {

// On-disk blocks of 32 values, field for field ggml's block_q4_0 ... block_q8_0 (ggml-common.h).
// Scales are IEEE f16 bits. Nibble j of qs (low half of byte j) is value j, the high half value
// j + 16; Q5's qh holds the fifth bit of value j in bit j (little-endian 32 bits).
struct BlockQ4_0 {
  uint16_t d;  // value = d * (nibble - 8)
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_0) == 18);

struct BlockQ4_1 {
  uint16_t d;  // value = d * nibble + m
  uint16_t m;
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_1) == 20);

struct BlockQ5_0 {
  uint16_t d;  // value = d * (5-bit level - 16)
  uint8_t qh[4];
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_0) == 22);

struct BlockQ5_1 {
  uint16_t d;  // value = d * 5-bit level + m
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_1) == 24);

struct BlockQ8_0 {
  uint16_t d;  // value = d * qs[j]
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

void quantize_q4_0(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_q4_0_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_q4_0(const void *src, float *dst, int64_t n);
void dequantize_q4_0_ref(const void *src, float *dst, int64_t n);

void quantize_q4_1(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_q4_1_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_q4_1(const void *src, float *dst, int64_t n);
void dequantize_q4_1_ref(const void *src, float *dst, int64_t n);

void quantize_q5_0(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_q5_0_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_q5_0(const void *src, float *dst, int64_t n);
void dequantize_q5_0_ref(const void *src, float *dst, int64_t n);

void quantize_q5_1(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_q5_1_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_q5_1(const void *src, float *dst, int64_t n);
void dequantize_q5_1_ref(const void *src, float *dst, int64_t n);

void quantize_q8_0(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_q8_0_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_q8_0(const void *src, float *dst, int64_t n);
void dequantize_q8_0_ref(const void *src, float *dst, int64_t n);

}  // namespace qs
