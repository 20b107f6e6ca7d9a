// IQ4_NL and IQ4_XS: 4-bit indices into the 16 non-linear levels kValuesIq4nl. IQ4_NL has one f16
// scale per 32 values; IQ4_XS has one f16 scale per 256 values and a 6-bit signed scale per 32.
// Block layouts are ggml-common.h's (block_iq4_nl, block_iq4_xs).
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/iq4_values.h"
#include "quant/iquants.h"

#if defined(__AVX2__)
// GCC 12 warns about the deliberately undefined pass-through operand inside its AVX-512 headers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace qs {
namespace {

struct BlockIq4Nl {
  uint16_t d;       // f16 scale
  uint8_t qs[16];   // value j in the low nibble of qs[j], value j + 16 in the high nibble
};
static_assert(sizeof(BlockIq4Nl) == 18);

struct BlockIq4Xs {
  uint16_t d;            // f16 super-block scale
  uint16_t scales_h;     // bits 2i..2i+1: high 2 bits of sub-block i's 6-bit scale
  uint8_t scales_l[4];   // low 4 bits of sub-block scales, sub-block 2k in the low nibble of [k]
  uint8_t qs[128];       // 16 bytes per sub-block of 32, nibbles as in IQ4_NL
};
static_assert(sizeof(BlockIq4Xs) == 136);

constexpr int kBlock = 32;
constexpr int kSuperBlock = 256;
constexpr int kSubBlocks = kSuperBlock / kBlock;
// Scale candidates tried on each side of the one that maps the largest value to an end level.
constexpr int kScaleTries = 7;
// Lloyd steps (levels for the scale, then the scale for the levels) after the candidate search.
constexpr int kRefineSteps = 3;
// Blocks whose largest magnitude is below this are stored as zeros.
constexpr float kGroupMaxEps = 1e-15f;

// Round to nearest, ties to even, for |x| < 2^22 (adding 1.5 * 2^23 leaves the integer in the
// low mantissa bits).
inline int nearest_int(float x) {
  const float shifted = x + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

// Index of the level nearest to x; an exact tie goes to the upper level. NaN maps to 15.
inline int nearest_level(float x) {
  if (x <= kValuesIq4nl[0]) return 0;
  if (x >= kValuesIq4nl[15]) return 15;
  int lo = 0, hi = 15;  // kValuesIq4nl[lo] <= x < kValuesIq4nl[hi]
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (x < kValuesIq4nl[mid]) hi = mid;
    else lo = mid;
  }
  return x - kValuesIq4nl[lo] < kValuesIq4nl[hi] - x ? lo : hi;
}

// The scalar level picker: levels[j] = nearest_level(inverse_scale * x[j]) for one block of 32.
void pick_levels_ref(const float *x, float inverse_scale, uint8_t *levels) {
  for (int j = 0; j < kBlock; ++j) levels[j] = static_cast<uint8_t>(nearest_level(inverse_scale * x[j]));
}

#if defined(__AVX512F__) && defined(__AVX512BW__)
// The same picker, 16 values at a time: the level index is found by counting the levels not above
// x (an exact comparison), then the same subtraction test as nearest_level breaks the tie.
void pick_levels_avx512(const float *x, float inverse_scale, uint8_t *levels) {
  const __m512 table = _mm512_setr_ps(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);
  const __m512 inv = _mm512_set1_ps(inverse_scale);
  for (int half = 0; half < 2; ++half) {
    const __m512 v = _mm512_mul_ps(inv, _mm512_loadu_ps(x + 16 * half));
    // upper = 1 + #{k in 1..14 : !(v < level[k])}; with NaN every test counts, giving 15.
    __m512i upper = _mm512_set1_epi32(1);
    for (int k = 1; k < 15; ++k) {
      const __mmask16 not_below = _mm512_cmp_ps_mask(v, _mm512_set1_ps(kValuesIq4nl[k]), _CMP_NLT_UQ);
      upper = _mm512_mask_add_epi32(upper, not_below, upper, _mm512_set1_epi32(1));
    }
    const __m512i lower = _mm512_sub_epi32(upper, _mm512_set1_epi32(1));
    const __m512 below_gap = _mm512_sub_ps(v, _mm512_permutexvar_ps(lower, table));
    const __m512 above_gap = _mm512_sub_ps(_mm512_permutexvar_ps(upper, table), v);
    __m512i index = _mm512_mask_mov_epi32(upper, _mm512_cmp_ps_mask(below_gap, above_gap, _CMP_LT_OQ), lower);
    index = _mm512_mask_mov_epi32(index, _mm512_cmp_ps_mask(v, _mm512_set1_ps(-127.0f), _CMP_LE_OQ),
                                  _mm512_setzero_si512());
    index = _mm512_mask_mov_epi32(index, _mm512_cmp_ps_mask(v, _mm512_set1_ps(113.0f), _CMP_GE_OQ),
                                  _mm512_set1_epi32(15));
    _mm_storeu_si128(reinterpret_cast<__m128i *>(levels + 16 * half), _mm512_cvtepi32_epi8(index));
  }
}
#endif

#if defined(__AVX2__) && !(defined(__AVX512F__) && defined(__AVX512BW__))
// The AVX-512 picker's method, 8 values at a time; two 8-entry permutes look up the 16 levels.
inline __m256 lookup_levels_avx2(__m256i index) {
  const __m256 low = _mm256_setr_ps(-127, -104, -83, -65, -49, -35, -22, -10);
  const __m256 high = _mm256_setr_ps(1, 13, 25, 38, 53, 69, 89, 113);
  const __m256 in_high = _mm256_castsi256_ps(_mm256_cmpgt_epi32(index, _mm256_set1_epi32(7)));
  return _mm256_blendv_ps(_mm256_permutevar8x32_ps(low, index), _mm256_permutevar8x32_ps(high, index), in_high);
}

void pick_levels_avx2(const float *x, float inverse_scale, uint8_t *levels) {
  const __m256 inv = _mm256_set1_ps(inverse_scale);
  alignas(32) int32_t index_out[8];
  for (int part = 0; part < 4; ++part) {
    const __m256 v = _mm256_mul_ps(inv, _mm256_loadu_ps(x + 8 * part));
    // upper = 1 + #{k in 1..14 : !(v < level[k])}: a true comparison is -1, so subtract it.
    __m256i upper = _mm256_set1_epi32(1);
    for (int k = 1; k < 15; ++k) {
      const __m256 not_below = _mm256_cmp_ps(v, _mm256_set1_ps(kValuesIq4nl[k]), _CMP_NLT_UQ);
      upper = _mm256_sub_epi32(upper, _mm256_castps_si256(not_below));
    }
    const __m256i lower = _mm256_sub_epi32(upper, _mm256_set1_epi32(1));
    const __m256 below_gap = _mm256_sub_ps(v, lookup_levels_avx2(lower));
    const __m256 above_gap = _mm256_sub_ps(lookup_levels_avx2(upper), v);
    __m256i index = _mm256_castps_si256(_mm256_blendv_ps(
        _mm256_castsi256_ps(upper), _mm256_castsi256_ps(lower), _mm256_cmp_ps(below_gap, above_gap, _CMP_LT_OQ)));
    index = _mm256_andnot_si256(_mm256_castps_si256(_mm256_cmp_ps(v, _mm256_set1_ps(-127.0f), _CMP_LE_OQ)), index);
    index = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(index),
                                                 _mm256_castsi256_ps(_mm256_set1_epi32(15)),
                                                 _mm256_cmp_ps(v, _mm256_set1_ps(113.0f), _CMP_GE_OQ)));
    _mm256_store_si256(reinterpret_cast<__m256i *>(index_out), index);
    for (int j = 0; j < 8; ++j) levels[8 * part + j] = static_cast<uint8_t>(index_out[j]);
  }
}
#endif

