// On-disk blocks of the 2-bit lattice i-quants (ggml-common.h: block_iq2_xxs, block_iq2_xs,
// block_iq2_s). 256 values per block; fields little-endian, f16 scales as raw bits.
#pragma once

#include <bit>
#include <cstdint>

namespace qs {

static_assert(std::endian::native == std::endian::little, "i-quant blocks are read as little-endian");

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

}  // namespace qs
