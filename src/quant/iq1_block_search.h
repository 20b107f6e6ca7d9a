// The IQ1 block search (ggml's quantize_row_iq1_*_impl, every float operation in ggml's order) as
// templates over where its two hot steps come from, so that the CPU (iq1_search.h's kernels, scalar
// or vector) and the GPU (gpu/quantize_kernels.cu: the scalar references below) run this one code
// and give the same bits. Everything here is QS_HOST_DEVICE and free of the standard library. Per
// sub-block: an exact search of the two split points that divide its sorted values into the levels
// -1, 0, +1 (plus a shift of +-delta), then each group's grid point or, off the grid, its best
// neighbour (iq_grid_search.h's tables).
//
// A Searcher holds `tables` (iq::GridSearchTables of the IQ1 grid) and gives
//   iq1s_split(sum_wx, sum_w, n, level_plus, level_minus, initial_scale)   as iq1s_split_ref;
//   iq1m_split(x, w, second_half, level_plus, level_minus, initial_scale)  as iq1m_split_ref;
//   best_neighbour(key, x, weight, scale, level_value, L)                  as best_neighbour_ref.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/half.h"
#include "core/host_device.h"
#include "quant/iq1_blocks.h"
#include "quant/iq1_grids.h"
#include "quant/iq_grid_search.h"

