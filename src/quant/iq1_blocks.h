// The 1-bit lattice i-quants block by block: the on-disk blocks (ggml-common.h: block_iq1_s,
// block_iq1_m; 256 values per block, fields little-endian, f16 scales as raw bits) and their scalar
// reference decoders. Grid values are -1, 0, +1 (iq1_grids.h), shifted by +-delta per group of 8:
// value = scale * (grid + delta). The decoders run on the CPU (iq1.cpp, whose vector decoders give
// the same bits) and in the GPU's quantizer kernels (gpu/quantize_kernels.cu), so they are
// QS_HOST_DEVICE and read the grid through the pointer they are given.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/half.h"
#include "core/host_device.h"
#include "quant/iq1_grids.h"

#if !defined(__CUDACC__)  // nvcc compiles C++17, which has no std::endian
#include <bit>
static_assert(std::endian::native == std::endian::little, "i-quant blocks are read as little-endian");
#endif

namespace qs {

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

namespace iq1 {

QS_HOST_DEVICE inline float grid_value(uint64_t entry, int j) {
  return static_cast<float>(static_cast<int8_t>(entry >> (8 * j)));
}

// The IQ1_M block's f16 scale, from the top nibbles of its four scale words.
QS_HOST_DEVICE inline uint16_t iq1m_d_bits(const uint16_t *sc) {
  return static_cast<uint16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000));
}

}  // namespace iq1

// ---------------------------------------------------------------------------------------------
// Decoding (reference): the format definition, value by value. grid: iq1s_grid or the GPU's copy.

QS_HOST_DEVICE inline void decode_iq1_s_block(const BlockIq1s &block, const uint64_t *grid, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const unsigned qh = block.qh[ib];
    const float dl = d * static_cast<float>(2 * ((qh >> 12) & 7) + 1);
    const float delta = qh & 0x8000 ? -kIq1sDelta : kIq1sDelta;
    for (int l = 0; l < 4; ++l) {
      const uint64_t entry = grid[block.qs[4 * ib + l] | ((qh >> (3 * l)) & 7) << 8];
      for (int j = 0; j < 8; ++j) y[8 * l + j] = dl * (iq1::grid_value(entry, j) + delta);
    }
  }
}

QS_HOST_DEVICE inline void decode_iq1_m_block(const BlockIq1m &block, const uint64_t *grid, float *y) {
  uint16_t sc[4];
  memcpy(sc, block.scales, sizeof(sc));
  const float d = f16_to_f32(iq1::iq1m_d_bits(sc));
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const float dl[2] = {d * static_cast<float>(2 * ((sc[ib / 2] >> (6 * (ib % 2))) & 7) + 1),
                         d * static_cast<float>(2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 7) + 1)};
    for (int l = 0; l < 4; ++l) {
      const unsigned qh = block.qh[2 * ib + l / 2] >> (4 * (l % 2));  // this group's nibble
      const uint64_t entry = grid[block.qs[4 * ib + l] | (qh & 7) << 8];
      const float delta = qh & 8 ? -kIq1mDelta : kIq1mDelta;
      for (int j = 0; j < 8; ++j) y[8 * l + j] = dl[l / 2] * (iq1::grid_value(entry, j) + delta);
    }
  }
}

}  // namespace qs
