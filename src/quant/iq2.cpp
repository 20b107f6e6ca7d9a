// IQ2_XXS, IQ2_XS and IQ2_S: groups of 8 magnitudes drawn from a grid of lattice points (iq2_grids.h),
// with signs and 4-bit sub-block scales. Dequantization is the format definition; quantization an
// exhaustive search of the grid (iq2_search.h) with a joint choice of the block and sub-block scales.
#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "quant/superblock_rows.h"
#include "core/half.h"
#include "quant/iq2_blocks.h"
#include "quant/iq2_grids.h"
#include "quant/iq2_search.h"
#include "quant/iq_grid_search.h"
#include "quant/iq_grid_search_simd.h"
#include "quant/iquant_signs.h"
#include "quant/iquants.h"

// Reference and fast paths must round identically: no implicit fused multiply-adds.
#pragma GCC optimize("fp-contract=off")

namespace qs {
namespace {

constexpr int kQK = 256;

uint8_t grid_byte(uint64_t entry, int j) { return static_cast<uint8_t>(entry >> (8 * j)); }

// ---------------------------------------------------------------------------------------------
// Dequantization (reference): the format definition, value by value.

void dequantize_iq2_xxs_block(const BlockIq2xxs &block, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib) {
    const uint32_t indices = block.qs[4 * ib] | static_cast<uint32_t>(block.qs[4 * ib + 1]) << 16;
    const uint32_t signs_and_scale = block.qs[4 * ib + 2] | static_cast<uint32_t>(block.qs[4 * ib + 3]) << 16;
    const float db = d * (0.5f + static_cast<float>(signs_and_scale >> 28)) * 0.25f;
    for (int l = 0; l < 4; ++l) {
      const uint64_t entry = iq2xxs_grid[(indices >> (8 * l)) & 0xff];
      const uint8_t signs = kSignsIq2xs[(signs_and_scale >> (7 * l)) & 127];
      for (int j = 0; j < 8; ++j) {
        const float v = db * static_cast<float>(grid_byte(entry, j));
        y[8 * l + j] = (signs & kMaskIq2xs[j]) ? -v : v;
      }
    }
    y += 32;
  }
}

void dequantize_iq2_xs_block(const BlockIq2xs &block, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib) {
    const float db[2] = {d * (0.5f + static_cast<float>(block.scales[ib] & 0xf)) * 0.25f,
                         d * (0.5f + static_cast<float>(block.scales[ib] >> 4)) * 0.25f};
    for (int l = 0; l < 4; ++l) {
      const uint16_t q = block.qs[4 * ib + l];
      const uint64_t entry = iq2xs_grid[q & 511];
      const uint8_t signs = kSignsIq2xs[q >> 9];
      for (int j = 0; j < 8; ++j) {
        const float v = db[l / 2] * static_cast<float>(grid_byte(entry, j));
        y[8 * l + j] = (signs & kMaskIq2xs[j]) ? -v : v;
      }
    }
    y += 32;
  }
}

void dequantize_iq2_s_block(const BlockIq2s &block, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib) {
    const float db[2] = {d * (0.5f + static_cast<float>(block.scales[ib] & 0xf)) * 0.25f,
                         d * (0.5f + static_cast<float>(block.scales[ib] >> 4)) * 0.25f};
    for (int l = 0; l < 4; ++l) {
      const int group = 4 * ib + l;
      const int index = block.qs[group] | (((block.qh[ib] >> (2 * l)) & 3) << 8);
      const uint64_t entry = iq2s_grid[index];
      const uint8_t signs = block.qs[32 + group];
      for (int j = 0; j < 8; ++j) {
        const float v = db[l / 2] * static_cast<float>(grid_byte(entry, j));
        y[8 * l + j] = (signs & kMaskIq2xs[j]) ? -v : v;
      }
    }
    y += 32;
  }
}

using superblock::dequantize_blocks;

