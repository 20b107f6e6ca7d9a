// The hot kernels of the IQ1_S / IQ1_M quantizers, which follow ggml's quantize_row_iq1_*_impl: the
// exhaustive search of the two split points that divide a sub-block's sorted values into the levels
// -1, 0, +1 (plus a shift of +-delta), and the best grid neighbour of a group that falls off the grid.
// Each has a scalar reference and an AVX-512 fast path with the same results bit for bit: per candidate
// the same operations in the same order, and the choice made by the same sequential rule.
#pragma once

#include <cstdint>

#include "quant/iq1_block_search.h"
#include "quant/iq_grid_search.h"

namespace qs::iq1 {

// IQ1_S: iq1s_split_ref (iq1_block_search.h).
using Iq1sSplitFn = Split (*)(const float *sum_wx, const float *sum_w, int n, const float *level_plus,
                              const float *level_minus, float initial_scale);

// IQ1_M: iq1m_split_ref (iq1_block_search.h).
using Iq1mSplitFn = Split (*)(const float *x, const float *w, const bool *second_half, const float *level_plus,
                              const float *level_minus, float initial_scale);

// best_neighbour_ref (iq1_block_search.h) over the tables of `search`.
using BestNeighbourFn = int (*)(const iq::GridSearch &search, uint16_t key, const float *x, const float *weight,
                                float scale, const float *level_value, int8_t *L);

struct Kernels {
  Iq1sSplitFn iq1s_split;
  Iq1mSplitFn iq1m_split;
  BestNeighbourFn best_neighbour;
};

const Kernels &scalar_kernels();
const Kernels &fast_kernels();  // the scalar ones without AVX-512

// The block search's Searcher (iq1_block_search.h) on the CPU: `kernels` over the IQ1 grid's tables.
struct KernelSearcher {
  const iq::GridSearch &search;
  const Kernels &kernels;
  iq::GridSearchTables tables = search.tables();

  Split iq1s_split(const float *sum_wx, const float *sum_w, int n, const float *level_plus, const float *level_minus,
                   float initial_scale) const {
    return kernels.iq1s_split(sum_wx, sum_w, n, level_plus, level_minus, initial_scale);
  }
  Split iq1m_split(const float *x, const float *w, const bool *second_half, const float *level_plus,
                   const float *level_minus, float initial_scale) const {
    return kernels.iq1m_split(x, w, second_half, level_plus, level_minus, initial_scale);
  }
  int best_neighbour(uint16_t key, const float *x, const float *weight, float scale, const float *level_value,
                     int8_t *L) const {
    return kernels.best_neighbour(search, key, x, weight, scale, level_value, L);
  }
};

}  // namespace qs::iq1
