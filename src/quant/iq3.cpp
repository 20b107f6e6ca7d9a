// IQ3_XXS and IQ3_S: 256 values per block; each group of 4 magnitudes is a point of a lattice grid
// (quant/iq3_grids.h), signs are stored per value, and each sub-block of 32 has a 4-bit scale
// under one f16 block scale. Block layouts are ggml-common.h's (block_iq3_xxs, block_iq3_s).
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/iq3_grids.h"
#include "quant/iq3_search.h"
#include "quant/iquant_signs.h"
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

struct BlockIq3Xxs {
  uint16_t d;  // f16 block scale
  // qs[8 * ib + k]: grid index of group k (values 4k..4k+3) of sub-block ib. Then 8 little-endian
  // words, one per sub-block: bits 7g..7g+6 hold the 7 sign bits of values 8g..8g+6 (value 8g+7's
  // sign makes the count of minus signs even, kSignsIq2xs), bits 28..31 the 4-bit scale.
  uint8_t qs[96];
};
static_assert(sizeof(BlockIq3Xxs) == 98);

struct BlockIq3S {
  uint16_t d;          // f16 block scale
  uint8_t qs[64];      // low 8 bits of the grid index of group k of sub-block ib at [8 * ib + k]
  uint8_t qh[8];       // bit k of qh[ib]: bit 8 of that grid index
  uint8_t signs[32];   // bit i of signs[4 * ib + g]: value 8g + i of sub-block ib is negative
  uint8_t scales[4];   // 4-bit sub-block scales, sub-block 2j in the low nibble of [j]
};
static_assert(sizeof(BlockIq3S) == 110);

constexpr int kSuperBlock = 256;
constexpr int kSubBlock = 32;
constexpr int kSubBlocks = kSuperBlock / kSubBlock;

inline uint8_t grid_magnitude(uint32_t entry, int k) { return static_cast<uint8_t>((entry >> (8 * k)) & 0xff); }

// ---------------------------------------------------------------------------------------------
// Dequantization

// One sub-block of 32 values from its 8 grid entries (value i is byte i % 4 of entries[i / 4]),
// its sign bits (bit i set: value i negative) and its scale: scale * magnitude, negated where the
// sign bit is set. Negation flips the sign bit even of a NaN (from a NaN f16 scale), which is what
// ggml's x86 build returns for its `* (s ? -1.f : 1.f)`.
void decode_sub_block_ref(const uint32_t *entries, uint32_t sign_bits, float scale, float *y) {
  for (int i = 0; i < kSubBlock; ++i) {
    const float v = scale * grid_magnitude(entries[i / 4], i % 4);
    y[i] = (sign_bits >> i) & 1u ? -v : v;
  }
}

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
constexpr auto kFastDecode = decode_sub_block_avx512;
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
constexpr auto kFastDecode = decode_sub_block_avx2;
#else
constexpr auto kFastDecode = decode_sub_block_ref;  // no vector decoder on this CPU: the reference
#endif

using DecodeFn = void (*)(const uint32_t *, uint32_t, float, float *);

template <DecodeFn decode>
void dequantize_iq3_xxs_blocks(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockIq3Xxs *>(src);
  uint32_t entries[8];
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    const BlockIq3Xxs &block = blocks[i];
    const float d = f16_to_f32(block.d);
    for (int ib = 0; ib < kSubBlocks; ++ib) {
      uint32_t word;
      std::memcpy(&word, block.qs + 64 + 4 * ib, sizeof word);
      const float db = d * (0.5f + static_cast<float>(word >> 28)) * 0.5f;
      uint32_t sign_bits = 0;
      for (int g = 0; g < 4; ++g) sign_bits |= static_cast<uint32_t>(kSignsIq2xs[(word >> (7 * g)) & 127]) << (8 * g);
      for (int k = 0; k < 8; ++k) entries[k] = kIq3xxsGrid[block.qs[8 * ib + k]];
      decode(entries, sign_bits, db, dst + i * kSuperBlock + ib * kSubBlock);
    }
  }
}

template <DecodeFn decode>
void dequantize_iq3_s_blocks(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockIq3S *>(src);
  uint32_t entries[8];
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    const BlockIq3S &block = blocks[i];
    const float d = f16_to_f32(block.d);
    for (int ib = 0; ib < kSubBlocks; ++ib) {
      const int scale = (block.scales[ib / 2] >> (4 * (ib % 2))) & 0xf;
      const float db = d * static_cast<float>(1 + 2 * scale);
      uint32_t sign_bits;
      std::memcpy(&sign_bits, block.signs + 4 * ib, sizeof sign_bits);
      for (int k = 0; k < 8; ++k) entries[k] = kIq3sGrid[block.qs[8 * ib + k] | (((block.qh[ib] >> k) & 1u) << 8)];
      decode(entries, sign_bits, db, dst + i * kSuperBlock + ib * kSubBlock);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Quantization: the search (iq3_search.cpp), then each type's bit packing.

void pack_iq3_xxs(const Iq3BlockCode &code, BlockIq3Xxs &block) {
  block.d = code.d;
  for (int ib = 0; ib < kSubBlocks; ++ib) {
    for (int k = 0; k < 8; ++k) block.qs[8 * ib + k] = static_cast<uint8_t>(code.grid_index[ib][k]);
    const uint32_t word = code.signs[ib][0] | (code.signs[ib][1] << 7) | (code.signs[ib][2] << 14) |
                          (code.signs[ib][3] << 21) | (static_cast<uint32_t>(code.sub_scale[ib]) << 28);
    std::memcpy(block.qs + 64 + 4 * ib, &word, sizeof word);
  }
}

void pack_iq3_s(const Iq3BlockCode &code, BlockIq3S &block) {
  block.d = code.d;
  for (int ib = 0; ib < kSubBlocks; ++ib) {
    for (int k = 0; k < 8; ++k) {
      block.qs[8 * ib + k] = static_cast<uint8_t>(code.grid_index[ib][k] & 0xff);
      block.qh[ib] |= static_cast<uint8_t>((code.grid_index[ib][k] >> 8) << k);
    }
    for (int g = 0; g < 4; ++g) block.signs[4 * ib + g] = code.signs[ib][g];
    block.scales[ib / 2] |= static_cast<uint8_t>(code.sub_scale[ib] << (4 * (ib % 2)));
  }
}

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
void dequantize_iq3_xxs(const void *src, float *dst, int64_t n) { dequantize_iq3_xxs_blocks<kFastDecode>(src, dst, n); }
void dequantize_iq3_xxs_ref(const void *src, float *dst, int64_t n) { dequantize_iq3_xxs_blocks<decode_sub_block_ref>(src, dst, n); }

void quantize_iq3_s(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<Iq3Kind::S, BlockIq3S, pack_iq3_s>(src, dst, n_rows, n_per_row, importance, true);
}
void quantize_iq3_s_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<Iq3Kind::S, BlockIq3S, pack_iq3_s>(src, dst, n_rows, n_per_row, importance, false);
}
void dequantize_iq3_s(const void *src, float *dst, int64_t n) { dequantize_iq3_s_blocks<kFastDecode>(src, dst, n); }
void dequantize_iq3_s_ref(const void *src, float *dst, int64_t n) { dequantize_iq3_s_blocks<decode_sub_block_ref>(src, dst, n); }

}  // namespace qs
