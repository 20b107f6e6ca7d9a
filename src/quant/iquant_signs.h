// Sign tables shared by the i-quant families (ggml-common.h: ksigns_iq2xs, kmask_iq2xs).
// ksigns_iq2xs[i] holds 7 explicit sign bits (i) plus an 8th bit that makes the count of set
// bits even: the i-quants store 7 signs per group of 8 and infer the last from parity.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace qs {

inline constexpr std::array<uint8_t, 128> kSignsIq2xs = [] {
  std::array<uint8_t, 128> table{};
  for (unsigned i = 0; i < 128; ++i) table[i] = static_cast<uint8_t>(i | ((std::popcount(i) & 1u) << 7));
  return table;
}();

inline constexpr std::array<uint8_t, 8> kMaskIq2xs = {1, 2, 4, 8, 16, 32, 64, 128};

}  // namespace qs
