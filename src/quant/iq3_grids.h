// The IQ3 lattice grids (ggml-common.h iq3xxs_grid, iq3s_grid): each entry is 4 magnitudes packed
// one per byte (value k of the group in byte k). IQ3_XXS indexes its 256 entries with 8 bits;
// IQ3_S indexes its 512 entries with 8 bits plus one high bit.
#pragma once

#include <array>
#include <cstdint>

namespace qs {

extern const std::array<uint32_t, 256> kIq3xxsGrid;
extern const std::array<uint32_t, 512> kIq3sGrid;

}  // namespace qs
