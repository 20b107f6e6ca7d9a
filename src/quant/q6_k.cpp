// Q6_K: 16 sub-blocks of 16 values at 6 bits, int8 sub-block scales under an f16 super scale.
// Quantization searches each sub-block's scale, picks the integer scales by exact error, then
// stores nearest levels; dequantization is bit for bit ggml's dequantize_row_q6_K.
#include <cmath>

#include "core/half.h"
#include "quant/codes.h"
#include "quant/kquants.h"
#include "quant/kquants_common.h"
#include "quant/levels.h"

namespace qs {
namespace {

// Sub-block levels -32..31: ggml maps the largest magnitude to -32 (19 targets within ±0.9 with an
// imatrix); we refit each candidate and look a little wider.
constexpr auto kSubTargetsPlain = even_targets<6>(-33.0f, -30.5f);
constexpr auto kSubTargetsWeighted = even_targets<24>(-36.0f, -29.0f);
const SymmetricSearch kSubSearchPlain{-32, 31, kSubTargetsPlain, 0};
const SymmetricSearch kSubSearchWeighted{-32, 31, kSubTargetsWeighted, 2};

// The largest sub-block scale maps to integer -128 (ggml) or a few steps short of it.
constexpr auto kSuperTargets = even_targets<4>(-128.0f, -125.0f);
const SymmetricSuperSearch kSuperSearchPlain{-128, 127, -32.0f, 31.0f, kSuperTargets, 2};
const SymmetricSuperSearch kSuperSearchWeighted{-128, 127, -32.0f, 31.0f, kSuperTargets, 4};

void pack_q6_K(const uint8_t codes[kSuperBlock], BlockQ6_K &b) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t *c = codes + 128 * h;
    for (int l = 0; l < 32; ++l) {
      b.ql[64 * h + l] = static_cast<uint8_t>((c[l] & 0xF) | ((c[l + 64] & 0xF) << 4));
      b.ql[64 * h + 32 + l] = static_cast<uint8_t>((c[l + 32] & 0xF) | ((c[l + 96] & 0xF) << 4));
      b.qh[32 * h + l] = static_cast<uint8_t>((c[l] >> 4) | ((c[l + 32] >> 4) << 2) | ((c[l + 64] >> 4) << 4) |
                                              ((c[l + 96] >> 4) << 6));
    }
  }
}

void store_q6_K(const float *x, const float *w, const float *sub_scales, bool fast, BlockQ6_K &b) {
  const BlockErrors errors(x, w, 16, 16, fast);
  const SymmetricSuperScales chosen =
      choose_symmetric_super_scales(sub_scales, errors, w ? kSuperSearchWeighted : kSuperSearchPlain);
  b.d = chosen.d;
  const float d = f16_to_f32(chosen.d);
  uint8_t codes[kSuperBlock];
  for (int s = 0; s < 16; ++s) {
    b.scales[s] = static_cast<int8_t>(chosen.scale[s]);
    nearest_codes(x + 16 * s, 16, d * static_cast<float>(chosen.scale[s]), 0.0f, -32.0f, 31.0f, codes + 16 * s, fast);
  }
  pack_q6_K(codes, b);
}

void quantize_q6_K_rows(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance,
                        bool fast) {
  auto *blocks = static_cast<BlockQ6_K *>(dst);
  const int64_t n_super = n_per_row / kSuperBlock;
  for_each_symmetric_super_block(src, n_rows, n_per_row, importance, 16, importance ? kSubSearchWeighted : kSubSearchPlain,
                                 fast, [&](int64_t row, int64_t sb, const float *x, const float *w, const float *scales) {
                                   store_q6_K(x, w, scales, fast, blocks[row * n_super + sb]);
                                 });
}

}  // namespace

void quantize_q6_K(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_q6_K_rows(src, dst, n_rows, n_per_row, importance, true);
}

void quantize_q6_K_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_q6_K_rows(src, dst, n_rows, n_per_row, importance, false);
}

void dequantize_q6_K_ref(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ6_K *>(src);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    const BlockQ6_K &b = blocks[i];
    const float d = f16_to_f32(b.d);
    float *y = dst + i * kSuperBlock;
    for (int h = 0; h < 2; ++h) {
      const uint8_t *ql = b.ql + 64 * h;
      const uint8_t *qh = b.qh + 32 * h;
      const int8_t *sc = b.scales + 8 * h;
      for (int l = 0; l < 32; ++l) {
        const int s = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[128 * h + l] = d * static_cast<float>(sc[s]) * static_cast<float>(q1);
        y[128 * h + l + 32] = d * static_cast<float>(sc[s + 2]) * static_cast<float>(q2);
        y[128 * h + l + 64] = d * static_cast<float>(sc[s + 4]) * static_cast<float>(q3);
        y[128 * h + l + 96] = d * static_cast<float>(sc[s + 6]) * static_cast<float>(q4);
      }
    }
  }
}

#if defined(__AVX512F__)
void dequantize_q6_K(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ6_K *>(src);
  const __m512i nibble = _mm512_set1_epi32(0xF), two_bits = _mm512_set1_epi32(3), bias = _mm512_set1_epi32(32);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    const BlockQ6_K &b = blocks[i];
    const float d = _cvtsh_ss(b.d);
    float *y = dst + i * kSuperBlock;
    for (int h = 0; h < 2; ++h) {
      for (int half = 0; half < 2; ++half) {  // l = 16·half .. 16·half + 15
        const int l0 = 16 * half;
        const __m512i low_a = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b.ql + 64 * h + l0)));
        const __m512i low_b = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b.ql + 64 * h + 32 + l0)));
        const __m512i high = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b.qh + 32 * h + l0)));
        for (int k = 0; k < 4; ++k) {
          const __m512i low = k & 1 ? low_b : low_a;
          const __m512i nib = k >= 2 ? _mm512_srli_epi32(low, 4) : _mm512_and_si512(low, nibble);
          const __m512i top = _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(high, 2 * k), two_bits), 4);
          const __m512i q = _mm512_sub_epi32(_mm512_or_si512(nib, top), bias);
          const float ds = d * static_cast<float>(b.scales[8 * h + 2 * k + half]);
          _mm512_storeu_ps(y + 128 * h + 32 * k + l0, _mm512_mul_ps(_mm512_set1_ps(ds), _mm512_cvtepi32_ps(q)));
        }
      }
    }
  }
}
#else
void dequantize_q6_K(const void *src, float *dst, int64_t n) { dequantize_q6_K_ref(src, dst, n); }
#endif

}  // namespace qs