// ---------------------------------------------------------------------------------------------
// Quantization. The format's scales: value = d (2 l + 1) / 8 * grid byte * sign, with d the block's f16
// and l the 4-bit code of a sub-block (32 values for IQ2_XXS, 16 for IQ2_XS and IQ2_S). We minimise the
// weighted squared error sum w_i (x_i - y_i)^2: per sub-block a scale u = d (2 l + 1) / 8 and its
// candidate grid entries (iq2_search.h), then d and the codes l jointly, then each group's entry.
//
// The weights: with an importance vector (imatrix), exactly those, so what is minimised is the
// imatrix-weighted error the imatrix estimates; ggml multiplies them by sqrt(mean x^2 + x^2), which
// lowers that error less (and on outlier columns leaves IQ2_XXS behind IQ1_M). Without one (IQ2_S
// only), ggml's 0.5 mean(x^2) + x^2, which favours the large values.

struct Iq2Layout {
  const iq2::PairCodedGrid &grid;
  const uint64_t *grid_values;
  int sub_block_size;  // 32 or 16
  bool even_parity;    // 7 stored signs per group, the 8th implied (IQ2_XXS, IQ2_XS)
};

struct SuperBlockChoice {
  uint16_t d_bits = 0;
  uint8_t scale_code[16] = {};
  uint16_t entry[32] = {};
  uint8_t signs[32] = {};  // bit j set: value j negative
};

// d candidates, as multiples of the d that gives the largest sub-block scale code 15 (tried first, so
// it wins ties). Going well below lets an outlier sub-block's scale be clipped at code 15 when that
// buys every other sub-block a finer scale.
constexpr float kDFactors[12] = {1.0f, 1.1f, 0.95f, 0.9f, 0.85f, 0.8f, 0.75f, 0.7f, 0.65f, 0.6f, 0.5f, 0.4f};

// Sum over a sub-block's groups of their best candidate's score at scale u, times u: its error
// less the constant sum of w x^2.
float sub_block_error(const iq2::Kernels &kernels, const iq2::Candidates *candidates, int n_groups, float u) {
  float sum = 0;
  for (int k = 0; k < n_groups; ++k) {
    float score;
    kernels.best_candidate(candidates[k], u, &score);
    sum += score;
  }
  return u * sum;
}

// Signs of a group for grid entry `entry`: those of x, and with even parity, if the count of negatives
// is odd, the one element whose flip costs least (w |x| v) takes the wrong sign.
uint8_t group_signs(const float *x, const float *weight, uint64_t entry, bool even_parity) {
  uint8_t signs = 0;
  for (int j = 0; j < 8; ++j) signs |= static_cast<uint8_t>((x[j] < 0) << j);
  if (even_parity && std::popcount(static_cast<unsigned>(signs)) % 2) {
    int cheapest = 0;
    float lowest = FLT_MAX;
    for (int j = 0; j < 8; ++j) {
      const float cost = weight[j] * std::fabs(x[j]) * static_cast<float>(grid_byte(entry, j));
      if (cost < lowest) {
        lowest = cost;
        cheapest = j;
      }
    }
    signs ^= static_cast<uint8_t>(1u << cheapest);
  }
  return signs;
}

