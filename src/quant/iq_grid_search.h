// Lattice search tables for a grid of the 1-bit i-quants (IQ1_S, IQ1_M), ggml's iq2xs_init_impl: every
// grid entry is a point of the 3-level lattice {0,1,2}^8; the quantizer rounds a group of 8 values to
// that lattice, then needs either the point's grid index or, when the grid lacks it, the grid entries
// nearest to it. Built once on first use (thread-safe). Also ggml's rounding helper nearest_int.
#pragma once

#include <cstdint>
#include <vector>

#include "core/host_device.h"

namespace qs::iq {

// A lattice point as ggml keys it: level l_j (0..2) of element j in bits 2j..2j+1. The largest key,
// all levels 2, is 0xAAAA.
inline constexpr int kLatticeKeys = 0xAAAA + 1;

// The tables a block's search reads, as plain pointers (GridSearch's below, or their copies in GPU
// memory), so that the same search code runs on either side.
struct GridSearchTables {
  const int32_t *map;
  const uint16_t *neighbours;
  const int8_t *levels;

  QS_HOST_DEVICE const uint16_t *neighbours_of(uint16_t key) const { return neighbours + (-map[key] - 1); }
  QS_HOST_DEVICE const int8_t *levels_of(int g) const { return levels + 8 * g; }
};

struct GridSearch {
  int grid_size = 0;
  // Per grid entry, the level (0..2) of each of its 8 elements: 8 bytes an entry.
  std::vector<int8_t> levels;
  // Per lattice key: the grid index (>= 0) of that point, or -(1 + offset) where neighbours[offset] is
  // the count n of its nearest grid entries and neighbours[offset + 1 .. offset + n] their indices.
  std::vector<int32_t> map;
  std::vector<uint16_t> neighbours;
  // The same lists transposed for SIMD kernels: per off-grid key, ceil(n / 16) chunks of 8 x 16
  // levels, row j holding element j of 16 consecutive neighbours (padding lanes hold level 0).
  std::vector<uint32_t> chunk_offset;  // per key: first byte of its chunks in chunk_levels
  std::vector<uint8_t> chunk_levels;

  // The neighbour list (count first) of a key that is not on the grid (map[key] < 0).
  const uint16_t *neighbours_of(uint16_t key) const { return neighbours.data() + (-map[key] - 1); }
  const int8_t *levels_of(int g) const { return levels.data() + 8 * g; }
  const uint8_t *chunks_of(uint16_t key) const { return chunk_levels.data() + chunk_offset[key]; }
  GridSearchTables tables() const { return {map.data(), neighbours.data(), levels.data()}; }
};

// iq1s_grid's tables (IQ1_S and IQ1_M share them). The neighbours of an off-grid point are the grid
// entries at its 3 smallest distinct squared distances (ggml's nwant = 3), ordered by distance, then
// index: the order the quantizer's tie-breaking depends on.
const GridSearch &iq1s_search();

// ggml's nearest_int: round half to even through the float mantissa (exact for |x| <= 2^22; defined,
// if meaningless, for any other input, NaN included), so ties fall the way ggml's do.
QS_HOST_DEVICE inline int nearest_int(float x) {
  const float shifted = x + 12582912.0f;
  return static_cast<int32_t>(float_bits(shifted) & 0x007fffff) - 0x00400000;
}

// The lattice key of 8 levels.
QS_HOST_DEVICE inline uint16_t lattice_key(const int8_t *levels) {
  unsigned key = 0;
  for (int j = 0; j < 8; ++j) key |= static_cast<unsigned>(levels[j]) << (2 * j);
  return static_cast<uint16_t>(key);
}

}  // namespace qs::iq
