// ggml's k-quants (256-value super-blocks): Q2_K, Q3_K, Q4_K, Q5_K, Q6_K: block layouts and kernels.
// Each type: quantize_<t> (fast path) and quantize_<t>_ref (scalar reference, bit-identical),
// dequantize_<t> and dequantize_<t>_ref. Signatures as QuantizeRowsFn / DequantizeFn in quant/types.h.
// The blocks and their scale packings are QS_HOST_DEVICE: the GPU's k-quant kernels use them too.
#pragma once

#include <cstdint>

#include "core/host_device.h"

namespace qs {

// On-disk super-blocks of 256 values, field for field ggml's block_q2_K ... block_q6_K
// (ggml-common.h); d/dmin are IEEE f16 bits.

// 16 sub-blocks of 16: value = d·(scales[s] & 15)·q - dmin·(scales[s] >> 4), q in 0..3.
struct BlockQ2_K {
  uint8_t scales[16];
  uint8_t qs[64];  // 2-bit q: value 128h + 32k + l at bits 2k..2k+1 of qs[32h + l]
  uint16_t d;
  uint16_t dmin;
};
static_assert(sizeof(BlockQ2_K) == 84);

// 16 sub-blocks of 16: value = d·(scale - 32)·q, q in -4..3 with 6-bit scales packed in 12 bytes
// (pack_scales_q3_K), q + 4 split into 2 low bits (qs, as Q2_K) and a high bit (hmask: value i at
// bit i/32 of hmask[i%32]); the high bit clear means "subtract 4".
struct BlockQ3_K {
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];
  uint16_t d;
};
static_assert(sizeof(BlockQ3_K) == 110);

// 8 sub-blocks of 32: value = d·scale·q - dmin·min, q in 0..15, 6-bit scales and mins packed in
// 12 bytes (pack_scales_mins_k4); value 64c + l at the low nibble of qs[32c + l], 64c + 32 + l at
// its high nibble.
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qs[128];
};
static_assert(sizeof(BlockQ4_K) == 144);

// As Q4_K with q in 0..31: the fifth bit of value 64c + l is bit 2c of qh[l], of 64c + 32 + l
// bit 2c + 1.
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
static_assert(sizeof(BlockQ5_K) == 176);

// 16 sub-blocks of 16: value = d·scales[s]·(q - 32), q in 0..63; within each half h of 128 values,
// value 128h + 32k + l (k = 0..3, l = 0..31) has its low nibble in ql[64h + 32(k&1) + l] (high half
// of the byte for k >= 2) and its top 2 bits at bits 2k..2k+1 of qh[32h + l].
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 210);

// Q4_K/Q5_K scales and mins (8 of each, 0..63) to and from their 12-byte layout: bytes 0-3 hold
// scales 0-3 and bytes 4-7 mins 0-3 in their low 6 bits; bytes 8-11 hold the low nibbles of scale
// (low half) and min (high half) 4-7, whose top 2 bits sit in bits 6-7 of bytes 0-3 (scales) and
// 4-7 (mins). unpack_scale_min_k4 is ggml's get_scale_min_k4.
QS_HOST_DEVICE inline void pack_scales_mins_k4(const uint8_t scales[8], const uint8_t mins[8], uint8_t packed[12]) {
  for (int j = 0; j < 4; ++j) {
    packed[j] = static_cast<uint8_t>(scales[j] & 63);
    packed[j + 4] = static_cast<uint8_t>(mins[j] & 63);
  }
  for (int j = 4; j < 8; ++j) {
    packed[j + 4] = static_cast<uint8_t>((scales[j] & 0xF) | ((mins[j] & 0xF) << 4));
    packed[j - 4] |= static_cast<uint8_t>(((scales[j] >> 4) & 3) << 6);
    packed[j] |= static_cast<uint8_t>(((mins[j] >> 4) & 3) << 6);
  }
}

QS_HOST_DEVICE inline void unpack_scale_min_k4(int j, const uint8_t packed[12], uint8_t &scale, uint8_t &min) {
  if (j < 4) {
    scale = packed[j] & 63;
    min = packed[j + 4] & 63;
  } else {
    scale = static_cast<uint8_t>((packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4));
    min = static_cast<uint8_t>((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
  }
}

// Q3_K's 16 scales, stored as scale + 32 in 0..63: low nibbles of 0-7 in the low halves of bytes
// 0-7, of 8-15 in the high halves; top 2 bits of scale j at bits 2(j/4)..2(j/4)+1 of byte 8 + j%4.
QS_HOST_DEVICE inline void pack_scales_q3_K(const int8_t scales[16], uint8_t packed[12]) {
  for (int i = 0; i < 12; ++i) packed[i] = 0;
  for (int j = 0; j < 16; ++j) {
    const int stored = (scales[j] + 32) & 63;
    if (j < 8) {
      packed[j] |= static_cast<uint8_t>(stored & 0xF);
    } else {
      packed[j - 8] |= static_cast<uint8_t>((stored & 0xF) << 4);
    }
    packed[8 + j % 4] |= static_cast<uint8_t>((stored >> 4) << (2 * (j / 4)));
  }
}

QS_HOST_DEVICE inline int8_t unpack_scale_q3_K(int j, const uint8_t packed[12]) {
  const int low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
  const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
  return static_cast<int8_t>((low | (high << 4)) - 32);
}

void quantize_q2_K(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_q2_K_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_q2_K(const void *src, float *dst, int64_t n);
void dequantize_q2_K_ref(const void *src, float *dst, int64_t n);

void quantize_q3_K(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_q3_K_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_q3_K(const void *src, float *dst, int64_t n);
void dequantize_q3_K_ref(const void *src, float *dst, int64_t n);

void quantize_q4_K(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_q4_K_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_q4_K(const void *src, float *dst, int64_t n);
void dequantize_q4_K_ref(const void *src, float *dst, int64_t n);

void quantize_q5_K(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_q5_K_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_q5_K(const void *src, float *dst, int64_t n);
void dequantize_q5_K_ref(const void *src, float *dst, int64_t n);

void quantize_q6_K(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_q6_K_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_q6_K(const void *src, float *dst, int64_t n);
void dequantize_q6_K_ref(const void *src, float *dst, int64_t n);

}  // namespace qs
