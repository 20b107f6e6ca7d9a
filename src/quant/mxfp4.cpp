// MXFP4: quantization tries the shared exponent ggml picks (the block's largest magnitude just
// above 0.75× the top value 6) and its neighbours, keeping the one with the least (importance-)
// weighted error; every value takes its nearest E2M1 code. Dequantization is bit for bit ggml's
// dequantize_row_mxfp4. References are plain per block; the fast paths run 16 blocks in AVX-512
// lanes (exponent choice) and 16 values per instruction (codes, dequantization).
#include "quant/mxfp4.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <span>
#include <vector>

#include "quant/importance.h"
#include "quant/lanes.h"
#include "quant/levels.h"

namespace qs {
namespace {

constexpr int kBlock = 32;
constexpr int64_t kChunkBlocks = 256;

// Exponent offsets tried around ggml's e = floor(log2(max|x|)) - 2 + 127, in order (the first of
// equal errors wins, so ggml's own choice is kept on ties).
constexpr int kOffsetsPlain[] = {0, 1, -1};
constexpr int kOffsetsWeighted[] = {0, 1, -1, 2, -2};

// Floor of the importance weights (see importance.h).
constexpr float kImportanceFloor = 0.7f;

// Exponents 0 and 1 have subnormal scales whose reciprocal overflows, 255 is NaN in the format.
constexpr int kMinExponent = 2, kMaxExponent = 254;

// 1/e8m0_to_f32_half(e) = 2^(128 - e), exact for kMinExponent <= e <= kMaxExponent.
inline float inverse_half_scale(int e) { return std::bit_cast<float>(static_cast<uint32_t>(255 - e) << 23); }

// Code of the E2M1 value nearest to x·inv (doubled magnitudes 0,1,2,3,4,6,8,12; midpoints go to
// the smaller one); a zero magnitude keeps code 0 whatever the sign, as ggml's search does.
inline int code_of(float x, float inv) {
  const float a = std::fabs(x) * inv;
  const int magnitude = (a > 0.5f) + (a > 1.5f) + (a > 2.5f) + (a > 3.5f) + (a > 5.0f) + (a > 7.0f) + (a > 10.0f);
  return magnitude | (x < 0.0f && magnitude != 0 ? 8 : 0);
}

// Candidate exponent: ggml's plus an offset, clamped to the usable range.
inline int candidate_exponent(float amax, int offset) {
  const int e = std::ilogb(amax) + 125 + offset;
  return std::clamp(e, kMinExponent, kMaxExponent);
}

// The reference choice of a block's exponent: 0 for an all-zero block.
int best_exponent_ref(const float *x, const float *w, std::span<const int> offsets) {
  float amax = 0.0f;
  for (int j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(x[j]));
  if (!(amax > 0.0f) || !std::isfinite(amax)) return 0;  // all zero (or not a number at all)
  int best_e = 0;
  float best_err = 0.0f;
  for (size_t c = 0; c < offsets.size(); ++c) {
    const int e = candidate_exponent(amax, offsets[c]);
    const float d = e8m0_to_f32_half(static_cast<uint8_t>(e)), inv = inverse_half_scale(e);
    float err = 0.0f;
    for (int j = 0; j < kBlock; ++j) {
      const float diff = x[j] - static_cast<float>(kMxfp4Values[code_of(x[j], inv)]) * d;
      err += (w ? w[j] : 1.0f) * (diff * diff);
    }
    if (c == 0 || err < best_err) {
      best_err = err;
      best_e = e;
    }
  }
  return best_e;
}

void store_ref(const float *x, int e, BlockMXFP4 &b) {
  b.e = static_cast<uint8_t>(e);
  const float inv = e == 0 ? 0.0f : inverse_half_scale(e);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(code_of(x[j], inv) | (code_of(x[j + 16], inv) << 4));
}

#if defined(__AVX512F__)
const __m512 kMagnitudes = _mm512_setr_ps(0, 1, 2, 3, 4, 6, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0);

// code_of for 16 values: the magnitude counts the midpoints below |x|·inv.
inline __m512i magnitudes(__m512 v, __m512 inv) {
  const __m512 a = _mm512_mul_ps(_mm512_abs_ps(v), inv);
  const float midpoints[7] = {0.5f, 1.5f, 2.5f, 3.5f, 5.0f, 7.0f, 10.0f};
  __m512i m = _mm512_setzero_si512();
  for (const float mid : midpoints) {
    m = _mm512_mask_add_epi32(m, _mm512_cmp_ps_mask(a, _mm512_set1_ps(mid), _CMP_GT_OQ), m, _mm512_set1_epi32(1));
  }
  return m;
}

inline __mmask16 negative_nonzero(__m512 v, __m512i magnitude) {
  return _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ) & _mm512_test_epi32_mask(magnitude, magnitude);
}

// Exponents of 16 blocks transposed into lanes (xt, wt as transpose_blocks lays them out).
__m512i best_exponents_x16(const float *xt, const float *wt, std::span<const int> offsets) {
  __m512 amax = _mm512_setzero_ps();
  for (int j = 0; j < kBlock; ++j) amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_load_ps(xt + j * 16)));
  const __mmask16 nonzero = _mm512_cmp_ps_mask(amax, _mm512_setzero_ps(), _CMP_GT_OQ) &
                            _mm512_cmp_ps_mask(amax, _mm512_set1_ps(INFINITY), _CMP_LT_OQ);
  // getexp is floor(log2|x|) for normal and subnormal x alike, as ilogb.
  const __m512i e0 = _mm512_add_epi32(_mm512_cvttps_epi32(_mm512_maskz_getexp_ps(nonzero, amax)), _mm512_set1_epi32(125));
  __m512i best_e = _mm512_setzero_si512();
  __m512 best_err = _mm512_setzero_ps();
  for (size_t c = 0; c < offsets.size(); ++c) {
    const __m512i e = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(e0, _mm512_set1_epi32(offsets[c])),
                                                        _mm512_set1_epi32(kMinExponent)),
                                       _mm512_set1_epi32(kMaxExponent));
    const __m512 d = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_sub_epi32(e, _mm512_set1_epi32(1)), 23));
    const __m512 inv = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_sub_epi32(_mm512_set1_epi32(255), e), 23));
    __m512 err = _mm512_setzero_ps();
    for (int j = 0; j < kBlock; ++j) {
      const __m512 v = _mm512_load_ps(xt + j * 16);
      const __m512i m = magnitudes(v, inv);
      __m512 k = _mm512_permutexvar_ps(m, kMagnitudes);
      k = _mm512_mask_sub_ps(k, negative_nonzero(v, m), _mm512_setzero_ps(), k);
      const __m512 diff = _mm512_sub_ps(v, _mm512_mul_ps(k, d));
      const __m512 w = wt ? _mm512_load_ps(wt + j * 16) : _mm512_set1_ps(1.0f);
      err = _mm512_add_ps(err, _mm512_mul_ps(w, _mm512_mul_ps(diff, diff)));
    }
    const __mmask16 better = c == 0 ? __mmask16(0xffff) : _mm512_cmp_ps_mask(err, best_err, _CMP_LT_OQ);
    best_err = _mm512_mask_blend_ps(better, best_err, err);
    best_e = _mm512_mask_blend_epi32(better, best_e, e);
  }
  return _mm512_maskz_mov_epi32(nonzero, best_e);
}

