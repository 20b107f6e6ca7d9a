// Q3_K: 16 sub-blocks of 16 values at 3 bits (-4..3), 6-bit signed sub-block scales under an f16
// super scale. Quantization searches each sub-block's scale, picks the integer scales by exact
// error, then stores nearest levels; dequantization is bit for bit ggml's dequantize_row_q3_K.
#include <array>
#include <cstring>

#include "core/half.h"
#include "quant/codes.h"
#include "quant/kquants.h"
#include "quant/kquants_common.h"
#include "quant/levels.h"

namespace qs {
namespace {

// Sub-block levels -4..3: ggml maps the largest magnitude to -4 (then re-rounds with x²-weighted
// passes, or tries 19 targets within ±0.9 with an imatrix).
constexpr auto kSubTargetsPlain = even_targets<8>(-5.0f, -3.25f);
constexpr std::array<float, 30> kSubTargetsWeighted = {-6.0f, -5.75f, -5.5f, -5.25f, -5.0f, -4.875f, -4.75f, -4.625f, -4.5f, -4.375f, -4.25f, -4.125f, -4.0f, -3.875f, -3.75f, -3.625f, -3.5f, -3.25f, -3.0f, 2.5f, 2.75f, 3.0f, 3.125f, 3.25f, 3.375f, 3.5f, 3.75f, 4.0f, 4.5f, 5.0f};
const SymmetricSearch kSubSearchPlain{-4, 3, kSubTargetsPlain, 1};
const SymmetricSearch kSubSearchWeighted{-4, 3, kSubTargetsWeighted, 2};

// The largest sub-block scale maps to integer -32 (ggml) or a little short of it.
constexpr auto kSuperTargets = even_targets<4>(-32.0f, -29.0f);
const SymmetricSuperSearch kSuperSearchPlain{-32, 31, -4.0f, 3.0f, kSuperTargets, 2};
const SymmetricSuperSearch kSuperSearchWeighted{-32, 31, -4.0f, 3.0f, kSuperTargets, 6};

void store_q3_K(const float *x, const float *w, const float *sub_scales, bool fast, BlockQ3_K &b) {
  const BlockErrors errors(x, w, 16, 16, fast);
  const SymmetricSuperScales chosen =
      choose_symmetric_super_scales(sub_scales, errors, w ? kSuperSearchWeighted : kSuperSearchPlain);
  b.d = chosen.d;
  const float d = f16_to_f32(chosen.d);
  int8_t scales[16];
  uint8_t low[kSuperBlock];
  std::memset(b.hmask, 0, sizeof(b.hmask));
  uint8_t codes[kSuperBlock];  // q + 4, 0..7
  for (int s = 0; s < 16; ++s) {
    scales[s] = static_cast<int8_t>(chosen.scale[s]);
    nearest_codes(x + 16 * s, 16, d * static_cast<float>(chosen.scale[s]), 0.0f, -4.0f, 3.0f, codes + 16 * s, fast);
  }
  for (int i = 0; i < kSuperBlock; ++i) {
    b.hmask[i % 32] |= static_cast<uint8_t>((codes[i] >> 2) << (i / 32));
    low[i] = codes[i] & 3;
  }
  pack_scales_q3_K(scales, b.scales);
  pack_2bit_codes(low, b.qs);
}

void quantize_q3_K_rows(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance,
                        bool fast) {
  auto *blocks = static_cast<BlockQ3_K *>(dst);
  const int64_t n_super = n_per_row / kSuperBlock;
  for_each_symmetric_super_block(src, n_rows, n_per_row, importance, 16, importance ? kSubSearchWeighted : kSubSearchPlain,
                                 fast, [&](int64_t row, int64_t sb, const float *x, const float *w, const float *scales) {
                                   store_q3_K(x, w, scales, fast, blocks[row * n_super + sb]);
                                 });
}

}  // namespace

void quantize_q3_K(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_q3_K_rows(src, dst, n_rows, n_per_row, importance, true);
}

void quantize_q3_K_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_q3_K_rows(src, dst, n_rows, n_per_row, importance, false);
}

void dequantize_q3_K_ref(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ3_K *>(src);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    const BlockQ3_K &b = blocks[i];
    const float d = f16_to_f32(b.d);
    float *y = dst + i * kSuperBlock;
    // Value 128h + 32k + l: low bits (qs[32h + l] >> 2k) & 3, high bit 4h + k of hmask[l]; its
    // sub-block is 8h + 2k + l/16.
    for (int h = 0; h < 2; ++h) {
      for (int k = 0; k < 4; ++k) {
        for (int half = 0; half < 2; ++half) {
          const float dl = d * static_cast<float>(unpack_scale_q3_K(8 * h + 2 * k + half, b.scales));
          for (int l = 16 * half; l < 16 * half + 16; ++l) {
            const int low = (b.qs[32 * h + l] >> (2 * k)) & 3;
            const int high_bit = (b.hmask[l] >> (4 * h + k)) & 1;
            y[128 * h + 32 * k + l] = dl * static_cast<float>(low - (high_bit ? 0 : 4));
          }
        }
      }
    }
  }
}

#if defined(__AVX512F__)
void dequantize_q3_K(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ3_K *>(src);
  const __m512i two_bits = _mm512_set1_epi32(3), four = _mm512_set1_epi32(4);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    const BlockQ3_K &b = blocks[i];
    const float d = _cvtsh_ss(b.d);
    float *y = dst + i * kSuperBlock;
    __m512i hmask[2];
    for (int half = 0; half < 2; ++half) {
      hmask[half] = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b.hmask + 16 * half)));
    }
    for (int h = 0; h < 2; ++h) {
      for (int half = 0; half < 2; ++half) {
        const __m512i qs = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(b.qs + 32 * h + 16 * half)));
        for (int k = 0; k < 4; ++k) {
          const int v0 = 128 * h + 32 * k + 16 * half;
          const __m512i low = _mm512_and_si512(_mm512_srli_epi32(qs, 2 * k), two_bits);
          const __mmask16 high = _mm512_test_epi32_mask(hmask[half], _mm512_set1_epi32(1 << (v0 / 32)));
          const __m512i q = _mm512_mask_sub_epi32(low, static_cast<__mmask16>(~high), low, four);
          const float dl = d * static_cast<float>(unpack_scale_q3_K(v0 / 16, b.scales));
          _mm512_storeu_ps(y + v0, _mm512_mul_ps(_mm512_set1_ps(dl), _mm512_cvtepi32_ps(q)));
        }
      }
    }
  }
}
#else
void dequantize_q3_K(const void *src, float *dst, int64_t n) { dequantize_q3_K_ref(src, dst, n); }
#endif

}  // namespace qs
