// IQ1_S and IQ1_M: groups of 8 ternary values (-1, 0, +1) from a 2048-entry grid (iq1_grids.h), each
// group shifted by +-delta, with 3-bit sub-block scales. Dequantization is the format definition;
// quantization is ggml's (quantize_row_iq1_s_impl / iq1_m_impl) and writes the same bytes: an exact
// search of the two split points of each sorted sub-block, then the grid point or its best neighbour.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "quant/superblock_rows.h"
#include "core/half.h"
#include "quant/iq1_blocks.h"
#include "quant/iq1_grids.h"
#include "quant/iq1_search.h"
#include "quant/iq_grid_search.h"
#include "quant/iq_grid_search_simd.h"
#include "quant/iquants.h"

// Reference and fast paths must round identically, and as ggml's C does: no implicit fused
// multiply-adds.
#pragma GCC optimize("fp-contract=off")

namespace qs {
namespace {

constexpr int kQK = 256;

inline float grid_value(uint64_t entry, int j) { return static_cast<float>(static_cast<int8_t>(entry >> (8 * j))); }

// ---------------------------------------------------------------------------------------------
// Dequantization (reference): the format definition, value by value.

void dequantize_iq1_s_block(const BlockIq1s &block, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const unsigned qh = block.qh[ib];
    const float dl = d * static_cast<float>(2 * ((qh >> 12) & 7) + 1);
    const float delta = qh & 0x8000 ? -kIq1sDelta : kIq1sDelta;
    for (int l = 0; l < 4; ++l) {
      const uint64_t entry = iq1s_grid[block.qs[4 * ib + l] | ((qh >> (3 * l)) & 7) << 8];
      for (int j = 0; j < 8; ++j) y[8 * l + j] = dl * (grid_value(entry, j) + delta);
    }
  }
}

// The IQ1_M block's f16 scale, from the top nibbles of its four scale words.
uint16_t iq1m_d_bits(const uint16_t *sc) {
  return static_cast<uint16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) | (sc[3] & 0xf000));
}

void dequantize_iq1_m_block(const BlockIq1m &block, float *y) {
  uint16_t sc[4];
  std::memcpy(sc, block.scales, sizeof(sc));
  const float d = f16_to_f32(iq1m_d_bits(sc));
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const float dl[2] = {d * static_cast<float>(2 * ((sc[ib / 2] >> (6 * (ib % 2))) & 7) + 1),
                         d * static_cast<float>(2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 7) + 1)};
    for (int l = 0; l < 4; ++l) {
      const unsigned qh = block.qh[2 * ib + l / 2] >> (4 * (l % 2));  // this group's nibble
      const uint64_t entry = iq1s_grid[block.qs[4 * ib + l] | (qh & 7) << 8];
      const float delta = qh & 8 ? -kIq1mDelta : kIq1mDelta;
      for (int j = 0; j < 8; ++j) y[8 * l + j] = dl[l / 2] * (grid_value(entry, j) + delta);
    }
  }
}

using superblock::dequantize_blocks;

#if defined(__AVX512F__)
// Two groups of 8 (grid entries e0, e1, deltas delta0, delta1) at scale dl: 16 floats, per value the
// reference's dl * (grid + delta).
inline void decode_two_groups(uint64_t e0, uint64_t e1, float delta0, float delta1, float dl, float *y) {
  const __m512 grid = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_set_epi64x(static_cast<long long>(e1),
                                                                              static_cast<long long>(e0))));
  const __m512 delta = _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(delta0), _mm512_set1_ps(delta1));
  _mm512_storeu_ps(y, _mm512_mul_ps(_mm512_set1_ps(dl), _mm512_add_ps(grid, delta)));
}

void dequantize_iq1_s_block_fast(const BlockIq1s &block, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const unsigned qh = block.qh[ib];
    const float dl = d * static_cast<float>(2 * ((qh >> 12) & 7) + 1);
    const float delta = qh & 0x8000 ? -kIq1sDelta : kIq1sDelta;
    const uint8_t *qs = block.qs + 4 * ib;
    decode_two_groups(iq1s_grid[qs[0] | (qh << 8 & 0x700)], iq1s_grid[qs[1] | (qh << 5 & 0x700)], delta, delta, dl, y);
    decode_two_groups(iq1s_grid[qs[2] | (qh << 2 & 0x700)], iq1s_grid[qs[3] | (qh >> 1 & 0x700)], delta, delta, dl,
                      y + 16);
  }
}

void dequantize_iq1_m_block_fast(const BlockIq1m &block, float *y) {
  uint16_t sc[4];
  std::memcpy(sc, block.scales, sizeof(sc));
  const float d = f16_to_f32(iq1m_d_bits(sc));
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const uint8_t *qs = block.qs + 4 * ib;
    for (int half = 0; half < 2; ++half) {
      const unsigned qh = block.qh[2 * ib + half];
      const float dl = d * static_cast<float>(2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3 * half)) & 7) + 1);
      decode_two_groups(iq1s_grid[qs[2 * half] | (qh << 8 & 0x700)], iq1s_grid[qs[2 * half + 1] | (qh << 4 & 0x700)],
                        qh & 0x08 ? -kIq1mDelta : kIq1mDelta, qh & 0x80 ? -kIq1mDelta : kIq1mDelta, dl,
                        y + 16 * half);
    }
  }
}
#endif

