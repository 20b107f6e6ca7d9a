// Legacy 32-value block types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: quantization (a search for the block's
// scale, or scale and min, then nearest levels) and dequantization, each as a scalar reference and
// an AVX-512 fast path that gives the same bytes/floats.
#include "quant/legacy.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <span>
#include <vector>

#include "core/half.h"
#include "quant/importance.h"
#include "quant/levels.h"
#include "quant/scale_search.h"

namespace qs {
namespace {

constexpr int kBlock = 32;
constexpr int64_t kChunkBlocks = 256;  // blocks whose scales are searched in one batch

// Floor of the importance weights (see importance.h): at 0.7 Q4_0's plain RMSE with an imatrix
// stays below ggml's on outlier-heavy data too.
constexpr float kImportanceFloor = 0.7f;

// Search effort per type. ggml maps the block's largest magnitude to the end level exactly (Q4_0:
// d = max/-8) and, with an imatrix, tries 19 (symmetric) or 37 (affine) targets within about ±1
// level of it. We refit every candidate by least squares, reach further (clipping the largest
// value pays when its weight is small), and finish with Lloyd steps. Without importance the
// search is kept short so quantizing stays at least as fast as ggml's single rounding pass.

constexpr auto kQ4_0Plain = even_targets<4>(-9.0f, -7.5f);
constexpr auto kQ4_0Weighted = even_targets<32>(-14.0f, -6.0f);
constexpr auto kQ5_0Plain = even_targets<5>(-17.0f, -15.0f);
constexpr auto kQ5_0Weighted = even_targets<48>(-21.0f, -13.0f);
// Q8_0 stays within ±127 like ggml (a -128 would break dot-product kernels that negate a weight).
constexpr auto kQ8_0Plain = even_targets<12>(120.0f, 131.0f);
constexpr auto kQ8_0Weighted = even_targets<12>(115.0f, 131.0f);
constexpr std::array<float, 1> kQ4_1Plain = {15.0f};
constexpr auto kQ4_1Weighted = even_targets<16>(12.0f, 16.0f);
constexpr std::array<float, 2> kQ5_1Plain = {30.5f, 31.0f};
constexpr auto kQ5_1Weighted = even_targets<16>(27.0f, 32.0f);
// Zero-point shifts (in levels) tried for each affine target: the best min is often not the
// block's smallest value.
constexpr auto kQ4_1Shifts = even_targets<3>(-0.25f, 0.25f);
constexpr std::array<float, 2> kQ5_1Shifts = {-0.3f, 0.3f};
constexpr auto kZeroPointShifts = even_targets<5>(-0.4f, 0.4f);

// ---- Storing one block, given the searched scale (and min) -------------------------------------

// Levels of 32 values for scale d (f16-rounded), as unsigned codes level - lo.
void symmetric_codes(const float *x, float d, int lo, int hi, uint8_t *codes) {
  const float id = inverse_or_zero(d);
  for (int j = 0; j < kBlock; ++j) {
    codes[j] = static_cast<uint8_t>(nearest_level(x[j] * id, static_cast<float>(lo), static_cast<float>(hi)) - lo);
  }
}

void affine_codes(const float *x, float d, float m, int nmax, uint8_t *codes) {
  const float id = inverse_or_zero(d);
  for (int j = 0; j < kBlock; ++j) {
    codes[j] = static_cast<uint8_t>(nearest_level((x[j] - m) * id, 0.0f, static_cast<float>(nmax)));
  }
}

void pack_nibbles(const uint8_t *codes, uint8_t *qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>((codes[j] & 0xF) | ((codes[j + 16] & 0xF) << 4));
}

void pack_high_bits(const uint8_t *codes, uint8_t *qh) {
  uint32_t bits = 0;
  for (int j = 0; j < kBlock; ++j) bits |= static_cast<uint32_t>((codes[j] >> 4) & 1) << j;
  std::memcpy(qh, &bits, 4);
}

void store_q4_0_ref(const float *x, float scale, BlockQ4_0 &b) {
  b.d = f32_to_f16(scale);
  uint8_t codes[kBlock];
  symmetric_codes(x, f16_to_f32(b.d), -8, 7, codes);
  pack_nibbles(codes, b.qs);
}

void store_q5_0_ref(const float *x, float scale, BlockQ5_0 &b) {
  b.d = f32_to_f16(scale);
  uint8_t codes[kBlock];
  symmetric_codes(x, f16_to_f32(b.d), -16, 15, codes);
  pack_nibbles(codes, b.qs);
  pack_high_bits(codes, b.qh);
}

void store_q8_0_ref(const float *x, float scale, BlockQ8_0 &b) {
  b.d = f32_to_f16(scale);
  const float id = inverse_or_zero(f16_to_f32(b.d));
  for (int j = 0; j < kBlock; ++j) b.qs[j] = static_cast<int8_t>(nearest_level(x[j] * id, -127.0f, 127.0f));
}

void store_q4_1_ref(const float *x, AffineFit fit, BlockQ4_1 &b) {
  b.d = f32_to_f16(fit.scale);
  b.m = f32_to_f16(fit.min);
  uint8_t codes[kBlock];
  affine_codes(x, f16_to_f32(b.d), f16_to_f32(b.m), 15, codes);
  pack_nibbles(codes, b.qs);
}

void store_q5_1_ref(const float *x, AffineFit fit, BlockQ5_1 &b) {
  b.d = f32_to_f16(fit.scale);
  b.m = f32_to_f16(fit.min);
  uint8_t codes[kBlock];
  affine_codes(x, f16_to_f32(b.d), f16_to_f32(b.m), 31, codes);
  pack_nibbles(codes, b.qs);
  pack_high_bits(codes, b.qh);
}

#if defined(__AVX512F__)
// The same stores, 16 values per instruction. Codes come out as two vectors of 16 bytes (values
// 0..15 and 16..31).
inline void symmetric_codes_avx512(const float *x, float d, int lo, int hi, __m128i &c0, __m128i &c1) {
  const __m512 id = _mm512_set1_ps(inverse_or_zero(d));
  const __m512 vlo = _mm512_set1_ps(static_cast<float>(lo)), vhi = _mm512_set1_ps(static_cast<float>(hi));
  const __m512i offset = _mm512_set1_epi32(-lo);
  c0 = _mm512_cvtepi32_epi8(_mm512_add_epi32(nearest_level_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), id), vlo, vhi), offset));
  c1 = _mm512_cvtepi32_epi8(_mm512_add_epi32(nearest_level_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16), id), vlo, vhi), offset));
}

