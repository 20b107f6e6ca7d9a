// The IQ1 grid (ggml-common.h: iq1s_grid, shared by IQ1_S and IQ1_M): each uint64 packs 8 signed bytes,
// byte j = value j, from {0xff, 0x00, 0x01} = {-1, 0, +1}. A block adds +-delta to every value of a group
// of 8 before scaling. Format constants: they must match ggml exactly.
#pragma once

#include <array>
#include <cstdint>

namespace qs {

inline constexpr float kIq1sDelta = 0.125f;  // IQ1S_DELTA
inline constexpr float kIq1mDelta = 0.125f;  // IQ1M_DELTA

extern const std::array<uint64_t, 2048> iq1s_grid;  // 11-bit grid indices

}  // namespace qs