using PickLevelsFn = void (*)(const float *x, float inverse_scale, uint8_t *levels);

// Sums of the weighted least-squares fit of the scale for fixed levels: d = sum_qx / sum_q2.
struct ScaleFit {
  float sum_qx = 0;
  float sum_q2 = 0;
};

inline ScaleFit fit_levels(const float *x, const float *weight, const uint8_t *levels) {
  ScaleFit fit;
  for (int j = 0; j < kBlock; ++j) {
    const float q = kValuesIq4nl[levels[j]];
    const float w = weight[j];
    fit.sum_qx += w * q * x[j];
    fit.sum_q2 += w * q * q;
  }
  return fit;
}

// Per-value weights of the error. With an imatrix: the column weight times sqrt(sigma2 + x^2), as
// ggml does. Without one ggml uses x^2, which lets the few largest values dictate the scale; we use
// sigma2 + x^2, which still favours large values but keeps the bulk in view: lower plain RMSE on
// Gaussian, Student-t and outlier-column data, and lower x^2-weighted error on the first two.
void value_weights(const float *x, const float *importance, float sigma2, float *weight) {
  if (importance) {
    for (int j = 0; j < kBlock; ++j) weight[j] = importance[j] * std::sqrt(sigma2 + x[j] * x[j]);
  } else {
    for (int j = 0; j < kBlock; ++j) weight[j] = sigma2 + x[j] * x[j];
  }
}

