// Q2_K: 16 sub-blocks of 16 values at 2 bits, 4-bit sub-block scales and mins under f16 super
// scales. Quantization fits each sub-block's scale and min, picks the integer scales and mins by
// exact error, then stores nearest levels; dequantization is bit for bit ggml's dequantize_row_q2_K.
#include "core/half.h"
#include "quant/codes.h"
#include "quant/kquants.h"
#include "quant/kquants_common.h"
#include "quant/levels.h"

namespace qs {
namespace {

// Sub-block levels 0..3 over the range: ggml tries 16 targets from 2.5 (L1 error, |x| weights) or 37
// from 2.1 with an imatrix; we refit every candidate by least squares and also shift the zero point.
constexpr auto kSubTargetsPlain = even_targets<8>(2.25f, 4.0f);
constexpr auto kSubTargetsWeighted = even_targets<12>(2.0f, 4.2f);
constexpr auto kShiftsPlain = even_targets<3>(-0.3f, 0.3f);
constexpr auto kShiftsWeighted = even_targets<5>(-0.4f, 0.4f);
const AffineSearch kSubSearchPlain{3, kSubTargetsPlain, kShiftsPlain, 2, true};
const AffineSearch kSubSearchWeighted{3, kSubTargetsWeighted, kShiftsWeighted, 3, true};

// The largest sub-block scale and min map to 15 (ggml) or a little short of it.
constexpr auto kScaleTargets = even_targets<4>(15.0f, 13.5f);
constexpr auto kMinTargets = even_targets<3>(15.0f, 14.0f);
const AffineSuperSearch kSuperSearchPlain{15, 3.0f, kScaleTargets, kMinTargets, 2, 2};
const AffineSuperSearch kSuperSearchWeighted{15, 3.0f, kScaleTargets, kMinTargets, 4, 4};

void store_q2_K(const float *x, const float *w, const AffineFit *fits, bool fast, BlockQ2_K &b) {
  const BlockErrors errors(x, w, 16, 16, fast);
  const AffineSuperScales chosen =
      choose_affine_super_scales(fits, 16, errors, w ? kSuperSearchWeighted : kSuperSearchPlain);
  b.d = chosen.d;
  b.dmin = chosen.dmin;
  const float d = f16_to_f32(chosen.d), dmin = f16_to_f32(chosen.dmin);
  uint8_t codes[kSuperBlock];
  for (int s = 0; s < 16; ++s) {
    b.scales[s] = static_cast<uint8_t>(chosen.scale[s] | (chosen.min[s] << 4));
    const float m = dmin * static_cast<float>(chosen.min[s]);
    nearest_codes(x + 16 * s, 16, d * static_cast<float>(chosen.scale[s]), -m, 0.0f, 3.0f, codes + 16 * s, fast);
  }
  pack_2bit_codes(codes, b.qs);
}

void quantize_q2_K_rows(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance,
                        bool fast) {
  auto *blocks = static_cast<BlockQ2_K *>(dst);
  const int64_t n_super = n_per_row / kSuperBlock;
  for_each_affine_super_block(src, n_rows, n_per_row, importance, 16, importance ? kSubSearchWeighted : kSubSearchPlain,
                              fast, [&](int64_t row, int64_t sb, const float *x, const float *w, const AffineFit *fits) {
                                store_q2_K(x, w, fits, fast, blocks[row * n_super + sb]);
                              });
}

}  // namespace

void quantize_q2_K(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_q2_K_rows(src, dst, n_rows, n_per_row, importance, true);
}

void quantize_q2_K_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_q2_K_rows(src, dst, n_rows, n_per_row, importance, false);
}

void dequantize_q2_K_ref(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ2_K *>(src);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    const BlockQ2_K &b = blocks[i];
    const float d = f16_to_f32(b.d), dmin = f16_to_f32(b.dmin);
    float *y = dst + i * kSuperBlock;
    // Value 128h + 32k + l: q = (qs[32h + l] >> 2k) & 3, in sub-block 8h + 2k + l/16.
    for (int h = 0; h < 2; ++h) {
      for (int k = 0; k < 4; ++k) {
        for (int half = 0; half < 2; ++half) {
          const uint8_t sc = b.scales[8 * h + 2 * k + half];
          const float dl = d * static_cast<float>(sc & 0xF), ml = dmin * static_cast<float>(sc >> 4);
          for (int l = 16 * half; l < 16 * half + 16; ++l) {
            y[128 * h + 32 * k + l] = dl * static_cast<float>((b.qs[32 * h + l] >> (2 * k)) & 3) - ml;
          }
        }
      }
    }
  }
}

#if defined(__AVX512F__)
void dequantize_q2_K(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ2_K *>(src);
  const __m512i two_bits = _mm512_set1_epi32(3);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    const BlockQ2_K &b = blocks[i];
    const float d = _cvtsh_ss(b.d), dmin = _cvtsh_ss(b.dmin);
    float *y = dst + i * kSuperBlock;
    for (int h = 0; h < 2; ++h) {
      for (int half = 0; half < 2; ++half) {
        const __m512i qs = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b.qs + 32 * h + 16 * half)));
        for (int k = 0; k < 4; ++k) {
          const int v0 = 128 * h + 32 * k + 16 * half;
          const uint8_t sc = b.scales[v0 / 16];
          const __m512 dl = _mm512_set1_ps(d * static_cast<float>(sc & 0xF));
          const __m512 ml = _mm512_set1_ps(dmin * static_cast<float>(sc >> 4));
          const __m512 q = _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(qs, 2 * k), two_bits));
          _mm512_storeu_ps(y + v0, _mm512_sub_ps(_mm512_mul_ps(dl, q), ml));
        }
      }
    }
  }
}
#else
void dequantize_q2_K(const void *src, float *dst, int64_t n) { dequantize_q2_K_ref(src, dst, n); }
#endif

}  // namespace qs
