// The 2-bit lattice i-quants block by block: the on-disk blocks (ggml-common.h: block_iq2_xxs,
// block_iq2_xs, block_iq2_s; 256 values per block, fields little-endian, f16 scales as raw bits),
// the packing of a search's choice into them and the scalar reference decoders. The same code runs
// on the CPU (iq2.cpp, whose vector decoders give the same bits) and in the GPU's quantizer kernels
// (gpu/quantize_kernels.cu), so everything here is QS_HOST_DEVICE and free of the standard library;
// a decoder reads its grid (iq2_grids.h, or the GPU's copy) through the pointer it is given.
#pragma once

#include <cstdint>

#include "core/half.h"
#include "core/host_device.h"
#include "quant/iquant_signs.h"

#if !defined(__CUDACC__)  // nvcc compiles C++17, which has no std::endian
#include <bit>
static_assert(std::endian::native == std::endian::little, "i-quant blocks are read as little-endian");
#endif

namespace qs {

// IQ2_XXS, 2.0625 bpw. Per 32 values, qs holds two uint32: the first is 4 grid indices (8 bits each,
// iq2xxs_grid), the second 4 x 7 sign bits (the 8th sign of each group of 8 follows from even parity,
// see kSignsIq2xs) and a 4-bit scale s in bits 28..31: value = d * (0.5 + s) / 4 * grid * sign.
struct BlockIq2xxs {
  uint16_t d;
  uint16_t qs[32];
};
static_assert(sizeof(BlockIq2xxs) == 66);

// IQ2_XS, 2.3125 bpw. One uint16 per group of 8: 9-bit grid index (iq2xs_grid) | 7 sign bits << 9.
// scales: a 4-bit scale per 16 values (low nibble first): value = d * (0.5 + s) / 4 * grid * sign.
struct BlockIq2xs {
  uint16_t d;
  uint16_t qs[32];
  uint8_t scales[8];
};
static_assert(sizeof(BlockIq2xs) == 74);

// IQ2_S, 2.5625 bpw. qs[0..31]: low 8 bits of each group's 10-bit grid index (iq2s_grid); qs[32..63]:
// 8 explicit sign bits per group; qh: the 2 high index bits of 4 groups per byte; scales as IQ2_XS.
struct BlockIq2s {
  uint16_t d;
  uint8_t qs[64];
  uint8_t qh[8];
  uint8_t scales[8];
};
static_assert(sizeof(BlockIq2s) == 82);

// What the search chose for one block, before the bit packing: the f16 block scale, the 4-bit
// sub-block scale codes l (a sub-block's step is d (2 l + 1) / 8), and per group of 8 its grid
// entry and signs (bit j set: value j negative; the parity types store 7 of them).
struct Iq2BlockCode {
  uint16_t d_bits = 0;
  uint8_t scale_code[16] = {};  // 8 sub-blocks of 32 (IQ2_XXS) or 16 of 16 (IQ2_XS, IQ2_S)
  uint16_t entry[32] = {};
  uint8_t signs[32] = {};
};

namespace iq2 {

QS_HOST_DEVICE inline uint8_t grid_byte(uint64_t entry, int j) { return static_cast<uint8_t>(entry >> (8 * j)); }

// 32 values of 4 groups: db[group / 2] * grid byte, negated where the group's sign bit is set
// (negation flips the sign bit even of a NaN, as ggml's x86 build does).
QS_HOST_DEVICE inline void decode_groups(const uint64_t *entries, const uint8_t *signs, const float *db, float *y) {
  for (int l = 0; l < 4; ++l) {
    for (int j = 0; j < 8; ++j) {
      const float v = db[l / 2] * static_cast<float>(grid_byte(entries[l], j));
      y[8 * l + j] = (signs[l] >> j) & 1u ? -v : v;
    }
  }
}

// d * (0.5 + s) / 4, as ggml decodes a 4-bit sub-block scale.
QS_HOST_DEVICE inline float sub_block_scale(float d, unsigned s) { return d * (0.5f + static_cast<float>(s)) * 0.25f; }

}  // namespace iq2

// ---------------------------------------------------------------------------------------------
// Packing (the block is written whole).

QS_HOST_DEVICE inline void pack_iq2_xxs(const Iq2BlockCode &code, BlockIq2xxs &block) {
  block.d = code.d_bits;
  for (int ib = 0; ib < 8; ++ib) {
    uint32_t indices = 0, signs_and_scale = static_cast<uint32_t>(code.scale_code[ib]) << 28;
    for (int k = 0; k < 4; ++k) {
      indices |= static_cast<uint32_t>(code.entry[4 * ib + k]) << (8 * k);
      signs_and_scale |= static_cast<uint32_t>(code.signs[4 * ib + k] & 127) << (7 * k);
    }
    block.qs[4 * ib] = static_cast<uint16_t>(indices);
    block.qs[4 * ib + 1] = static_cast<uint16_t>(indices >> 16);
    block.qs[4 * ib + 2] = static_cast<uint16_t>(signs_and_scale);
    block.qs[4 * ib + 3] = static_cast<uint16_t>(signs_and_scale >> 16);
  }
}

// IQ2_XS and IQ2_S: sub-blocks of 16, scales packed two per byte (low nibble first).
QS_HOST_DEVICE inline void pack_iq2_xs(const Iq2BlockCode &code, BlockIq2xs &block) {
  block.d = code.d_bits;
  for (int g = 0; g < 32; ++g) block.qs[g] = static_cast<uint16_t>(code.entry[g] | (code.signs[g] & 127) << 9);
  for (int i = 0; i < 8; ++i) {
    block.scales[i] = static_cast<uint8_t>(code.scale_code[2 * i] | code.scale_code[2 * i + 1] << 4);
  }
}

QS_HOST_DEVICE inline void pack_iq2_s(const Iq2BlockCode &code, BlockIq2s &block) {
  block = BlockIq2s{};
  block.d = code.d_bits;
  for (int g = 0; g < 32; ++g) {
    block.qs[g] = static_cast<uint8_t>(code.entry[g] & 255);
    block.qh[g / 4] |= static_cast<uint8_t>((code.entry[g] >> 8) << (2 * (g % 4)));
    block.qs[32 + g] = code.signs[g];
  }
  for (int i = 0; i < 8; ++i) {
    block.scales[i] = static_cast<uint8_t>(code.scale_code[2 * i] | code.scale_code[2 * i + 1] << 4);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding (reference): the format definition, value by value. grid: the type's grid.

QS_HOST_DEVICE inline void decode_iq2_xxs_block(const BlockIq2xxs &block, const uint64_t *grid, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const uint32_t indices = block.qs[4 * ib] | static_cast<uint32_t>(block.qs[4 * ib + 1]) << 16;
    const uint32_t signs_and_scale = block.qs[4 * ib + 2] | static_cast<uint32_t>(block.qs[4 * ib + 3]) << 16;
    const float db = iq2::sub_block_scale(d, signs_and_scale >> 28);
    const float db_pair[2] = {db, db};
    uint64_t entries[4];
    uint8_t signs[4];
    for (int l = 0; l < 4; ++l) {
      entries[l] = grid[(indices >> (8 * l)) & 0xff];
      signs[l] = even_parity_signs((signs_and_scale >> (7 * l)) & 127);
    }
    iq2::decode_groups(entries, signs, db_pair, y);
  }
}

QS_HOST_DEVICE inline void decode_iq2_xs_block(const BlockIq2xs &block, const uint64_t *grid, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const float db[2] = {iq2::sub_block_scale(d, block.scales[ib] & 0xf), iq2::sub_block_scale(d, block.scales[ib] >> 4)};
    uint64_t entries[4];
    uint8_t signs[4];
    for (int l = 0; l < 4; ++l) {
      const uint16_t q = block.qs[4 * ib + l];
      entries[l] = grid[q & 511];
      signs[l] = even_parity_signs(q >> 9);
    }
    iq2::decode_groups(entries, signs, db, y);
  }
}

QS_HOST_DEVICE inline void decode_iq2_s_block(const BlockIq2s &block, const uint64_t *grid, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const float db[2] = {iq2::sub_block_scale(d, block.scales[ib] & 0xf), iq2::sub_block_scale(d, block.scales[ib] >> 4)};
    uint64_t entries[4];
    uint8_t signs[4];
    for (int l = 0; l < 4; ++l) {
      const int group = 4 * ib + l;
      entries[l] = grid[block.qs[group] | (((block.qh[ib] >> (2 * l)) & 3) << 8)];
      signs[l] = block.qs[32 + group];
    }
    iq2::decode_groups(entries, signs, db, y);
  }
}

}  // namespace qs
