// Dequantization of the legacy 32-value block types, bit for bit ggml's dequantize_row_q4_0 ...
// dequantize_row_q8_0: the scalar references follow the format definition (integer level converted
// to float, times d, plus m where the type has one, no fused multiply-add); the AVX-512 paths do
// the same operations on 16 values at a time.
#include <cstring>

#include "core/half.h"
#include "quant/legacy.h"
#include "quant/levels.h"

namespace qs {
namespace {

constexpr int kBlock = 32;

uint32_t load_high_bits(const uint8_t qh[4]) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  return bits;
}

#if defined(__AVX512F__)
// The same conversion as f16_to_f32 (F16C keeps NaN payloads and sets the quiet bit, as it does).
inline float scale_of(uint16_t h) { return _cvtsh_ss(h); }

// Low and high nibbles of 16 bytes as two vectors of 16 int32.
inline void unpack_nibbles(const uint8_t *qs, __m512i &low, __m512i &high) {
  const __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(qs)));
  low = _mm512_and_si512(bytes, _mm512_set1_epi32(0x0F));
  high = _mm512_srli_epi32(bytes, 4);
}

inline void store_scaled(float *y, __m512i levels, __m512 d) { _mm512_storeu_ps(y, _mm512_mul_ps(_mm512_cvtepi32_ps(levels), d)); }

inline void store_scaled_plus(float *y, __m512i levels, __m512 d, __m512 m) {
  _mm512_storeu_ps(y, _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(levels), d), m));
}
#endif

}  // namespace

