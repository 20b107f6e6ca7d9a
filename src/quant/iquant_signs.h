// Sign tables shared by the i-quant families (ggml-common.h: ksigns_iq2xs, kmask_iq2xs).
// ksigns_iq2xs[i] holds 7 explicit sign bits (i) plus an 8th bit that makes the count of set
// bits even: the i-quants store 7 signs per group of 8 and infer the last from parity.
#pragma once

#include <array>
#include <cstdint>

#include "core/host_device.h"

namespace qs {

constexpr uint8_t with_parity_bit(unsigned seven_bits) {
  unsigned parity = 0;
  for (int i = 0; i < 7; ++i) parity ^= (seven_bits >> i) & 1u;
  return static_cast<uint8_t>((seven_bits & 127u) | parity << 7);
}

inline constexpr std::array<uint8_t, 128> kSignsIq2xs = [] {
  std::array<uint8_t, 128> table{};
  for (unsigned i = 0; i < 128; ++i) table[i] = with_parity_bit(i);
  return table;
}();

inline constexpr std::array<uint8_t, 8> kMaskIq2xs = {1, 2, 4, 8, 16, 32, 64, 128};

// kSignsIq2xs[seven_bits & 127] on either side: GPU code cannot index the host's table, and counts
// the bits instead.
QS_HOST_DEVICE inline uint8_t even_parity_signs(unsigned seven_bits) {
#if defined(__CUDA_ARCH__)
  return static_cast<uint8_t>((seven_bits & 127u) | (static_cast<unsigned>(__popc(seven_bits & 127u)) & 1u) << 7);
#else
  return kSignsIq2xs[seven_bits & 127u];
#endif
}

}  // namespace qs
