// Q2_K: 16 sub-blocks of 16 values at 2 bits, 4-bit sub-block scales and mins under f16 super
// scales. Quantization fits each sub-block's scale and min, picks the integer scales and mins by
// exact error, then stores nearest levels; dequantization is bit for bit ggml's dequantize_row_q2_K.
// The block code is q2_k_blocks.h's (shared with the GPU); here the row loops and the AVX-512 decoder.
#include "core/half.h"
#include "quant/codes.h"
#include "quant/kquants.h"
#include "quant/kquants_common.h"
#include "quant/q2_k_blocks.h"

namespace qs {
namespace {

constexpr AffineSearch kSubSearchPlain = q2_k::sub_search(false);
constexpr AffineSearch kSubSearchWeighted = q2_k::sub_search(true);
constexpr AffineSuperSearch kSuperSearchPlain = q2_k::super_search(false);
constexpr AffineSuperSearch kSuperSearchWeighted = q2_k::super_search(true);

void store_q2_K(const float *x, const float *w, const AffineFit *fits, bool fast, BlockQ2_K &b) {
  q2_k::encode_block(x, fits, BlockErrors(x, w, q2_k::kSubBlock, q2_k::kSubBlocks, fast), NearestCodes{fast},
                     w ? kSuperSearchWeighted : kSuperSearchPlain, b);
}

void quantize_q2_K_rows(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance,
                        bool fast) {
  auto *blocks = static_cast<BlockQ2_K *>(dst);
  const int64_t n_super = n_per_row / kSuperBlock;
  for_each_affine_super_block(src, n_rows, n_per_row, importance, q2_k::kSubBlock,
                              importance ? kSubSearchWeighted : kSubSearchPlain, fast,
                              [&](int64_t row, int64_t sb, const float *x, const float *w, const AffineFit *fits) {
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
  for (int64_t i = 0; i < n / kSuperBlock; ++i) q2_k::decode_block(blocks[i], dst + i * kSuperBlock);
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
