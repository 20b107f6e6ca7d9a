// Builds the lattice search tables of the IQ1 grid (see iq_grid_search.h) from the format's grid
// itself: a grid byte is one of three values, read as level 0, 1 or 2.
#include "quant/iq_grid_search.h"

#include <array>
#include <span>

#include "quant/iq1_grids.h"

namespace qs::iq {
namespace {

// Level (0..2) of each of the three byte values a grid uses, smallest first; -1 for any other byte.
using LevelOfByte = std::array<int8_t, 256>;

LevelOfByte levels_of(uint8_t low, uint8_t mid, uint8_t high) {
  LevelOfByte level;
  level.fill(-1);
  level[low] = 0;
  level[mid] = 1;
  level[high] = 2;
  return level;
}

bool all_levels_below_3(int key) {
  for (int j = 0; j < 8; ++j) {
    if (((key >> (2 * j)) & 3) == 3) return false;
  }
  return true;
}

GridSearch build(std::span<const uint64_t> grid, const LevelOfByte &level_of_byte, int n_shells) {
  GridSearch search;
  search.grid_size = static_cast<int>(grid.size());
  search.levels.resize(8 * grid.size());
  search.map.assign(kLatticeKeys, 0);
  search.chunk_offset.assign(kLatticeKeys, 0);
  std::vector<bool> on_grid(kLatticeKeys, false);
  for (size_t g = 0; g < grid.size(); ++g) {
    int8_t *levels = search.levels.data() + 8 * g;
    for (int j = 0; j < 8; ++j) levels[j] = level_of_byte[(grid[g] >> (8 * j)) & 0xff];
    const uint16_t key = lattice_key(levels);
    search.map[key] = static_cast<int32_t>(g);
    on_grid[key] = true;
  }
  // Squared distances in level units are 0..32; bucket the grid by distance (indices stay ascending
  // within a bucket), then keep the n_shells nearest non-empty buckets.
  constexpr int kMaxDistance = 8 * 4;
  std::vector<std::vector<uint16_t>> by_distance(kMaxDistance + 1);
  for (int key = 0; key < kLatticeKeys; ++key) {
    // Keys with a level 3 never occur (quantizers clamp levels to 0..2); they keep map 0, unused.
    if (on_grid[key] || !all_levels_below_3(key)) continue;
    for (auto &bucket : by_distance) bucket.clear();
    for (size_t g = 0; g < grid.size(); ++g) {
      int d2 = 0;
      for (int j = 0; j < 8; ++j) {
        const int diff = search.levels[8 * g + j] - ((key >> (2 * j)) & 3);
        d2 += diff * diff;
      }
      by_distance[d2].push_back(static_cast<uint16_t>(g));
    }
    const size_t offset = search.neighbours.size();
    search.map[key] = -static_cast<int32_t>(offset) - 1;
    search.neighbours.push_back(0);
    int shells = 0;
    for (const auto &bucket : by_distance) {
      if (bucket.empty()) continue;
      search.neighbours.insert(search.neighbours.end(), bucket.begin(), bucket.end());
      if (++shells == n_shells) break;
    }
    const int count = static_cast<int>(search.neighbours.size() - offset - 1);
    search.neighbours[offset] = static_cast<uint16_t>(count);
    search.chunk_offset[key] = static_cast<uint32_t>(search.chunk_levels.size());
    for (int chunk = 0; chunk < count; chunk += 16) {
      for (int j = 0; j < 8; ++j) {
        for (int lane = 0; lane < 16; ++lane) {
          const int n = chunk + lane;
          search.chunk_levels.push_back(n < count ? search.levels[8 * search.neighbours[offset + 1 + n] + j] : 0);
        }
      }
    }
  }
  return search;
}

}  // namespace

// Function-local statics are initialised once, thread-safely, on first use.
const GridSearch &iq1s_search() {
  static const GridSearch search = build(iq1s_grid, levels_of(0xff, 0x00, 0x01), 3);
  return search;
}

}  // namespace qs::iq
