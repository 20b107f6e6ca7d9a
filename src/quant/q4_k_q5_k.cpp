// Q4_K and Q5_K: 8 sub-blocks of 32 values at 4 or 5 bits, 6-bit sub-block scales and mins under
// f16 super scales (the two differ only in the fifth bit, kept in qh). Quantization fits each
// sub-block's scale and min, picks the integer scales and mins by exact error, then stores nearest
// levels; dequantization is bit for bit ggml's dequantize_row_q4_K / dequantize_row_q5_K. The block
// code is q4_k_q5_k_blocks.h's (shared with the GPU); here the row loops and the AVX-512 decoders.
#include "core/half.h"
#include "quant/codes.h"
#include "quant/kquants.h"
#include "quant/kquants_common.h"
#include "quant/q4_k_q5_k_blocks.h"

namespace qs {
namespace {

using q4_k_q5_k::kSubBlock;
using q4_k_q5_k::kSubBlocks;
using q4_k_q5_k::sub_block_scales;

constexpr AffineSearch kQ4SubSearchPlain = q4_k_q5_k::sub_search<4>(false);
constexpr AffineSearch kQ4SubSearchWeighted = q4_k_q5_k::sub_search<4>(true);
constexpr AffineSearch kQ5SubSearchPlain = q4_k_q5_k::sub_search<5>(false);
constexpr AffineSearch kQ5SubSearchWeighted = q4_k_q5_k::sub_search<5>(true);
constexpr AffineSuperSearch kQ4SuperSearchPlain = q4_k_q5_k::super_search<4>(false);
constexpr AffineSuperSearch kQ4SuperSearchWeighted = q4_k_q5_k::super_search<4>(true);
constexpr AffineSuperSearch kQ5SuperSearchPlain = q4_k_q5_k::super_search<5>(false);
constexpr AffineSuperSearch kQ5SuperSearchWeighted = q4_k_q5_k::super_search<5>(true);

void store_q4_K(const float *x, const float *w, const AffineFit *fits, bool fast, BlockQ4_K &b) {
  q4_k_q5_k::encode_block(x, fits, BlockErrors(x, w, kSubBlock, kSubBlocks, fast), NearestCodes{fast},
                          w ? kQ4SuperSearchWeighted : kQ4SuperSearchPlain, b);
}

void store_q5_K(const float *x, const float *w, const AffineFit *fits, bool fast, BlockQ5_K &b) {
  q4_k_q5_k::encode_block(x, fits, BlockErrors(x, w, kSubBlock, kSubBlocks, fast), NearestCodes{fast},
                          w ? kQ5SuperSearchWeighted : kQ5SuperSearchPlain, b);
}

template <class Block>
void quantize_rows(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance, bool fast,
                   const AffineSearch &plain, const AffineSearch &weighted,
                   void (*store)(const float *, const float *, const AffineFit *, bool, Block &)) {
  auto *blocks = static_cast<Block *>(dst);
  const int64_t n_super = n_per_row / kSuperBlock;
  for_each_affine_super_block(src, n_rows, n_per_row, importance, kSubBlock, importance ? weighted : plain, fast,
                              [&](int64_t row, int64_t sb, const float *x, const float *w, const AffineFit *fits) {
                                store(x, w, fits, fast, blocks[row * n_super + sb]);
                              });
}

}  // namespace

void quantize_q4_K(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<BlockQ4_K>(src, dst, n_rows, n_per_row, importance, true, kQ4SubSearchPlain, kQ4SubSearchWeighted, store_q4_K);
}

void quantize_q4_K_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<BlockQ4_K>(src, dst, n_rows, n_per_row, importance, false, kQ4SubSearchPlain, kQ4SubSearchWeighted, store_q4_K);
}

void quantize_q5_K(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<BlockQ5_K>(src, dst, n_rows, n_per_row, importance, true, kQ5SubSearchPlain, kQ5SubSearchWeighted, store_q5_K);
}

