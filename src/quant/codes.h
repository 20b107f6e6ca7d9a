// Nearest integer codes of a run of values at a known scale, for the k-quant stores: the scalar
// reference and its AVX-512 form (same bits).
#pragma once

#include <cstdint>

namespace qs {

// codes[j] = nearest((x[j] - offset)·inverse_or_zero(d)) clamped to lo..hi, minus lo (so codes are
// 0..hi-lo), for j < n (n a multiple of 16). `fast` picks the AVX-512 form where the CPU has it.
void nearest_codes(const float *x, int n, float d, float offset, float lo, float hi, uint8_t *codes, bool fast);

}  // namespace qs