namespace qs::iq1 {

constexpr int kValues = 256;

// A split of a sorted sub-block: positions [0, i1) take level 0 (-1), [i1, i2) level 1 (0), [i2, n)
// level 2 (+1); `shift` picks the shifted level values; `scale` is the least-squares scale.
struct Split {
  int i1 = -1, i2 = -1;
  int shift = -1;  // IQ1_S: 0 = +delta, 1 = -delta. IQ1_M: 0..3 = the two halves' deltas (see below)
  float scale = 0;
};

// ggml's selection rule, one candidate at a time: keeps it when sumqx^2 > best * sumq2 (best =
// scale * sumqx of the kept one).
QS_HOST_DEVICE inline void consider(float sumqx, float sumq2, int i1, int i2, int shift, float &best_score, Split &best) {
  if (sumq2 > 0 && sumqx * sumqx > best_score * sumq2) {
    best.scale = sumqx / sumq2;
    best_score = best.scale * sumqx;
    best.i1 = i1;
    best.i2 = i2;
    best.shift = shift;
  }
}

// IQ1_S's split: n + 1 prefix sums of weight * x and of weight over the values in ascending order;
// xp / xm the 3 level values shifted by +delta / -delta. Tries every i1 <= i2 with both shifts in
// ggml's order (i1, then i2, then +delta before -delta). i1 = -1 if none qualifies.
QS_HOST_DEVICE inline Split iq1s_split_ref(const float *sum_wx, const float *sum_w, int n, const float *xp,
                                           const float *xm, float initial_scale) {
  Split best;
  best.scale = initial_scale;
  float best_score = -FLT_MAX;
  for (int i1 = 0; i1 <= n; ++i1) {
    for (int i2 = i1; i2 <= n; ++i2) {
      const float low_x = sum_wx[i1] - sum_wx[0], mid_x = sum_wx[i2] - sum_wx[i1], high_x = sum_wx[n] - sum_wx[i2];
      const float low_w = sum_w[i1] - sum_w[0], mid_w = sum_w[i2] - sum_w[i1], high_w = sum_w[n] - sum_w[i2];
      consider(low_x * xp[0] + mid_x * xp[1] + high_x * xp[2],
               low_w * xp[0] * xp[0] + mid_w * xp[1] * xp[1] + high_w * xp[2] * xp[2], i1, i2, 0, best_score, best);
      consider(low_x * xm[0] + mid_x * xm[1] + high_x * xm[2],
               low_w * xm[0] * xm[0] + mid_w * xm[1] * xm[1] + high_w * xm[2] * xm[2], i1, i2, 1, best_score, best);
    }
  }
  return best;
}

// IQ1_M, sub-blocks of 16 whose two halves of 8 have their own delta sign: shift k = 2 a + b with
// a, b = 0 for +delta, 1 for -delta (first, second half).
QS_HOST_DEVICE inline const float *first_half_levels(int k, const float *xp, const float *xm) { return k < 2 ? xp : xm; }
QS_HOST_DEVICE inline const float *second_half_levels(int k, const float *xp, const float *xm) {
  return k % 2 == 0 ? xp : xm;
}

// IQ1_M's split: x[j], w[j] the j-th smallest value and its weight, second_half[j] whether it lies in
// the second half; xp / xm the 3 level values shifted by +delta / -delta. For every i1 <= i2 the four
// shifts' sums are accumulated value by value in sorted order (ggml's rounding) and the best kept by
// `consider`, in ggml's order (i1, then i2, then the shift). i1 = -1 if none qualifies.
QS_HOST_DEVICE inline Split iq1m_split_ref(const float *x, const float *w, const bool *second_half, const float *xp,
                                           const float *xm, float initial_scale) {
  constexpr int n = 16;
  Split best;
  best.scale = initial_scale;
  float best_score = -FLT_MAX;
  for (int i1 = 0; i1 <= n; ++i1) {
    for (int i2 = i1; i2 <= n; ++i2) {
      float sumqx[4] = {}, sumq2[4] = {};
      for (int j = 0; j < n; ++j) {
        const int level = j < i1 ? 0 : j < i2 ? 1 : 2;
        for (int k = 0; k < 4; ++k) {
          const float q = (second_half[j] ? second_half_levels(k, xp, xm) : first_half_levels(k, xp, xm))[level];
          sumqx[k] += w[j] * q * x[j];
          sumq2[k] += w[j] * q * q;
        }
      }
      for (int k = 0; k < 4; ++k) consider(sumqx[k], sumq2[k], i1, i2, k, best_score, best);
    }
  }
  return best;
}

// Of the grid neighbours of the off-grid lattice point `key`, the one minimising
// sum_i weight[i] * (scale * level_value[level_i] - x[i])^2 (first on ties); writes its levels to L
// and returns its grid index.
QS_HOST_DEVICE inline int best_neighbour_ref(const iq::GridSearchTables &tables, uint16_t key, const float *x,
                                             const float *weight, float scale, const float *level_value, int8_t *L) {
  const uint16_t *neighbours = tables.neighbours_of(key);
  const int count = neighbours[0];
  float best_d2 = FLT_MAX;
  int best = neighbours[1];  // ggml asserts one is found; only NaN input could leave none
  for (int j = 1; j <= count; ++j) {
    const int8_t *levels = tables.levels_of(neighbours[j]);
    float d2 = 0;
    for (int i = 0; i < 8; ++i) {
      const float diff = scale * level_value[levels[i]] - x[i];
      d2 += weight[i] * diff * diff;
    }
    if (d2 < best_d2) {
      best_d2 = d2;
      best = neighbours[j];
    }
  }
  const int8_t *levels = tables.levels_of(best);
  for (int i = 0; i < 8; ++i) L[i] = levels[i];
  return best;
}

// The levels -1, 0, +1 shifted by +delta and by -delta.
struct ShiftedLevels {
  float plus[3];
  float minus[3];
  QS_HOST_DEVICE explicit ShiftedLevels(float delta)
      : plus{-1 + delta, delta, 1 + delta}, minus{-1 - delta, -delta, 1 - delta} {}
};

// Positions of x[0..n) in ascending order of value; equal values keep their order, as in ggml, whose
// qsort is glibc's merge sort, which is stable. An insertion sort: stable, and no allocation.
QS_HOST_DEVICE inline void sort_positions(const float *x, int n, int *order) {
  for (int j = 0; j < n; ++j) {
    int k = j;
    while (k > 0 && x[j] < x[order[k - 1]]) {
      order[k] = order[k - 1];
      --k;
    }
    order[k] = j;
  }
}

// std::max's rule: the first unless the second is larger (a NaN second is ignored).
QS_HOST_DEVICE inline float max_first(float a, float b) { return a < b ? b : a; }

QS_HOST_DEVICE inline float max_abs(const float *x, int n) {
  float max = fabsf(x[0]);
  for (int i = 1; i < n; ++i) max = max_first(max, fabsf(x[i]));
  return max;
}

// Levels (0, 1, 2) of the values of a sub-block from a split of its sorted order.
QS_HOST_DEVICE inline void levels_from_split(const int *order, int n, const Split &split, int8_t *L) {
  for (int j = 0; j < n; ++j) L[order[j]] = static_cast<int8_t>(j < split.i1 ? 0 : j < split.i2 ? 1 : 2);
}

// Puts a group on the grid: its index if its levels are a grid point, else its best neighbour's
// (whose levels then replace L). Clears *all_on_grid in that case.
template <class Searcher>
QS_HOST_DEVICE uint16_t grid_index(const Searcher &searcher, const float *x, const float *weight, float scale,
                                   const float *level_value, int8_t *L, bool *all_on_grid) {
  const uint16_t key = iq::lattice_key(L);
  const int32_t index = searcher.tables.map[key];
  if (index >= 0) return static_cast<uint16_t>(index);
  *all_on_grid = false;
  return static_cast<uint16_t>(searcher.best_neighbour(key, x, weight, scale, level_value, L));
}

// A sub-block scale's 3-bit code: nearest (2 code + 1) to scale / d, clamped to 0..7.
QS_HOST_DEVICE inline int scale_code(float scale, float inverse_d) {
  const int code = iq::nearest_int(0.5f * (inverse_d * scale - 1));
  return code < 0 ? 0 : code > 7 ? 7 : code;
}

// ---------------------------------------------------------------------------------------------
// IQ1_S

// One block of 256 values (importance: its 256 weights; IQ1_S needs them) into `block`.
template <class Searcher>
QS_HOST_DEVICE void encode_iq1_s_block(const float *xbl, const float *importance, const Searcher &searcher,
                                       BlockIq1s &out) {
  const ShiftedLevels levels(kIq1sDelta);
  BlockIq1s block{};  // a local: written in place, its bytes could alias x for all the compiler knows
  float sumx2 = 0;
  for (int i = 0; i < kValues; ++i) sumx2 += xbl[i] * xbl[i];
  const float sigma2 = 2 * sumx2 / kValues;

  float scales[8];
  bool minus_delta[8];
  float max_scale = 0;
  for (int ib = 0; ib < 8; ++ib) {
    const float *xb = xbl + 32 * ib;
    const float *qw = importance + 32 * ib;
    float weight[32];
    for (int i = 0; i < 32; ++i) weight[i] = qw[i] * sqrtf(sigma2 + xb[i] * xb[i]);
    scales[ib] = 0;
    minus_delta[ib] = false;
    const float max = max_abs(xb, 32);
    if (max < 1e-12f) continue;
    // The best split into -1 / 0 / +1 is exact: sorted prefix sums give every split's fit in O(1).
    int order[32];
    sort_positions(xb, 32, order);
    float sum_wx[33], sum_w[33];
    sum_wx[0] = sum_w[0] = 0;
    for (int j = 0; j < 32; ++j) {
      sum_wx[j + 1] = sum_wx[j] + weight[order[j]] * xb[order[j]];
      sum_w[j + 1] = sum_w[j] + weight[order[j]];
    }
    const Split split = searcher.iq1s_split(sum_wx, sum_w, 32, levels.plus, levels.minus, max);
    if (split.i1 < 0) continue;
    int8_t L[32];
    levels_from_split(order, 32, split, L);
    float scale = split.scale;
    bool minus = split.shift == 1;
    if (scale < 0) {
      for (int j = 0; j < 32; ++j) L[j] = static_cast<int8_t>(2 - L[j]);
      scale = -scale;
      minus = !minus;
    }
    const float *level_value = minus ? levels.minus : levels.plus;
    bool all_on_grid = true;
    uint16_t index[4];
    for (int k = 0; k < 4; ++k) {
      index[k] = grid_index(searcher, xb + 8 * k, weight + 8 * k, scale, level_value, L + 8 * k, &all_on_grid);
    }
    if (!all_on_grid) {
      float sumqx = 0, sumq2 = 0;
      for (int k = 0; k < 4; ++k) {
        const int8_t *grid_levels = searcher.tables.levels_of(index[k]);
        for (int j = 0; j < 8; ++j) {
          const float w = weight[8 * k + j];
          const float q = level_value[grid_levels[j]];
          sumqx += w * q * xb[8 * k + j];
          sumq2 += w * q * q;
        }
      }
      if (sumqx > 0 && sumq2 > 0) scale = sumqx / sumq2;
    }
    uint16_t qh = 0;
    for (int k = 0; k < 4; ++k) {
      block.qs[4 * ib + k] = static_cast<uint8_t>(index[k] & 255);
      qh = static_cast<uint16_t>(qh | (index[k] >> 8) << (3 * k));
    }
    block.qh[ib] = qh;
    scales[ib] = scale;
    minus_delta[ib] = minus;
    max_scale = max_first(max_scale, scale);
  }
  if (max_scale > 0) {
    const float d = max_scale / 15;
    // ggml stores d enlarged by 1.125, an empirical correction it does not explain.
    block.d = f32_to_f16(d * 1.125f);
    const float inverse_d = 1 / d;
    for (int ib = 0; ib < 8; ++ib) {
      const int code = scale_code(scales[ib], inverse_d) | (minus_delta[ib] ? 8 : 0);
      block.qh[ib] = static_cast<uint16_t>(block.qh[ib] | code << 12);
    }
  }
  out = block;
}

// ---------------------------------------------------------------------------------------------
// IQ1_M

// Level values of each half of a sub-block for shift k (bit 1: first half -delta, bit 0: second).
QS_HOST_DEVICE inline const float *half_levels(const ShiftedLevels &levels, int k, int half) {
  return (half == 0 ? k < 2 : k % 2 == 0) ? levels.plus : levels.minus;
}

// The weights of sub-block ib (16 values): with an imatrix ggml's importance * sqrt(sigma2 + x^2),
// without one x^2.
QS_HOST_DEVICE inline void iq1m_sub_block_weights(const float *xbl, const float *importance, float sigma2, int ib,
                                                  float *weight) {
  const float *xb = xbl + 16 * ib;
  if (importance) {
    const float *qw = importance + 16 * ib;
    for (int i = 0; i < 16; ++i) weight[i] = qw[i] * sqrtf(sigma2 + xb[i] * xb[i]);
  } else {
    for (int i = 0; i < 16; ++i) weight[i] = xb[i] * xb[i];
  }
}

// One block of 256 values (importance: its 256 weights, or null) into `block`.
template <class Searcher>
QS_HOST_DEVICE void encode_iq1_m_block(const float *xbl, const float *importance, const Searcher &searcher,
                                       BlockIq1m &out) {
  const ShiftedLevels levels(kIq1mDelta);
  const uint8_t delta_sign_bits[4] = {0x00, 0x80, 0x08, 0x88};
  BlockIq1m block{};  // a local: written in place, its bytes could alias x for all the compiler knows
  float sumx2 = 0;
  for (int i = 0; i < kValues; ++i) sumx2 += xbl[i] * xbl[i];
  const float sigma2 = 2 * sumx2 / kValues;

  float scales[16];
  int shifts[16];
  float max_scale = 0;
  for (int ib = 0; ib < 16; ++ib) {
    const float *xb = xbl + 16 * ib;
    float weight[16];
    iq1m_sub_block_weights(xbl, importance, sigma2, ib, weight);
    scales[ib] = 0;
    shifts[ib] = 0;
    const float max = max_abs(xb, 16);
    if (max < 1e-7f) continue;
    int order[16];
    sort_positions(xb, 16, order);
    float sorted_x[16], sorted_w[16];
    bool second_half[16];
    for (int j = 0; j < 16; ++j) {
      sorted_x[j] = xb[order[j]];
      sorted_w[j] = weight[order[j]];
      second_half[j] = order[j] >= 8;
    }
    const Split split = searcher.iq1m_split(sorted_x, sorted_w, second_half, levels.plus, levels.minus, max);
    if (split.i1 < 0) continue;
    int8_t L[16];
    levels_from_split(order, 16, split, L);
    float scale = split.scale;
    int shift = split.shift;
    if (scale < 0) {
      for (int j = 0; j < 16; ++j) L[j] = static_cast<int8_t>(2 - L[j]);
      scale = -scale;
      shift = 3 - shift;  // both halves' delta signs flip
    }
    bool all_on_grid = true;
    uint16_t index[2];
    for (int k = 0; k < 2; ++k) {
      index[k] = grid_index(searcher, xb + 8 * k, weight + 8 * k, scale, half_levels(levels, shift, k), L + 8 * k,
                            &all_on_grid);
    }
    if (!all_on_grid) {
      float sumqx = 0, sumq2 = 0;
      for (int k = 0; k < 2; ++k) {
        const int8_t *grid_levels = searcher.tables.levels_of(index[k]);
        for (int j = 0; j < 8; ++j) {
          const float w = weight[8 * k + j];
          const float q = half_levels(levels, shift, k)[grid_levels[j]];
          sumqx += w * q * xb[8 * k + j];
          sumq2 += w * q * q;
        }
      }
      if (sumqx > 0 && sumq2 > 0) scale = sumqx / sumq2;
    }
    block.qs[2 * ib] = static_cast<uint8_t>(index[0] & 255);
    block.qs[2 * ib + 1] = static_cast<uint8_t>(index[1] & 255);
    block.qh[ib] = static_cast<uint8_t>((index[0] >> 8) | (index[1] >> 8) << 4);
    scales[ib] = scale;
    shifts[ib] = shift;
    max_scale = max_first(max_scale, scale);
  }
  if (max_scale > 0) {
    // Sub-block codes from d = max / 15, then d refitted to the whole block's chosen points.
    uint16_t sc[4] = {};
    float d = max_scale / 15;
    const float inverse_d = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int ib = 0; ib < 16; ++ib) {
      const int code = scale_code(scales[ib], inverse_d);
      sc[ib / 4] = static_cast<uint16_t>(sc[ib / 4] | code << (3 * (ib % 4)));
      block.qh[ib] |= delta_sign_bits[shifts[ib]];
      const float *xb = xbl + 16 * ib;
      float weight[16];
      iq1m_sub_block_weights(xbl, importance, sigma2, ib, weight);
      for (int k = 0; k < 2; ++k) {
        const int index = block.qs[2 * ib + k] | ((block.qh[ib] >> (4 * k)) & 7) << 8;
        const int8_t *grid_levels = searcher.tables.levels_of(index);
        for (int j = 0; j < 8; ++j) {
          const float w = weight[8 * k + j];
          const float q = half_levels(levels, shifts[ib], k)[grid_levels[j]] * static_cast<float>(2 * code + 1);
          sumqx += w * q * xb[8 * k + j];
          sumq2 += w * q * q;
        }
      }
    }
    if (sumq2 > 0) d = sumqx / sumq2;
    // ggml stores d enlarged by 1.1125, an empirical correction it does not explain.
    const uint16_t d_bits = f32_to_f16(d * 1.1125f);
    sc[0] = static_cast<uint16_t>(sc[0] | (d_bits & 0x000f) << 12);
    sc[1] = static_cast<uint16_t>(sc[1] | (d_bits & 0x00f0) << 8);
    sc[2] = static_cast<uint16_t>(sc[2] | (d_bits & 0x0f00) << 4);
    sc[3] = static_cast<uint16_t>(sc[3] | (d_bits & 0xf000));
    memcpy(block.scales, sc, sizeof(sc));
  }
  out = block;
}

}  // namespace qs::iq1