// ---------------------------------------------------------------------------------------------
// Quantization (ggml's algorithm; every float operation in ggml's order).

// The levels -1, 0, +1 shifted by +delta and by -delta.
struct ShiftedLevels {
  float plus[3];
  float minus[3];
  explicit ShiftedLevels(float delta) : plus{-1 + delta, delta, 1 + delta}, minus{-1 - delta, -delta, 1 - delta} {}
};

// Positions of x[0..n) in ascending order of value; equal values keep their order, as in ggml, whose
// qsort is glibc's merge sort, which is stable. An insertion sort: stable, and no allocation.
void sort_positions(const float *x, int n, int *order) {
  for (int j = 0; j < n; ++j) {
    int k = j;
    while (k > 0 && x[j] < x[order[k - 1]]) {
      order[k] = order[k - 1];
      --k;
    }
    order[k] = j;
  }
}

float max_abs(const float *x, int n) {
  float max = std::fabs(x[0]);
  for (int i = 1; i < n; ++i) max = std::max(max, std::fabs(x[i]));
  return max;
}

// Levels (0, 1, 2) of the values of a sub-block from a split of its sorted order.
void levels_from_split(const int *order, int n, const iq1::Split &split, int8_t *L) {
  for (int j = 0; j < n; ++j) L[order[j]] = static_cast<int8_t>(j < split.i1 ? 0 : j < split.i2 ? 1 : 2);
}

// Puts a group on the grid: its index if its levels are a grid point, else its best neighbour's
// (whose levels then replace L). Clears *all_on_grid in that case.
uint16_t grid_index(const iq::GridSearch &search, const iq1::Kernels &kernels, const float *x, const float *weight,
                    float scale, const float *level_value, int8_t *L, bool *all_on_grid) {
  const uint16_t key = iq::lattice_key(L);
  const int32_t index = search.map[key];
  if (index >= 0) return static_cast<uint16_t>(index);
  *all_on_grid = false;
  return static_cast<uint16_t>(kernels.best_neighbour(search, key, x, weight, scale, level_value, L));
}

int scale_code(float scale, float inverse_d) { return std::clamp(iq::nearest_int(0.5f * (inverse_d * scale - 1)), 0, 7); }

