// The IQ2 lattice grids (ggml-common.h: iq2xxs_grid, iq2xs_grid, iq2s_grid): each uint64 packs 8 grid
// magnitudes, one per byte (byte j = value j), from {0x08, 0x19, 0x2b} = {8, 25, 43}. These are format
// constants: a grid index in a block means the entry at that position, so they must match ggml exactly.
#pragma once

#include <array>
#include <cstdint>

namespace qs {

extern const std::array<uint64_t, 256> iq2xxs_grid;   // IQ2_XXS: 8-bit grid indices
extern const std::array<uint64_t, 512> iq2xs_grid;    // IQ2_XS: 9-bit grid indices
extern const std::array<uint64_t, 1024> iq2s_grid;    // IQ2_S: 10-bit grid indices

}  // namespace qs