inline void affine_codes_avx512(const float *x, float d, float m, int nmax, __m128i &c0, __m128i &c1) {
  const __m512 id = _mm512_set1_ps(inverse_or_zero(d)), vm = _mm512_set1_ps(m);
  const __m512 zero = _mm512_setzero_ps(), top = _mm512_set1_ps(static_cast<float>(nmax));
  c0 = _mm512_cvtepi32_epi8(nearest_level_epi32(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x), vm), id), zero, top));
  c1 = _mm512_cvtepi32_epi8(nearest_level_epi32(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + 16), vm), id), zero, top));
}

inline void pack_nibbles_avx512(__m128i c0, __m128i c1, uint8_t *qs) {
  const __m128i low = _mm_and_si128(c0, _mm_set1_epi8(0x0F));
  const __m128i high = _mm_slli_epi16(_mm_and_si128(c1, _mm_set1_epi8(0x0F)), 4);  // nibbles do not cross bytes
  _mm_storeu_si128(reinterpret_cast<__m128i *>(qs), _mm_or_si128(low, high));
}

inline void pack_high_bits_avx512(__m128i c0, __m128i c1, uint8_t *qh) {
  const __m128i bit4 = _mm_set1_epi8(0x10);
  const uint32_t bits = static_cast<uint32_t>(_mm_test_epi8_mask(c0, bit4)) |
                        (static_cast<uint32_t>(_mm_test_epi8_mask(c1, bit4)) << 16);
  std::memcpy(qh, &bits, 4);
}

void store_q4_0_fast(const float *x, float scale, BlockQ4_0 &b) {
  b.d = f32_to_f16(scale);
  __m128i c0, c1;
  symmetric_codes_avx512(x, f16_to_f32(b.d), -8, 7, c0, c1);
  pack_nibbles_avx512(c0, c1, b.qs);
}