void quantize_iq1_s_row(const float *x, BlockIq1s *y, int64_t n, const float *importance,
                        const iq1::Kernels &kernels) {
  const iq::GridSearch &search = iq::iq1s_search();
  const ShiftedLevels levels(kIq1sDelta);
  for (int64_t ibl = 0; ibl < n / kQK; ++ibl) {
    const float *xbl = x + kQK * ibl;
    BlockIq1s block{};
    float sumx2 = 0;
    for (int i = 0; i < kQK; ++i) sumx2 += xbl[i] * xbl[i];
    const float sigma2 = 2 * sumx2 / kQK;

    float scales[8];
    bool minus_delta[8];
    float max_scale = 0;
    for (int ib = 0; ib < 8; ++ib) {
      const float *xb = xbl + 32 * ib;
      const float *qw = importance + kQK * ibl + 32 * ib;
      float weight[32];
      for (int i = 0; i < 32; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
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
      const iq1::Split split = kernels.iq1s_split(sum_wx, sum_w, 32, levels.plus, levels.minus, max);
      if (split.i1 < 0) continue;
      int8_t L[32];
      levels_from_split(order, 32, split, L);
      float scale = split.scale;
      bool minus = split.shift == 1;
      if (scale < 0) {
        for (auto &l : L) l = static_cast<int8_t>(2 - l);
        scale = -scale;
        minus = !minus;
      }
      const float *level_value = minus ? levels.minus : levels.plus;
      bool all_on_grid = true;
      uint16_t index[4];
      for (int k = 0; k < 4; ++k) {
        index[k] = grid_index(search, kernels, xb + 8 * k, weight + 8 * k, scale, level_value, L + 8 * k, &all_on_grid);
      }
      if (!all_on_grid) {
        float sumqx = 0, sumq2 = 0;
        for (int k = 0; k < 4; ++k) {
          for (int j = 0; j < 8; ++j) {
            const float w = weight[8 * k + j];
            const float q = level_value[search.levels[index[k]][j]];
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
      max_scale = std::max(max_scale, scale);
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
    y[ibl] = block;
  }
}

void quantize_iq1_m_row(const float *x, BlockIq1m *y, int64_t n, const float *importance,
                        const iq1::Kernels &kernels) {
  const iq::GridSearch &search = iq::iq1s_search();
  const ShiftedLevels levels(kIq1mDelta);
  // Level values of each half of a sub-block for shift k (bit 1: first half -delta, bit 0: second).
  auto half_levels = [&](int k, int half) {
    return (half == 0 ? k < 2 : k % 2 == 0) ? levels.plus : levels.minus;
  };
  constexpr uint8_t kDeltaSignBits[4] = {0x00, 0x80, 0x08, 0x88};
  for (int64_t ibl = 0; ibl < n / kQK; ++ibl) {
    const float *xbl = x + kQK * ibl;
    BlockIq1m block{};
    float sumx2 = 0;
    for (int i = 0; i < kQK; ++i) sumx2 += xbl[i] * xbl[i];
    const float sigma2 = 2 * sumx2 / kQK;
    // Without an imatrix ggml weighs by x^2.
    auto sub_block_weights = [&](int ib, float *weight) {
      const float *xb = xbl + 16 * ib;
      if (importance) {
        const float *qw = importance + kQK * ibl + 16 * ib;
        for (int i = 0; i < 16; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + xb[i] * xb[i]);
      } else {
        for (int i = 0; i < 16; ++i) weight[i] = xb[i] * xb[i];
      }
    };

    float scales[16];
    int shifts[16];
    float max_scale = 0;
    for (int ib = 0; ib < 16; ++ib) {
      const float *xb = xbl + 16 * ib;
      float weight[16];
      sub_block_weights(ib, weight);
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
      const iq1::Split split = kernels.iq1m_split(sorted_x, sorted_w, second_half, levels.plus, levels.minus, max);
      if (split.i1 < 0) continue;
      int8_t L[16];
      levels_from_split(order, 16, split, L);
      float scale = split.scale;
      int shift = split.shift;
      if (scale < 0) {
        for (auto &l : L) l = static_cast<int8_t>(2 - l);
        scale = -scale;
        shift = 3 - shift;  // both halves' delta signs flip
      }
      bool all_on_grid = true;
      uint16_t index[2];
      for (int k = 0; k < 2; ++k) {
        index[k] = grid_index(search, kernels, xb + 8 * k, weight + 8 * k, scale, half_levels(shift, k), L + 8 * k,
                              &all_on_grid);
      }
      if (!all_on_grid) {
        float sumqx = 0, sumq2 = 0;
        for (int k = 0; k < 2; ++k) {
          for (int j = 0; j < 8; ++j) {
            const float w = weight[8 * k + j];
            const float q = half_levels(shift, k)[search.levels[index[k]][j]];
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
      max_scale = std::max(max_scale, scale);
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
        block.qh[ib] |= kDeltaSignBits[shifts[ib]];
        const float *xb = xbl + 16 * ib;
        float weight[16];
        sub_block_weights(ib, weight);
        for (int k = 0; k < 2; ++k) {
          const int index = block.qs[2 * ib + k] | ((block.qh[ib] >> (4 * k)) & 7) << 8;
          for (int j = 0; j < 8; ++j) {
            const float w = weight[8 * k + j];
            const float q = half_levels(shifts[ib], k)[search.levels[index][j]] * static_cast<float>(2 * code + 1);
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
      std::memcpy(block.scales, sc, sizeof(sc));
    }
    y[ibl] = block;
  }
}

}  // namespace

void quantize_iq1_s_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq1s, iq1::Kernels, quantize_iq1_s_row>("IQ1_S", true, iq1::scalar_kernels(), src, dst,
                                                                         n_rows, n_per_row, importance);
}
void quantize_iq1_s(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq1s, iq1::Kernels, quantize_iq1_s_row>("IQ1_S", true, iq1::fast_kernels(), src, dst,
                                                                         n_rows, n_per_row, importance);
}
void quantize_iq1_m_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq1m, iq1::Kernels, quantize_iq1_m_row>("IQ1_M", false, iq1::scalar_kernels(), src, dst,
                                                                         n_rows, n_per_row, importance);
}
void quantize_iq1_m(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq1m, iq1::Kernels, quantize_iq1_m_row>("IQ1_M", false, iq1::fast_kernels(), src, dst,
                                                                         n_rows, n_per_row, importance);
}

void dequantize_iq1_s_ref(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq1s, dequantize_iq1_s_block>(src, dst, n);
}
void dequantize_iq1_m_ref(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq1m, dequantize_iq1_m_block>(src, dst, n);
}

#if defined(__AVX512F__)
void dequantize_iq1_s(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq1s, dequantize_iq1_s_block_fast>(src, dst, n);
}
void dequantize_iq1_m(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq1m, dequantize_iq1_m_block_fast>(src, dst, n);
}
#else
void dequantize_iq1_s(const void *src, float *dst, int64_t n) { dequantize_iq1_s_ref(src, dst, n); }
void dequantize_iq1_m(const void *src, float *dst, int64_t n) { dequantize_iq1_m_ref(src, dst, n); }
#endif

}  // namespace qs