void choose_super_block(const float *x, const float *weight, const Iq2Layout &layout, const iq2::Kernels &kernels,
                        SuperBlockChoice &choice) {
  const int n_sub = kQK / layout.sub_block_size;
  const int group_count = layout.sub_block_size / 8;
  iq2::Candidates candidates[32]{};
  float u_star[16];
  float u_max = 0;
  for (int ib = 0; ib < n_sub; ++ib) {
    const int first = layout.sub_block_size * ib;
    u_star[ib] = iq2::fit_sub_block(layout.grid, kernels, x + first, weight + first, group_count,
                                    layout.even_parity, candidates + group_count * ib);
    u_max = std::max(u_max, u_star[ib]);
  }
  choice = SuperBlockChoice{};
  if (!(u_max > 0)) return;  // nothing to encode: d = 0 decodes to zeros

  float best_total = FLT_MAX;
  for (const float factor : kDFactors) {
    const uint16_t d_bits = f32_to_f16(std::min(u_max * 8 / 31 * factor, 65504.0f));
    const float unit = f16_to_f32(d_bits) / 8;  // u = unit * (2 l + 1)
    if (!(unit > 0)) continue;
    float total = 0;
    uint8_t codes[16];
    for (int ib = 0; ib < n_sub; ++ib) {
      const float ideal = 0.5f * (u_star[ib] / unit - 1);
      const int nearest = ideal <= 0 ? 0 : ideal >= 15 ? 15 : std::clamp(iq::nearest_int(ideal), 0, 15);
      float best_error = FLT_MAX;
      codes[ib] = static_cast<uint8_t>(nearest);
      for (int l = std::max(0, nearest - 1); l <= std::min(15, nearest + 1); ++l) {
        const float error = sub_block_error(kernels, candidates + group_count * ib, group_count,
                                            unit * static_cast<float>(2 * l + 1));
        if (error < best_error) {
          best_error = error;
          codes[ib] = static_cast<uint8_t>(l);
        }
      }
      total += best_error;
    }
    if (total < best_total) {
      best_total = total;
      choice.d_bits = d_bits;
      std::copy(codes, codes + n_sub, choice.scale_code);
    }
  }
  const float unit = f16_to_f32(choice.d_bits) / 8;
  for (int ib = 0; ib < n_sub; ++ib) {
    const float u = unit * static_cast<float>(2 * choice.scale_code[ib] + 1);
    for (int k = 0; k < group_count; ++k) {
      const int group = group_count * ib + k;
      float score;
      const iq2::Candidates &c = candidates[group];
      choice.entry[group] = c.entry[kernels.best_candidate(c, u, &score)];
      choice.signs[group] = group_signs(x + 8 * group, weight + 8 * group, layout.grid_values[choice.entry[group]],
                                        layout.even_parity);
    }
  }
}

// The weights of one super-block (see the comment above).
void super_block_weights(const float *x, const float *importance, float *weight) {
  if (importance) {
    std::copy(importance, importance + kQK, weight);
    return;
  }
  float sumx2 = 0;
  for (int i = 0; i < kQK; ++i) sumx2 += x[i] * x[i];
  const float sigma2 = 2 * sumx2 / kQK;
  for (int i = 0; i < kQK; ++i) weight[i] = 0.25f * sigma2 + x[i] * x[i];
}

void quantize_iq2_xxs_row(const float *x, BlockIq2xxs *y, int64_t n, const float *importance,
                          const iq2::Kernels &kernels) {
  const Iq2Layout layout{iq2::iq2xxs_pairs(), iq2xxs_grid.data(), 32, true};
  for (int64_t ibl = 0; ibl < n / kQK; ++ibl) {
    float weight[kQK];
    super_block_weights(x + kQK * ibl, importance + kQK * ibl, weight);
    SuperBlockChoice choice;
    choose_super_block(x + kQK * ibl, weight, layout, kernels, choice);
    BlockIq2xxs &block = y[ibl];
    block.d = choice.d_bits;
    for (int ib = 0; ib < 8; ++ib) {
      uint32_t indices = 0, signs_and_scale = static_cast<uint32_t>(choice.scale_code[ib]) << 28;
      for (int k = 0; k < 4; ++k) {
        indices |= static_cast<uint32_t>(choice.entry[4 * ib + k]) << (8 * k);
        signs_and_scale |= static_cast<uint32_t>(choice.signs[4 * ib + k] & 127) << (7 * k);
      }
      block.qs[4 * ib] = static_cast<uint16_t>(indices);
      block.qs[4 * ib + 1] = static_cast<uint16_t>(indices >> 16);
      block.qs[4 * ib + 2] = static_cast<uint16_t>(signs_and_scale);
      block.qs[4 * ib + 3] = static_cast<uint16_t>(signs_and_scale >> 16);
    }
  }
}