void store_q5_0_fast(const float *x, float scale, BlockQ5_0 &b) {
  b.d = f32_to_f16(scale);
  __m128i c0, c1;
  symmetric_codes_avx512(x, f16_to_f32(b.d), -16, 15, c0, c1);
  pack_nibbles_avx512(c0, c1, b.qs);
  pack_high_bits_avx512(c0, c1, b.qh);
}

void store_q8_0_fast(const float *x, float scale, BlockQ8_0 &b) {
  b.d = f32_to_f16(scale);
  const __m512 id = _mm512_set1_ps(inverse_or_zero(f16_to_f32(b.d)));
  const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
  const __m128i q0 = _mm512_cvtepi32_epi8(nearest_level_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), id), lo, hi));
  const __m128i q1 = _mm512_cvtepi32_epi8(nearest_level_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16), id), lo, hi));
  _mm_storeu_si128(reinterpret_cast<__m128i *>(b.qs), q0);
  _mm_storeu_si128(reinterpret_cast<__m128i *>(b.qs + 16), q1);
}

void store_q4_1_fast(const float *x, AffineFit fit, BlockQ4_1 &b) {
  b.d = f32_to_f16(fit.scale);
  b.m = f32_to_f16(fit.min);
  __m128i c0, c1;
  affine_codes_avx512(x, f16_to_f32(b.d), f16_to_f32(b.m), 15, c0, c1);
  pack_nibbles_avx512(c0, c1, b.qs);
}

void store_q5_1_fast(const float *x, AffineFit fit, BlockQ5_1 &b) {
  b.d = f32_to_f16(fit.scale);
  b.m = f32_to_f16(fit.min);
  __m128i c0, c1;
  affine_codes_avx512(x, f16_to_f32(b.d), f16_to_f32(b.m), 31, c0, c1);
  pack_nibbles_avx512(c0, c1, b.qs);
  pack_high_bits_avx512(c0, c1, b.qh);
}
#else
// Without AVX-512 the fast path is the reference.
void store_q4_0_fast(const float *x, float scale, BlockQ4_0 &b) { store_q4_0_ref(x, scale, b); }
void store_q5_0_fast(const float *x, float scale, BlockQ5_0 &b) { store_q5_0_ref(x, scale, b); }
void store_q8_0_fast(const float *x, float scale, BlockQ8_0 &b) { store_q8_0_ref(x, scale, b); }
void store_q4_1_fast(const float *x, AffineFit fit, BlockQ4_1 &b) { store_q4_1_ref(x, fit, b); }
void store_q5_1_fast(const float *x, AffineFit fit, BlockQ5_1 &b) { store_q5_1_ref(x, fit, b); }
#endif

// ---- Row drivers -------------------------------------------------------------------------------

// The searches without and with importance.
struct SymmetricType {
  SymmetricSearch plain;
  SymmetricSearch weighted;
};

template <class Block>
void quantize_symmetric_rows(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance,
                             const SymmetricType &type, bool fast, void (*store)(const float *, float, Block &)) {
  const int64_t n_blocks = n_per_row / kBlock;
  const SymmetricSearch &search = importance ? type.weighted : type.plain;
  const std::vector<float> weights = importance ? floored_importance(importance, n_per_row, kImportanceFloor) : std::vector<float>();
  auto *blocks = static_cast<Block *>(dst);
  float scales[kChunkBlocks];
  for (int64_t row = 0; row < n_rows; ++row) {
    for (int64_t b0 = 0; b0 < n_blocks; b0 += kChunkBlocks) {
      const int64_t count = std::min(kChunkBlocks, n_blocks - b0);
      const float *x = src + row * n_per_row + b0 * kBlock;
      const float *w = importance ? weights.data() + b0 * kBlock : nullptr;
      if (fast) {
        best_symmetric_scales(x, w, kBlock, count, search, scales);
      } else {
        best_symmetric_scales_ref(x, w, kBlock, count, search, scales);
      }
      for (int64_t b = 0; b < count; ++b) store(x + b * kBlock, scales[b], blocks[row * n_blocks + b0 + b]);
    }
  }
}