void quantize_q5_K_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<BlockQ5_K>(src, dst, n_rows, n_per_row, importance, false, kQ5SubSearchPlain, kQ5SubSearchWeighted, store_q5_K);
}

void dequantize_q4_K_ref(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ4_K *>(src);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) q4_k_q5_k::decode_block(blocks[i], dst + i * kSuperBlock);
}

void dequantize_q5_K_ref(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ5_K *>(src);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) q4_k_q5_k::decode_block(blocks[i], dst + i * kSuperBlock);
}

#if defined(__AVX512F__)
namespace {

// 32 values (one sub-block) from 32 code bytes already widened: y = dl·q - ml.
inline void store_affine(float *y, __m512i q0, __m512i q1, float dl, float ml) {
  const __m512 vd = _mm512_set1_ps(dl), vm = _mm512_set1_ps(ml);
  _mm512_storeu_ps(y, _mm512_sub_ps(_mm512_mul_ps(vd, _mm512_cvtepi32_ps(q0)), vm));
  _mm512_storeu_ps(y + 16, _mm512_sub_ps(_mm512_mul_ps(vd, _mm512_cvtepi32_ps(q1)), vm));
}

inline __m512i load_bytes(const uint8_t *p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p))); }

}  // namespace

void dequantize_q4_K(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ4_K *>(src);
  const __m512i nibble = _mm512_set1_epi32(0xF);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    const BlockQ4_K &b = blocks[i];
    float dl[8], ml[8];
    sub_block_scales(b.d, b.dmin, b.scales, dl, ml);
    float *y = dst + i * kSuperBlock;
    for (int c = 0; c < 4; ++c) {
      const __m512i q0 = load_bytes(b.qs + 32 * c), q1 = load_bytes(b.qs + 32 * c + 16);
      store_affine(y + 64 * c, _mm512_and_si512(q0, nibble), _mm512_and_si512(q1, nibble), dl[2 * c], ml[2 * c]);
      store_affine(y + 64 * c + 32, _mm512_srli_epi32(q0, 4), _mm512_srli_epi32(q1, 4), dl[2 * c + 1], ml[2 * c + 1]);
    }
  }
}

void dequantize_q5_K(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ5_K *>(src);
  const __m512i nibble = _mm512_set1_epi32(0xF), sixteen = _mm512_set1_epi32(16);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    const BlockQ5_K &b = blocks[i];
    float dl[8], ml[8];
    sub_block_scales(b.d, b.dmin, b.scales, dl, ml);
    const __m512i qh0 = load_bytes(b.qh), qh1 = load_bytes(b.qh + 16);
    float *y = dst + i * kSuperBlock;
    for (int c = 0; c < 4; ++c) {
      const __m512i q0 = load_bytes(b.qs + 32 * c), q1 = load_bytes(b.qs + 32 * c + 16);
      const __m512i low_bit = _mm512_set1_epi32(1 << (2 * c)), high_bit = _mm512_set1_epi32(1 << (2 * c + 1));
      auto with_fifth = [&](__m512i v, __m512i qh, __m512i bit) {
        return _mm512_mask_or_epi32(v, _mm512_test_epi32_mask(qh, bit), v, sixteen);
      };
      store_affine(y + 64 * c, with_fifth(_mm512_and_si512(q0, nibble), qh0, low_bit),
                   with_fifth(_mm512_and_si512(q1, nibble), qh1, low_bit), dl[2 * c], ml[2 * c]);
      store_affine(y + 64 * c + 32, with_fifth(_mm512_srli_epi32(q0, 4), qh0, high_bit),
                   with_fifth(_mm512_srli_epi32(q1, 4), qh1, high_bit), dl[2 * c + 1], ml[2 * c + 1]);
    }
  }
}
#else
void dequantize_q4_K(const void *src, float *dst, int64_t n) { dequantize_q4_K_ref(src, dst, n); }
void dequantize_q5_K(const void *src, float *dst, int64_t n) { dequantize_q5_K_ref(src, dst, n); }
#endif

}  // namespace qs
