// The hot kernels of the IQ1_S / IQ1_M quantizers, which follow ggml's quantize_row_iq1_*_impl: the
// exhaustive search of the two split points that divide a sub-block's sorted values into the levels
// -1, 0, +1 (plus a shift of +-delta), and the best grid neighbour of a group that falls off the grid.
// Each has a scalar reference and an AVX-512 fast path with the same results bit for bit: per candidate
// the same operations in the same order, and the choice made by the same sequential rule.
#pragma once

#include <cstdint>

#include "quant/iq_grid_search.h"

namespace qs::iq1 {

// A split of a sorted sub-block: positions [0, i1) take level 0 (-1), [i1, i2) level 1 (0), [i2, n)
// level 2 (+1); `shift` picks the shifted level values; `scale` is the least-squares scale.
struct Split {
  int i1 = -1, i2 = -1;
  int shift = -1;  // IQ1_S: 0 = +delta, 1 = -delta. IQ1_M: 0..3 = the two halves' deltas (see below)
  float scale = 0;
};

// IQ1_S: n + 1 prefix sums of weight * x and of weight over the values in ascending order;
// level_plus / level_minus: the 3 level values shifted by +delta / -delta. Tries every i1 <= i2 with
// both shifts in ggml's order (i1, then i2, then +delta before -delta) and keeps a candidate when
// sumqx^2 > best * sumq2 (best = scale * sumqx of the kept one). i1 = -1 if none qualifies.
using Iq1sSplitFn = Split (*)(const float *sum_wx, const float *sum_w, int n, const float *level_plus,
                              const float *level_minus, float initial_scale);

// IQ1_M, sub-blocks of 16 whose two halves of 8 have their own delta sign: shift k = 2 a + b with
// a, b = 0 for +delta, 1 for -delta (first, second half). x[j], w[j]: the j-th smallest value and its
// weight, second_half[j] whether it lies in the second half. For every i1 <= i2 the four shifts' sums
// are accumulated value by value in sorted order (ggml's rounding) and the best kept as above.
using Iq1mSplitFn = Split (*)(const float *x, const float *w, const bool *second_half, const float *level_plus,
                              const float *level_minus, float initial_scale);

// Of the grid neighbours of the off-grid lattice point `key`, the one minimising
// sum_i weight[i] * (scale * level_value[level_i] - x[i])^2 (first on ties); writes its levels to L
// and returns its grid index.
using BestNeighbourFn = int (*)(const iq::GridSearch &search, uint16_t key, const float *x, const float *weight,
                                float scale, const float *level_value, int8_t *L);

struct Kernels {
  Iq1sSplitFn iq1s_split;
  Iq1mSplitFn iq1m_split;
  BestNeighbourFn best_neighbour;
};

const Kernels &scalar_kernels();
const Kernels &fast_kernels();  // the scalar ones without AVX-512

}  // namespace qs::iq1