// IQ2_XS and IQ2_S: sub-blocks of 16, scales packed two per byte (low nibble first).
void quantize_iq2_xs_row(const float *x, BlockIq2xs *y, int64_t n, const float *importance,
                         const iq2::Kernels &kernels) {
  const Iq2Layout layout{iq2::iq2xs_pairs(), iq2xs_grid.data(), 16, true};
  for (int64_t ibl = 0; ibl < n / kQK; ++ibl) {
    float weight[kQK];
    super_block_weights(x + kQK * ibl, importance + kQK * ibl, weight);
    SuperBlockChoice choice;
    choose_super_block(x + kQK * ibl, weight, layout, kernels, choice);
    BlockIq2xs &block = y[ibl];
    block.d = choice.d_bits;
    for (int g = 0; g < 32; ++g) block.qs[g] = static_cast<uint16_t>(choice.entry[g] | (choice.signs[g] & 127) << 9);
    for (int i = 0; i < 8; ++i) {
      block.scales[i] = static_cast<uint8_t>(choice.scale_code[2 * i] | choice.scale_code[2 * i + 1] << 4);
    }
  }
}

void quantize_iq2_s_row(const float *x, BlockIq2s *y, int64_t n, const float *importance,
                        const iq2::Kernels &kernels) {
  const Iq2Layout layout{iq2::iq2s_pairs(), iq2s_grid.data(), 16, false};
  for (int64_t ibl = 0; ibl < n / kQK; ++ibl) {
    float weight[kQK];
    super_block_weights(x + kQK * ibl, importance ? importance + kQK * ibl : nullptr, weight);
    SuperBlockChoice choice;
    choose_super_block(x + kQK * ibl, weight, layout, kernels, choice);
    BlockIq2s block{};
    block.d = choice.d_bits;
    for (int g = 0; g < 32; ++g) {
      block.qs[g] = static_cast<uint8_t>(choice.entry[g] & 255);
      block.qh[g / 4] |= static_cast<uint8_t>((choice.entry[g] >> 8) << (2 * (g % 4)));
      block.qs[32 + g] = choice.signs[g];
    }
    for (int i = 0; i < 8; ++i) {
      block.scales[i] = static_cast<uint8_t>(choice.scale_code[2 * i] | choice.scale_code[2 * i + 1] << 4);
    }
    y[ibl] = block;
  }
}

}  // namespace

void quantize_iq2_xxs_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq2xxs, iq2::Kernels, quantize_iq2_xxs_row>("IQ2_XXS", true, iq2::scalar_kernels(), src, dst,
                                                                             n_rows, n_per_row, importance);
}
void quantize_iq2_xxs(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq2xxs, iq2::Kernels, quantize_iq2_xxs_row>("IQ2_XXS", true, iq2::fast_kernels(), src, dst,
                                                                             n_rows, n_per_row, importance);
}
void quantize_iq2_xs_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq2xs, iq2::Kernels, quantize_iq2_xs_row>("IQ2_XS", true, iq2::scalar_kernels(), src, dst,
                                                                           n_rows, n_per_row, importance);
}
void quantize_iq2_xs(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq2xs, iq2::Kernels, quantize_iq2_xs_row>("IQ2_XS", true, iq2::fast_kernels(), src, dst,
                                                                           n_rows, n_per_row, importance);
}
void quantize_iq2_s_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq2s, iq2::Kernels, quantize_iq2_s_row>("IQ2_S", false, iq2::scalar_kernels(), src, dst,
                                                                         n_rows, n_per_row, importance);
}
void quantize_iq2_s(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq2s, iq2::Kernels, quantize_iq2_s_row>("IQ2_S", false, iq2::fast_kernels(), src, dst,
                                                                         n_rows, n_per_row, importance);
}

void dequantize_iq2_xxs_ref(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq2xxs, dequantize_iq2_xxs_block>(src, dst, n);
}
void dequantize_iq2_xs_ref(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq2xs, dequantize_iq2_xs_block>(src, dst, n);
}
void dequantize_iq2_s_ref(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq2s, dequantize_iq2_s_block>(src, dst, n);
}