void dequantize_q4_0_ref(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ4_0 *>(src);
  for (int64_t i = 0; i < n / kBlock; ++i) {
    const float d = f16_to_f32(blocks[i].d);
    float *y = dst + i * kBlock;
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>((blocks[i].qs[j] & 0x0F) - 8) * d;
      y[j + 16] = static_cast<float>((blocks[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q4_1_ref(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ4_1 *>(src);
  for (int64_t i = 0; i < n / kBlock; ++i) {
    const float d = f16_to_f32(blocks[i].d), m = f16_to_f32(blocks[i].m);
    float *y = dst + i * kBlock;
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>(blocks[i].qs[j] & 0x0F) * d + m;
      y[j + 16] = static_cast<float>(blocks[i].qs[j] >> 4) * d + m;
    }
  }
}

void dequantize_q5_0_ref(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ5_0 *>(src);
  for (int64_t i = 0; i < n / kBlock; ++i) {
    const float d = f16_to_f32(blocks[i].d);
    const uint32_t high = load_high_bits(blocks[i].qh);
    float *y = dst + i * kBlock;
    for (int j = 0; j < 16; ++j) {
      const int l0 = (blocks[i].qs[j] & 0x0F) | static_cast<int>(((high >> j) & 1) << 4);
      const int l1 = (blocks[i].qs[j] >> 4) | static_cast<int>(((high >> (j + 16)) & 1) << 4);
      y[j] = static_cast<float>(l0 - 16) * d;
      y[j + 16] = static_cast<float>(l1 - 16) * d;
    }
  }
}

void dequantize_q5_1_ref(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ5_1 *>(src);
  for (int64_t i = 0; i < n / kBlock; ++i) {
    const float d = f16_to_f32(blocks[i].d), m = f16_to_f32(blocks[i].m);
    const uint32_t high = load_high_bits(blocks[i].qh);
    float *y = dst + i * kBlock;
    for (int j = 0; j < 16; ++j) {
      const int l0 = (blocks[i].qs[j] & 0x0F) | static_cast<int>(((high >> j) & 1) << 4);
      const int l1 = (blocks[i].qs[j] >> 4) | static_cast<int>(((high >> (j + 16)) & 1) << 4);
      y[j] = static_cast<float>(l0) * d + m;
      y[j + 16] = static_cast<float>(l1) * d + m;
    }
  }
}

void dequantize_q8_0_ref(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ8_0 *>(src);
  for (int64_t i = 0; i < n / kBlock; ++i) {
    const float d = f16_to_f32(blocks[i].d);
    for (int j = 0; j < kBlock; ++j) dst[i * kBlock + j] = static_cast<float>(blocks[i].qs[j]) * d;
  }
}

#if defined(__AVX512F__)

void dequantize_q4_0(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ4_0 *>(src);
  const __m512i eight = _mm512_set1_epi32(8);
  for (int64_t i = 0; i < n / kBlock; ++i) {
    const __m512 d = _mm512_set1_ps(scale_of(blocks[i].d));
    __m512i low, high;
    unpack_nibbles(blocks[i].qs, low, high);
    store_scaled(dst + i * kBlock, _mm512_sub_epi32(low, eight), d);
    store_scaled(dst + i * kBlock + 16, _mm512_sub_epi32(high, eight), d);
  }
}

void dequantize_q4_1(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ4_1 *>(src);
  for (int64_t i = 0; i < n / kBlock; ++i) {
    const __m512 d = _mm512_set1_ps(scale_of(blocks[i].d)), m = _mm512_set1_ps(scale_of(blocks[i].m));
    __m512i low, high;
    unpack_nibbles(blocks[i].qs, low, high);
    store_scaled_plus(dst + i * kBlock, low, d, m);
    store_scaled_plus(dst + i * kBlock + 16, high, d, m);
  }
}

void dequantize_q5_0(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ5_0 *>(src);
  const __m512i sixteen = _mm512_set1_epi32(16);
  for (int64_t i = 0; i < n / kBlock; ++i) {
    const __m512 d = _mm512_set1_ps(scale_of(blocks[i].d));
    const uint32_t high_bits = load_high_bits(blocks[i].qh);
    __m512i low, high;
    unpack_nibbles(blocks[i].qs, low, high);
    low = _mm512_mask_or_epi32(low, static_cast<__mmask16>(high_bits), low, sixteen);
    high = _mm512_mask_or_epi32(high, static_cast<__mmask16>(high_bits >> 16), high, sixteen);
    store_scaled(dst + i * kBlock, _mm512_sub_epi32(low, sixteen), d);
    store_scaled(dst + i * kBlock + 16, _mm512_sub_epi32(high, sixteen), d);
  }
}

void dequantize_q5_1(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ5_1 *>(src);
  const __m512i sixteen = _mm512_set1_epi32(16);
  for (int64_t i = 0; i < n / kBlock; ++i) {
    const __m512 d = _mm512_set1_ps(scale_of(blocks[i].d)), m = _mm512_set1_ps(scale_of(blocks[i].m));
    const uint32_t high_bits = load_high_bits(blocks[i].qh);
    __m512i low, high;
    unpack_nibbles(blocks[i].qs, low, high);
    low = _mm512_mask_or_epi32(low, static_cast<__mmask16>(high_bits), low, sixteen);
    high = _mm512_mask_or_epi32(high, static_cast<__mmask16>(high_bits >> 16), high, sixteen);
    store_scaled_plus(dst + i * kBlock, low, d, m);
    store_scaled_plus(dst + i * kBlock + 16, high, d, m);
  }
}

void dequantize_q8_0(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ8_0 *>(src);
  for (int64_t i = 0; i < n / kBlock; ++i) {
    const __m512 d = _mm512_set1_ps(scale_of(blocks[i].d));
    const auto *q = reinterpret_cast<const __m128i *>(blocks[i].qs);
    store_scaled(dst + i * kBlock, _mm512_cvtepi8_epi32(_mm_loadu_si128(q)), d);
    store_scaled(dst + i * kBlock + 16, _mm512_cvtepi8_epi32(_mm_loadu_si128(q + 1)), d);
  }
}

#else

void dequantize_q4_0(const void *src, float *dst, int64_t n) { dequantize_q4_0_ref(src, dst, n); }
void dequantize_q4_1(const void *src, float *dst, int64_t n) { dequantize_q4_1_ref(src, dst, n); }
void dequantize_q5_0(const void *src, float *dst, int64_t n) { dequantize_q5_0_ref(src, dst, n); }
void dequantize_q5_1(const void *src, float *dst, int64_t n) { dequantize_q5_1_ref(src, dst, n); }
void dequantize_q8_0(const void *src, float *dst, int64_t n) { dequantize_q8_0_ref(src, dst, n); }

#endif

}  // namespace qs