void store_fast(const float *x, int e, BlockMXFP4 &b) {
  b.e = static_cast<uint8_t>(e);
  const __m512 inv = _mm512_set1_ps(e == 0 ? 0.0f : inverse_half_scale(e));
  __m512i codes[2];
  for (int half = 0; half < 2; ++half) {
    const __m512 v = _mm512_loadu_ps(x + 16 * half);
    const __m512i m = magnitudes(v, inv);
    codes[half] = _mm512_mask_or_epi32(m, negative_nonzero(v, m), m, _mm512_set1_epi32(8));
  }
  const __m512i packed = _mm512_or_si512(codes[0], _mm512_slli_epi32(codes[1], 4));
  _mm_storeu_si128(reinterpret_cast<__m128i *>(b.qs), _mm512_cvtepi32_epi8(packed));
}
#endif

void quantize_rows(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance, bool fast) {
  const int64_t n_blocks = n_per_row / kBlock;
  const std::span<const int> offsets = importance ? std::span<const int>(kOffsetsWeighted) : std::span<const int>(kOffsetsPlain);
  const std::vector<float> weights =
      importance ? floored_importance(importance, n_per_row, kImportanceFloor) : std::vector<float>();
  auto *blocks = static_cast<BlockMXFP4 *>(dst);
  for (int64_t row = 0; row < n_rows; ++row) {
    const float *x = src + row * n_per_row;
    const float *w = importance ? weights.data() : nullptr;
    BlockMXFP4 *out = blocks + row * n_blocks;
#if defined(__AVX512F__)
    if (fast) {
      alignas(64) float xt[kBlock * 16], wt[kBlock * 16];
      alignas(64) int32_t e[16];
      for (int64_t b0 = 0; b0 < n_blocks; b0 += 16) {
        const int rows = static_cast<int>(std::min<int64_t>(16, n_blocks - b0));
        transpose_blocks(x + b0 * kBlock, kBlock, rows, xt);
        if (w) transpose_blocks(w + b0 * kBlock, kBlock, rows, wt);
        _mm512_store_si512(e, best_exponents_x16(xt, w ? wt : nullptr, offsets));
        for (int b = 0; b < rows; ++b) store_fast(x + (b0 + b) * kBlock, e[b], out[b0 + b]);
      }
      continue;
    }
#endif
    for (int64_t b = 0; b < n_blocks; ++b) {
      store_ref(x + b * kBlock, best_exponent_ref(x + b * kBlock, w ? w + b * kBlock : nullptr, offsets), out[b]);
    }
  }
}

}  // namespace

