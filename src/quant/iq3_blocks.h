// IQ3_XXS and IQ3_S block by block: the on-disk blocks (ggml-common.h: block_iq3_xxs, block_iq3_s),
// the packing of the search's Iq3BlockCode into them and the scalar reference decoders. The same code
// runs on the CPU (iq3.cpp, whose vector sub-block decoders give the same bits) and in the GPU's
// quantizer kernels (gpu/quantize_kernels.cu), so everything here is QS_HOST_DEVICE and free of the
// standard library; a decoder reads its grid (iq3_grids.h, or the GPU's copy) through the pointer it
// is given.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/half.h"
#include "core/host_device.h"
#include "quant/iq3_search.h"
#include "quant/iquant_signs.h"

namespace qs {

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

namespace iq3 {

constexpr int kSuperBlock = 256;
constexpr int kSubBlock = 32;
constexpr int kSubBlocks = kSuperBlock / kSubBlock;

// One sub-block of 32 values from its 8 grid entries (value i is byte i % 4 of entries[i / 4]),
// its sign bits (bit i set: value i negative) and its scale: scale * magnitude, negated where the
// sign bit is set. Negation flips the sign bit even of a NaN (from a NaN f16 scale), which is what
// ggml's x86 build returns for its `* (s ? -1.f : 1.f)`.
struct DecodeSubBlockRef {
  QS_HOST_DEVICE static void decode(const uint32_t *entries, uint32_t sign_bits, float scale, float *y) {
    for (int i = 0; i < kSubBlock; ++i) {
      const float v = scale * static_cast<float>((entries[i / 4] >> (8 * (i % 4))) & 0xff);
      y[i] = (sign_bits >> i) & 1u ? -v : v;
    }
  }
};

}  // namespace iq3

// ---------------------------------------------------------------------------------------------
// Packing, into a block that is all zeros.

QS_HOST_DEVICE inline void pack_iq3_xxs(const Iq3BlockCode &code, BlockIq3Xxs &block) {
  block.d = code.d;
  for (int ib = 0; ib < iq3::kSubBlocks; ++ib) {
    for (int k = 0; k < 8; ++k) block.qs[8 * ib + k] = static_cast<uint8_t>(code.grid_index[ib][k]);
    const uint32_t word = code.signs[ib][0] | (code.signs[ib][1] << 7) | (code.signs[ib][2] << 14) |
                          (code.signs[ib][3] << 21) | (static_cast<uint32_t>(code.sub_scale[ib]) << 28);
    memcpy(block.qs + 64 + 4 * ib, &word, sizeof word);
  }
}

QS_HOST_DEVICE inline void pack_iq3_s(const Iq3BlockCode &code, BlockIq3S &block) {
  block.d = code.d;
  for (int ib = 0; ib < iq3::kSubBlocks; ++ib) {
    for (int k = 0; k < 8; ++k) {
      block.qs[8 * ib + k] = static_cast<uint8_t>(code.grid_index[ib][k] & 0xff);
      block.qh[ib] |= static_cast<uint8_t>((code.grid_index[ib][k] >> 8) << k);
    }
    for (int g = 0; g < 4; ++g) block.signs[4 * ib + g] = code.signs[ib][g];
    block.scales[ib / 2] |= static_cast<uint8_t>(code.sub_scale[ib] << (4 * (ib % 2)));
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding: each sub-block's 8 grid entries, sign bits and scale, handed to Decoder::decode
// (iq3::DecodeSubBlockRef, or a CPU's vector decoder). grid: the type's grid.

template <class Decoder>
QS_HOST_DEVICE void decode_iq3_xxs_block(const BlockIq3Xxs &block, const uint32_t *grid, float *y) {
  const float d = f16_to_f32(block.d);
  uint32_t entries[8];
  for (int ib = 0; ib < iq3::kSubBlocks; ++ib) {
    uint32_t word;
    memcpy(&word, block.qs + 64 + 4 * ib, sizeof word);
    const float db = d * (0.5f + static_cast<float>(word >> 28)) * 0.5f;
    uint32_t sign_bits = 0;
    for (int g = 0; g < 4; ++g) sign_bits |= static_cast<uint32_t>(even_parity_signs((word >> (7 * g)) & 127)) << (8 * g);
    for (int k = 0; k < 8; ++k) entries[k] = grid[block.qs[8 * ib + k]];
    Decoder::decode(entries, sign_bits, db, y + ib * iq3::kSubBlock);
  }
}

template <class Decoder>
QS_HOST_DEVICE void decode_iq3_s_block(const BlockIq3S &block, const uint32_t *grid, float *y) {
  const float d = f16_to_f32(block.d);
  uint32_t entries[8];
  for (int ib = 0; ib < iq3::kSubBlocks; ++ib) {
    const int scale = (block.scales[ib / 2] >> (4 * (ib % 2))) & 0xf;
    const float db = d * static_cast<float>(1 + 2 * scale);
    uint32_t sign_bits;
    memcpy(&sign_bits, block.signs + 4 * ib, sizeof sign_bits);
    for (int k = 0; k < 8; ++k) entries[k] = grid[block.qs[8 * ib + k] | (((block.qh[ib] >> k) & 1u) << 8)];
    Decoder::decode(entries, sign_bits, db, y + ib * iq3::kSubBlock);
  }
}

}  // namespace qs