// 2 * mean square of n values: the spread term of the importance weights.
float spread(const float *x, int n) {
  float sum = 0;
  for (int j = 0; j < n; ++j) sum += x[j] * x[j];
  return sum * (2.0f / static_cast<float>(n));
}

// The best scale for one block of 32 under the weighted squared error. Candidates: the inverse
// scales that map the largest magnitude to each end level (-127, +113) give or take up to
// kScaleTries, each with nearest levels and a least-squares refit of the scale (ggml tries only the
// -127 end); then Lloyd steps from the winner. Returns 0 for an all-zero block.
template <PickLevelsFn pick>
float search_block_scale(const float *x, const float *weight) {
  float amax = 0, max = 0;  // largest magnitude and its signed value (first one wins)
  for (int j = 0; j < kBlock; ++j) {
    const float ax = std::fabs(x[j]);
    if (ax > amax) {
      amax = ax;
      max = x[j];
    }
  }
  if (amax < kGroupMaxEps) return 0.0f;
  uint8_t levels[kBlock];
  const float low_end = kValuesIq4nl[0], high_end = kValuesIq4nl[15];
  float d = -max / low_end;
  pick(x, 1.0f / d, levels);
  ScaleFit fit = fit_levels(x, weight, levels);
  d = fit.sum_q2 > 0 ? fit.sum_qx / fit.sum_q2 : 0.0f;
  // With the fitted scale the error is sum w x^2 - sum_qx^2 / sum_q2, so the candidate with the
  // largest sum_qx^2 / sum_q2 wins; `best` holds that ratio and is compared without dividing.
  float best = d * fit.sum_qx;
  const auto consider = [&] {
    fit = fit_levels(x, weight, levels);
    if (!(fit.sum_q2 > 0 && fit.sum_qx * fit.sum_qx > best * fit.sum_q2)) return false;
    d = fit.sum_qx / fit.sum_q2;
    best = d * fit.sum_qx;
    return true;
  };
  for (const float end_level : {low_end, high_end}) {
    for (int itry = -kScaleTries; itry <= kScaleTries; ++itry) {
      pick(x, (static_cast<float>(itry) + end_level) / max, levels);
      consider();
    }
  }
  // Lloyd steps: nearest levels for the fitted scale, then refit; the error can only fall.
  for (int step = 0; step < kRefineSteps && d != 0.0f; ++step) {
    pick(x, 1.0f / d, levels);
    if (!consider()) break;
  }
  return d;
}

// Weighted squared error of one block decoded with `scale` and `levels`.
inline float block_error(const float *x, const float *weight, const uint8_t *levels, float scale) {
  float err = 0;
  for (int j = 0; j < kBlock; ++j) {
    const float diff = x[j] - scale * kValuesIq4nl[levels[j]];
    err += weight[j] * diff * diff;
  }
  return err;
}

inline void pack_nibbles(const uint8_t *levels, uint8_t *qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(levels[j] | (levels[j + 16] << 4));
}

template <PickLevelsFn pick>
void quantize_iq4_nl_rows(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  const int64_t n_blocks = n_per_row / kBlock;
  auto *out = static_cast<BlockIq4Nl *>(dst);
  float weight[kBlock];
  uint8_t levels[kBlock];
  for (int64_t row = 0; row < n_rows; ++row) {
    for (int64_t ib = 0; ib < n_blocks; ++ib) {
      const float *x = src + row * n_per_row + ib * kBlock;
      value_weights(x, importance ? importance + ib * kBlock : nullptr, spread(x, kBlock), weight);
      const float d = search_block_scale<pick>(x, weight);
      BlockIq4Nl &block = out[row * n_blocks + ib];
      // Levels are picked for the scale as stored (f16), not the unrounded one.
      block.d = f32_to_f16(d);
      const float stored = f16_to_f32(block.d);
      pick(x, stored != 0.0f ? 1.0f / stored : 0.0f, levels);
      pack_nibbles(levels, block.qs);
    }
  }
}

