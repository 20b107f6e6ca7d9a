// IQ4_NL and IQ4_XS: 4-bit indices into the 16 non-linear levels kValuesIq4nl. IQ4_NL has one f16
// scale per 32 values; IQ4_XS has one f16 scale per 256 values and a 6-bit signed scale per 32.
// The blocks and their scalar reference are iq4_blocks.h's (shared with the GPU's quantizer); here
// the vector level pickers and decoders, which give the reference's bits, and the row loops.
#include <cstring>

#include "quant/iq4_blocks.h"
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

using iq4::BlockNl;
using iq4::BlockXs;
using iq4::kBlock;
using iq4::kSubBlocks;
using iq4::kSuperBlock;
using iq4::PickLevelsRef;

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
struct PickLevelsAvx512 {
  static void pick(const float *x, float inverse_scale, uint8_t *levels) { pick_levels_avx512(x, inverse_scale, levels); }
};
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
struct PickLevelsAvx2 {
  static void pick(const float *x, float inverse_scale, uint8_t *levels) { pick_levels_avx2(x, inverse_scale, levels); }
};
#endif

template <class Picker>
void quantize_iq4_nl_rows(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  const int64_t n_blocks = n_per_row / kBlock;
  auto *out = static_cast<BlockNl *>(dst);
  for (int64_t row = 0; row < n_rows; ++row)
    for (int64_t ib = 0; ib < n_blocks; ++ib)
      iq4::encode_nl_block<Picker>(src + row * n_per_row + ib * kBlock, importance ? importance + ib * kBlock : nullptr,
                                   out[row * n_blocks + ib]);
}

template <class Picker>
void quantize_iq4_xs_rows(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  const int64_t n_super = n_per_row / kSuperBlock;
  auto *out = static_cast<BlockXs *>(dst);
  for (int64_t row = 0; row < n_rows; ++row)
    for (int64_t ibl = 0; ibl < n_super; ++ibl)
      iq4::encode_xs_block<Picker>(src + row * n_per_row + ibl * kSuperBlock,
                                   importance ? importance + ibl * kSuperBlock : nullptr, out[row * n_super + ibl]);
}

#if defined(__AVX512F__) && defined(__AVX512BW__)
using FastPick = PickLevelsAvx512;
#elif defined(__AVX2__)
using FastPick = PickLevelsAvx2;
#else
using FastPick = PickLevelsRef;  // no vector picker on this CPU: the reference
#endif

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
constexpr auto kFastDequantize32 = iq4::decode_32;
#endif

template <void (*dequantize_32)(const uint8_t *, float, float *)>
void dequantize_iq4_nl_blocks(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockNl *>(src);
  for (int64_t i = 0; i < n / kBlock; ++i) dequantize_32(blocks[i].qs, f16_to_f32(blocks[i].d), dst + i * kBlock);
}

template <void (*dequantize_32)(const uint8_t *, float, float *)>
void dequantize_iq4_xs_blocks(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockXs *>(src);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    const BlockXs &block = blocks[i];
    const float d = f16_to_f32(block.d);
    for (int ib = 0; ib < kSubBlocks; ++ib) {
      dequantize_32(block.qs + 16 * ib, d * static_cast<float>(iq4::xs_sub_scale(block, ib)),
                    dst + i * kSuperBlock + ib * kBlock);
    }
  }
}

}  // namespace

void quantize_iq4_nl(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_iq4_nl_rows<FastPick>(src, dst, n_rows, n_per_row, importance);
}
void quantize_iq4_nl_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_iq4_nl_rows<PickLevelsRef>(src, dst, n_rows, n_per_row, importance);
}
void dequantize_iq4_nl(const void *src, float *dst, int64_t n) { dequantize_iq4_nl_blocks<kFastDequantize32>(src, dst, n); }
void dequantize_iq4_nl_ref(const void *src, float *dst, int64_t n) { dequantize_iq4_nl_blocks<iq4::decode_32>(src, dst, n); }

void quantize_iq4_xs(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_iq4_xs_rows<FastPick>(src, dst, n_rows, n_per_row, importance);
}
void quantize_iq4_xs_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_iq4_xs_rows<PickLevelsRef>(src, dst, n_rows, n_per_row, importance);
}
void dequantize_iq4_xs(const void *src, float *dst, int64_t n) { dequantize_iq4_xs_blocks<kFastDequantize32>(src, dst, n); }
void dequantize_iq4_xs_ref(const void *src, float *dst, int64_t n) { dequantize_iq4_xs_blocks<iq4::decode_32>(src, dst, n); }

}  // namespace qs
