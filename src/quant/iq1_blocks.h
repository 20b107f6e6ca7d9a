// On-disk blocks of the 1-bit lattice i-quants (ggml-common.h: block_iq1_s, block_iq1_m). 256 values
// per block; fields little-endian, f16 scales as raw bits. Grid values are -1, 0, +1 (iq1_grids.h),
// shifted by +-delta per group of 8: value = scale * (grid + delta).
#pragma once

#include <bit>
#include <cstdint>

namespace qs {

static_assert(std::endian::native == std::endian::little, "i-quant blocks are read as little-endian");

// IQ1_S, 1.5625 bpw. Per 32 values, qh[ib]: bits 0..11 the high 3 index bits of its 4 groups
// (3 per group), bits 12..14 a 3-bit scale s, bit 15 the sign of delta (set: -delta); qs: the low 8
// bits of each group's 11-bit grid index. value = d * (2 s + 1) * (grid + delta).
struct BlockIq1s {
  uint16_t d;
  uint8_t qs[32];
  uint16_t qh[8];
};
static_assert(sizeof(BlockIq1s) == 50);

// IQ1_M, 1.75 bpw, no separate d. qs: low 8 index bits per group; qh: per group pair, the high 3 index
// bits of each (bits 0..2, 4..6) and its delta sign (bits 3, 7). scales, read as 4 little-endian
// uint16: 3-bit scales of the 16-value sub-blocks in bits 0..11 of each word (4 per word), and the
// block's f16 scale d split over the top nibbles (word 0 holds bits 0..3 of d, word 3 bits 12..15).
// value = d * (2 s + 1) * (grid + delta).
struct BlockIq1m {
  uint8_t qs[32];
  uint8_t qh[16];
  uint8_t scales[8];
};
static_assert(sizeof(BlockIq1m) == 56);

}  // namespace qs
