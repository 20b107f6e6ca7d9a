// IQ3_XXS and IQ3_S: 256 values per block; each group of 4 magnitudes is a point of a lattice grid
// (quant/iq3_grids.h), signs are stored per value, and each sub-block of 32 has a 4-bit scale
// under one f16 block scale. Block layouts, packing and the reference decoders are iq3_blocks.h's
// (shared with the GPU); here the row drivers and the vector decoders.
#include <cstring>

#include "quant/iq3_blocks.h"
#include "quant/iq3_grids.h"
#include "quant/iq3_search.h"
#include "quant/iquants.h"

#if defined(__AVX2__)
// GCC 12 warns about the deliberately undefined pass-through operand inside its AVX-512 headers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace qs {
namespace {

using iq3::kSuperBlock;

// ---------------------------------------------------------------------------------------------
// Dequantization: iq3_blocks.h's decoders, a sub-block at a time by the reference or the vector
// code below (the same bits: scale * magnitude, the sign bit flipped where set).

#if defined(__AVX512F__) && defined(__AVX512BW__)
void decode_sub_block_avx512(const uint32_t *entries, uint32_t sign_bits, float scale, float *y) {
  const __m256i bytes = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(entries));
  const __m512 d = _mm512_set1_ps(scale);
  const __m512i sign_bit = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  for (int half = 0; half < 2; ++half) {
    const __m128i part = half ? _mm256_extracti128_si256(bytes, 1) : _mm256_castsi256_si128(bytes);
    const __m512i v = _mm512_castps_si512(_mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(part))));
    const __m512i signed_v = _mm512_mask_xor_epi32(v, static_cast<__mmask16>(sign_bits >> (16 * half)), v, sign_bit);
    _mm512_storeu_ps(y + 16 * half, _mm512_castsi512_ps(signed_v));
  }
}
struct FastDecoder {
  static void decode(const uint32_t *entries, uint32_t sign_bits, float scale, float *y) {
    decode_sub_block_avx512(entries, sign_bits, scale, y);
  }
};
#elif defined(__AVX2__)
// 8 values at a time; each value's sign bit is found by testing its own bit of the sign byte.
void decode_sub_block_avx2(const uint32_t *entries, uint32_t sign_bits, float scale, float *y) {
  const __m256 d = _mm256_set1_ps(scale);
  const __m256i bit_of_value = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const __m256i sign_bit = _mm256_set1_epi32(static_cast<int>(0x80000000u));
  for (int part = 0; part < 4; ++part) {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(entries + 2 * part));
    const __m256 v = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes)));
    const __m256i byte = _mm256_set1_epi32(static_cast<int>((sign_bits >> (8 * part)) & 0xff));
    const __m256i negative = _mm256_cmpeq_epi32(_mm256_and_si256(byte, bit_of_value), bit_of_value);
    const __m256i flipped = _mm256_xor_si256(_mm256_castps_si256(v), _mm256_and_si256(negative, sign_bit));
    _mm256_storeu_ps(y + 8 * part, _mm256_castsi256_ps(flipped));
  }
}
struct FastDecoder {
  static void decode(const uint32_t *entries, uint32_t sign_bits, float scale, float *y) {
    decode_sub_block_avx2(entries, sign_bits, scale, y);
  }
};
#else
using FastDecoder = iq3::DecodeSubBlockRef;  // no vector decoder on this CPU: the reference
#endif

template <class Decoder>
void dequantize_iq3_xxs_blocks(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockIq3Xxs *>(src);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    decode_iq3_xxs_block<Decoder>(blocks[i], kIq3xxsGrid.data(), dst + i * kSuperBlock);
  }
}

template <class Decoder>
void dequantize_iq3_s_blocks(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockIq3S *>(src);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    decode_iq3_s_block<Decoder>(blocks[i], kIq3sGrid.data(), dst + i * kSuperBlock);
  }
}

// ---------------------------------------------------------------------------------------------
// Quantization: the search (iq3_search.cpp), then each type's bit packing (iq3_blocks.h).

template <Iq3Kind kind, class Block, void (*pack)(const Iq3BlockCode &, Block &)>
void quantize_rows(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance,
                   bool fast) {
  const int64_t n_blocks = n_per_row / kSuperBlock;
  auto *out = static_cast<Block *>(dst);
  Iq3BlockCode code;
  Iq3Scratch scratch;
  for (int64_t row = 0; row < n_rows; ++row) {
    for (int64_t ib = 0; ib < n_blocks; ++ib) {
      Block &block = out[row * n_blocks + ib];
      std::memset(&block, 0, sizeof block);
      if (search_iq3_block(kind, src + row * n_per_row + ib * kSuperBlock,
                           importance ? importance + ib * kSuperBlock : nullptr, fast, scratch, code)) {
        pack(code, block);
      }
    }
  }
}

}  // namespace

void quantize_iq3_xxs(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<Iq3Kind::Xxs, BlockIq3Xxs, pack_iq3_xxs>(src, dst, n_rows, n_per_row, importance, true);
}
void quantize_iq3_xxs_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<Iq3Kind::Xxs, BlockIq3Xxs, pack_iq3_xxs>(src, dst, n_rows, n_per_row, importance, false);
}
void dequantize_iq3_xxs(const void *src, float *dst, int64_t n) { dequantize_iq3_xxs_blocks<FastDecoder>(src, dst, n); }
void dequantize_iq3_xxs_ref(const void *src, float *dst, int64_t n) { dequantize_iq3_xxs_blocks<iq3::DecodeSubBlockRef>(src, dst, n); }

void quantize_iq3_s(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<Iq3Kind::S, BlockIq3S, pack_iq3_s>(src, dst, n_rows, n_per_row, importance, true);
}
void quantize_iq3_s_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<Iq3Kind::S, BlockIq3S, pack_iq3_s>(src, dst, n_rows, n_per_row, importance, false);
}
void dequantize_iq3_s(const void *src, float *dst, int64_t n) { dequantize_iq3_s_blocks<FastDecoder>(src, dst, n); }
void dequantize_iq3_s_ref(const void *src, float *dst, int64_t n) { dequantize_iq3_s_blocks<iq3::DecodeSubBlockRef>(src, dst, n); }

}  // namespace qs