#if defined(__AVX512F__)
namespace {

// Two groups of 8 (grid entries e0, e1 with sign bytes s0, s1) at sub-block scale db: 16 floats.
// Per value the reference's db * grid, then a sign flip (an xor, as the reference's negation is).
inline void decode_two_groups(uint64_t e0, uint64_t e1, unsigned s0, unsigned s1, float db, float *y) {
  const __m128i bytes = _mm_set_epi64x(static_cast<long long>(e1), static_cast<long long>(e0));
  const __m512 grid = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes));
  const __m512i v = _mm512_castps_si512(_mm512_mul_ps(_mm512_set1_ps(db), grid));
  const auto negative = static_cast<__mmask16>(s0 | s1 << 8);
  _mm512_storeu_ps(y, _mm512_castsi512_ps(_mm512_mask_xor_epi32(v, negative, v, _mm512_set1_epi32(INT32_MIN))));
}

void dequantize_iq2_xxs_block_fast(const BlockIq2xxs &block, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const uint32_t indices = block.qs[4 * ib] | static_cast<uint32_t>(block.qs[4 * ib + 1]) << 16;
    const uint32_t signs_and_scale = block.qs[4 * ib + 2] | static_cast<uint32_t>(block.qs[4 * ib + 3]) << 16;
    const float db = d * (0.5f + static_cast<float>(signs_and_scale >> 28)) * 0.25f;
    for (int l = 0; l < 4; l += 2) {
      decode_two_groups(iq2xxs_grid[(indices >> (8 * l)) & 0xff], iq2xxs_grid[(indices >> (8 * l + 8)) & 0xff],
                        kSignsIq2xs[(signs_and_scale >> (7 * l)) & 127],
                        kSignsIq2xs[(signs_and_scale >> (7 * l + 7)) & 127], db, y + 8 * l);
    }
  }
}

void dequantize_iq2_xs_block_fast(const BlockIq2xs &block, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const uint16_t *q = block.qs + 4 * ib;
    const float db0 = d * (0.5f + static_cast<float>(block.scales[ib] & 0xf)) * 0.25f;
    const float db1 = d * (0.5f + static_cast<float>(block.scales[ib] >> 4)) * 0.25f;
    decode_two_groups(iq2xs_grid[q[0] & 511], iq2xs_grid[q[1] & 511], kSignsIq2xs[q[0] >> 9],
                      kSignsIq2xs[q[1] >> 9], db0, y);
    decode_two_groups(iq2xs_grid[q[2] & 511], iq2xs_grid[q[3] & 511], kSignsIq2xs[q[2] >> 9],
                      kSignsIq2xs[q[3] >> 9], db1, y + 16);
  }
}

void dequantize_iq2_s_block_fast(const BlockIq2s &block, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const uint8_t *qs = block.qs + 4 * ib;
    const uint8_t *signs = block.qs + 32 + 4 * ib;
    const unsigned qh = block.qh[ib];
    const float db0 = d * (0.5f + static_cast<float>(block.scales[ib] & 0xf)) * 0.25f;
    const float db1 = d * (0.5f + static_cast<float>(block.scales[ib] >> 4)) * 0.25f;
    decode_two_groups(iq2s_grid[qs[0] | (qh << 8 & 0x300)], iq2s_grid[qs[1] | (qh << 6 & 0x300)], signs[0], signs[1],
                      db0, y);
    decode_two_groups(iq2s_grid[qs[2] | (qh << 4 & 0x300)], iq2s_grid[qs[3] | (qh << 2 & 0x300)], signs[2], signs[3],
                      db1, y + 16);
  }
}

}  // namespace

void dequantize_iq2_xxs(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq2xxs, dequantize_iq2_xxs_block_fast>(src, dst, n);
}
void dequantize_iq2_xs(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq2xs, dequantize_iq2_xs_block_fast>(src, dst, n);
}
void dequantize_iq2_s(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq2s, dequantize_iq2_s_block_fast>(src, dst, n);
}
#else
void dequantize_iq2_xxs(const void *src, float *dst, int64_t n) { dequantize_iq2_xxs_ref(src, dst, n); }
void dequantize_iq2_xs(const void *src, float *dst, int64_t n) { dequantize_iq2_xs_ref(src, dst, n); }
void dequantize_iq2_s(const void *src, float *dst, int64_t n) { dequantize_iq2_s_ref(src, dst, n); }
#endif

}  // namespace qs
