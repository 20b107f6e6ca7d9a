// The 16 non-linear levels of IQ4_NL and IQ4_XS (ggml-common.h: kvalues_iq4nl), part of the format:
// a 4-bit index q decodes to scale * kValuesIq4nl[q]. Sorted ascending, which the quantizers use.
#pragma once

#include <array>
#include <cstdint>

// The list itself, once, for the CPU's table and the GPU's copy in constant memory (iq4_blocks.h).
#define QS_IQ4NL_LEVELS -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113

namespace qs {

inline constexpr std::array<int8_t, 16> kValuesIq4nl = {QS_IQ4NL_LEVELS};

}  // namespace qs