// Encodes the eight sub-blocks of a super-block for the stored super-block scale d: each gets the
// nearest 6-bit scale to its searched scale or a neighbour of it, whichever decodes with the smaller
// weighted error, and the nearest levels for that scale. Returns the total weighted error.
template <PickLevelsFn pick>
float encode_sub_blocks(const float *xs, const float (*weight)[kBlock], const float *scales, float d,
                        int *sub_scales, uint8_t (*sub_levels)[kBlock]) {
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  uint8_t levels[kBlock];
  float total = 0;
  for (int ib = 0; ib < kSubBlocks; ++ib) {
    const float *x = xs + ib * kBlock;
    int nearest = nearest_int(id * scales[ib]);
    nearest = nearest < -32 ? -32 : nearest > 31 ? 31 : nearest;
    float best_err = 0;
    for (const int l : {nearest, nearest - 1, nearest + 1}) {
      if (l < -32 || l > 31) continue;
      const float dl = d * static_cast<float>(l);
      pick(x, dl != 0.0f ? 1.0f / dl : 0.0f, levels);
      const float err = block_error(x, weight[ib], levels, dl);
      if (l == nearest || err < best_err) {
        best_err = err;
        sub_scales[ib] = l;
        std::memcpy(sub_levels[ib], levels, kBlock);
      }
    }
    total += best_err;
  }
  return total;
}

template <PickLevelsFn pick>
void quantize_iq4_xs_rows(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  const int64_t n_super = n_per_row / kSuperBlock;
  auto *out = static_cast<BlockIq4Xs *>(dst);
  float weight[kSubBlocks][kBlock];
  float scales[kSubBlocks];
  int sub_scales[kSubBlocks], best_sub_scales[kSubBlocks];
  uint8_t sub_levels[kSubBlocks][kBlock], best_sub_levels[kSubBlocks][kBlock];
  for (int64_t row = 0; row < n_rows; ++row) {
    for (int64_t ibl = 0; ibl < n_super; ++ibl) {
      const float *xs = src + row * n_per_row + ibl * kSuperBlock;
      const float *qw = importance ? importance + ibl * kSuperBlock : nullptr;
      const float sigma2 = spread(xs, kSuperBlock);
      float max_scale = 0, amax_scale = 0;
      for (int ib = 0; ib < kSubBlocks; ++ib) {
        value_weights(xs + ib * kBlock, qw ? qw + ib * kBlock : nullptr, sigma2, weight[ib]);
        scales[ib] = search_block_scale<pick>(xs + ib * kBlock, weight[ib]);
        if (std::fabs(scales[ib]) > amax_scale) {
          amax_scale = std::fabs(scales[ib]);
          max_scale = scales[ib];
        }
      }
      // Two super-block scales: the largest sub-block scale mapped to -32 (ggml's choice) or to +31;
      // the one that decodes with the smaller error wins (ties: the first).
      const float candidates[] = {-max_scale / 32, max_scale / 31};
      uint16_t best_d = 0;
      float best_err = 0;
      for (int c = 0; c < 2; ++c) {
        const uint16_t d16 = f32_to_f16(candidates[c]);
        const float err = encode_sub_blocks<pick>(xs, weight, scales, f16_to_f32(d16), sub_scales, sub_levels);
        if (c == 0 || err < best_err) {
          best_err = err;
          best_d = d16;
          std::memcpy(best_sub_scales, sub_scales, sizeof sub_scales);
          std::memcpy(best_sub_levels, sub_levels, sizeof sub_levels);
        }
      }
      BlockIq4Xs &block = out[row * n_super + ibl];
      std::memset(&block, 0, sizeof block);
      block.d = best_d;
      for (int ib = 0; ib < kSubBlocks; ++ib) {
        pack_nibbles(best_sub_levels[ib], block.qs + 16 * ib);
        const unsigned stored = static_cast<unsigned>(best_sub_scales[ib] + 32);
        block.scales_l[ib / 2] |= static_cast<uint8_t>((stored & 0xf) << (4 * (ib % 2)));
        block.scales_h |= static_cast<uint16_t>((stored >> 4) << (2 * ib));
      }
    }
  }
}

#if defined(__AVX512F__) && defined(__AVX512BW__)
constexpr PickLevelsFn kFastPick = pick_levels_avx512;
#elif defined(__AVX2__)
constexpr PickLevelsFn kFastPick = pick_levels_avx2;
#else
constexpr PickLevelsFn kFastPick = pick_levels_ref;  // no vector picker on this CPU: the reference
#endif