struct AffineType {
  AffineSearch plain;
  AffineSearch weighted;
};

template <class Block>
void quantize_affine_rows(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance,
                          const AffineType &type, bool fast, void (*store)(const float *, AffineFit, Block &)) {
  const int64_t n_blocks = n_per_row / kBlock;
  const AffineSearch &search = importance ? type.weighted : type.plain;
  const std::vector<float> weights = importance ? floored_importance(importance, n_per_row, kImportanceFloor) : std::vector<float>();
  auto *blocks = static_cast<Block *>(dst);
  AffineFit fits[kChunkBlocks];
  for (int64_t row = 0; row < n_rows; ++row) {
    for (int64_t b0 = 0; b0 < n_blocks; b0 += kChunkBlocks) {
      const int64_t count = std::min(kChunkBlocks, n_blocks - b0);
      const float *x = src + row * n_per_row + b0 * kBlock;
      const float *w = importance ? weights.data() + b0 * kBlock : nullptr;
      if (fast) {
        best_affine_fits(x, w, kBlock, count, search, fits);
      } else {
        best_affine_fits_ref(x, w, kBlock, count, search, fits);
      }
      for (int64_t b = 0; b < count; ++b) store(x + b * kBlock, fits[b], blocks[row * n_blocks + b0 + b]);
    }
  }
}

const SymmetricType kQ4_0{{-8, 7, kQ4_0Plain, 0}, {-8, 7, kQ4_0Weighted, 3}};
const SymmetricType kQ5_0{{-16, 15, kQ5_0Plain, 0}, {-16, 15, kQ5_0Weighted, 2}};
const SymmetricType kQ8_0{{-127, 127, kQ8_0Plain, 0}, {-127, 127, kQ8_0Weighted, 2}};
// Q4_1/Q5_1 store the min as a signed f16, so it may be positive (unlike the k-quants').
const AffineType kQ4_1{{15, kQ4_1Plain, kQ4_1Shifts, 0, false}, {15, kQ4_1Weighted, kZeroPointShifts, 3, false}};
const AffineType kQ5_1{{31, kQ5_1Plain, kQ5_1Shifts, 1, false}, {31, kQ5_1Weighted, kZeroPointShifts, 3, false}};

}  // namespace

void quantize_q4_0(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_symmetric_rows<BlockQ4_0>(src, dst, n_rows, n_per_row, importance, kQ4_0, true, store_q4_0_fast);
}
void quantize_q4_0_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_symmetric_rows<BlockQ4_0>(src, dst, n_rows, n_per_row, importance, kQ4_0, false, store_q4_0_ref);
}
void quantize_q5_0(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_symmetric_rows<BlockQ5_0>(src, dst, n_rows, n_per_row, importance, kQ5_0, true, store_q5_0_fast);
}
void quantize_q5_0_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_symmetric_rows<BlockQ5_0>(src, dst, n_rows, n_per_row, importance, kQ5_0, false, store_q5_0_ref);
}
void quantize_q8_0(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_symmetric_rows<BlockQ8_0>(src, dst, n_rows, n_per_row, importance, kQ8_0, true, store_q8_0_fast);
}
void quantize_q8_0_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_symmetric_rows<BlockQ8_0>(src, dst, n_rows, n_per_row, importance, kQ8_0, false, store_q8_0_ref);
}
void quantize_q4_1(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_affine_rows<BlockQ4_1>(src, dst, n_rows, n_per_row, importance, kQ4_1, true, store_q4_1_fast);
}
void quantize_q4_1_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_affine_rows<BlockQ4_1>(src, dst, n_rows, n_per_row, importance, kQ4_1, false, store_q4_1_ref);
}
void quantize_q5_1(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_affine_rows<BlockQ5_1>(src, dst, n_rows, n_per_row, importance, kQ5_1, true, store_q5_1_fast);
}
void quantize_q5_1_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_affine_rows<BlockQ5_1>(src, dst, n_rows, n_per_row, importance, kQ5_1, false, store_q5_1_ref);
}

}  // namespace qs