void quantize_mxfp4(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows(src, dst, n_rows, n_per_row, importance, true);
}

void quantize_mxfp4_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows(src, dst, n_rows, n_per_row, importance, false);
}

void dequantize_mxfp4_ref(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockMXFP4 *>(src);
  for (int64_t i = 0; i < n / kBlock; ++i) {
    const float d = e8m0_to_f32_half(blocks[i].e);
    for (int j = 0; j < 16; ++j) {
      dst[i * kBlock + j] = static_cast<float>(kMxfp4Values[blocks[i].qs[j] & 0x0F]) * d;
      dst[i * kBlock + j + 16] = static_cast<float>(kMxfp4Values[blocks[i].qs[j] >> 4]) * d;
    }
  }
}

#if defined(__AVX512F__)
void dequantize_mxfp4(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockMXFP4 *>(src);
  const __m512 values = _mm512_setr_ps(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
  for (int64_t i = 0; i < n / kBlock; ++i) {
    const __m512 d = _mm512_set1_ps(e8m0_to_f32_half(blocks[i].e));
    const __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(blocks[i].qs)));
    const __m512i low = _mm512_and_si512(bytes, _mm512_set1_epi32(0x0F)), high = _mm512_srli_epi32(bytes, 4);
    _mm512_storeu_ps(dst + i * kBlock, _mm512_mul_ps(_mm512_permutexvar_ps(low, values), d));
    _mm512_storeu_ps(dst + i * kBlock + 16, _mm512_mul_ps(_mm512_permutexvar_ps(high, values), d));
  }
}
#else
void dequantize_mxfp4(const void *src, float *dst, int64_t n) { dequantize_mxfp4_ref(src, dst, n); }
#endif

}  // namespace qs