// Sub-block dequantization shared by both types: 32 values = scale * level.
inline void dequantize_32_ref(const uint8_t *qs, float scale, float *y) {
  for (int j = 0; j < 16; ++j) {
    y[j] = scale * kValuesIq4nl[qs[j] & 0xf];
    y[j + 16] = scale * kValuesIq4nl[qs[j] >> 4];
  }
}

#if defined(__AVX512F__) && defined(__AVX512BW__)
// Byte shuffle looks up the 16 levels, then one multiply per value as in the reference.
inline void dequantize_32_avx512(const uint8_t *qs, float scale, float *y) {
  const __m128i table = _mm_loadu_si128(reinterpret_cast<const __m128i *>(kValuesIq4nl.data()));
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i *>(qs));
  const __m128i low = _mm_and_si128(bytes, _mm_set1_epi8(0x0f));
  const __m128i high = _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(0x0f));
  const __m512 d = _mm512_set1_ps(scale);
  const __m512 lo_values = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_shuffle_epi8(table, low)));
  const __m512 hi_values = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_shuffle_epi8(table, high)));
  _mm512_storeu_ps(y, _mm512_mul_ps(d, lo_values));
  _mm512_storeu_ps(y + 16, _mm512_mul_ps(d, hi_values));
}
constexpr auto kFastDequantize32 = dequantize_32_avx512;
#elif defined(__AVX2__)
inline void dequantize_32_avx2(const uint8_t *qs, float scale, float *y) {
  const __m128i table = _mm_loadu_si128(reinterpret_cast<const __m128i *>(kValuesIq4nl.data()));
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i *>(qs));
  const __m128i low = _mm_shuffle_epi8(table, _mm_and_si128(bytes, _mm_set1_epi8(0x0f)));
  const __m128i high = _mm_shuffle_epi8(table, _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(0x0f)));
  const __m256 d = _mm256_set1_ps(scale);
  const __m128i parts[4] = {low, _mm_srli_si128(low, 8), high, _mm_srli_si128(high, 8)};
  for (int p = 0; p < 4; ++p) {
    _mm256_storeu_ps(y + 8 * p, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[p]))));
  }
}
constexpr auto kFastDequantize32 = dequantize_32_avx2;
#else
constexpr auto kFastDequantize32 = dequantize_32_ref;
#endif

inline int iq4_xs_sub_scale(const BlockIq4Xs &block, int ib) {
  const int low = (block.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xf;
  const int high = (block.scales_h >> (2 * ib)) & 3;
  return (low | (high << 4)) - 32;
}

template <void (*dequantize_32)(const uint8_t *, float, float *)>
void dequantize_iq4_nl_blocks(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockIq4Nl *>(src);
  for (int64_t i = 0; i < n / kBlock; ++i) dequantize_32(blocks[i].qs, f16_to_f32(blocks[i].d), dst + i * kBlock);
}

template <void (*dequantize_32)(const uint8_t *, float, float *)>
void dequantize_iq4_xs_blocks(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockIq4Xs *>(src);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    const BlockIq4Xs &block = blocks[i];
    const float d = f16_to_f32(block.d);
    for (int ib = 0; ib < kSubBlocks; ++ib) {
      dequantize_32(block.qs + 16 * ib, d * static_cast<float>(iq4_xs_sub_scale(block, ib)),
                    dst + i * kSuperBlock + ib * kBlock);
    }
  }
}

}  // namespace

void quantize_iq4_nl(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_iq4_nl_rows<kFastPick>(src, dst, n_rows, n_per_row, importance);
}
void quantize_iq4_nl_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_iq4_nl_rows<pick_levels_ref>(src, dst, n_rows, n_per_row, importance);
}
void dequantize_iq4_nl(const void *src, float *dst, int64_t n) { dequantize_iq4_nl_blocks<kFastDequantize32>(src, dst, n); }
void dequantize_iq4_nl_ref(const void *src, float *dst, int64_t n) { dequantize_iq4_nl_blocks<dequantize_32_ref>(src, dst, n); }

void quantize_iq4_xs(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_iq4_xs_rows<kFastPick>(src, dst, n_rows, n_per_row, importance);
}
void quantize_iq4_xs_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_iq4_xs_rows<pick_levels_ref>(src, dst, n_rows, n_per_row, importance);
}
void dequantize_iq4_xs(const void *src, float *dst, int64_t n) { dequantize_iq4_xs_blocks<kFastDequantize32>(src, dst, n); }
void dequantize_iq4_xs_ref(const void *src, float *dst, int64_t n) { dequantize_iq4_xs_blocks<dequantize_32_ref>(src, dst, n); }

}  // namespace qs
