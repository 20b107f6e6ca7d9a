// The IQ2 block search (IQ2_XXS, IQ2_XS, IQ2_S) as a template over where a group's scores come
// from, so that the CPU (tables built by iq2_search.h's kernels, scalar or vector) and the GPU
// (gpu/quantize_kernels.cu: each entry's sums computed when needed, with entry_sums below, as the
// tables hold them) run this one code and give the same bits. Everything here is QS_HOST_DEVICE and
// free of the standard library.
//
// For a group of 8 values and a scale u (decoded value = u * grid byte * sign), the grid entry g
// minimising the weighted squared error
//   sum_j w_j (|x_j| - u v_gj)^2 = C - u (2 A'_g - u B_g),
//   A_g = sum_j w_j |x_j| v_gj,  B_g = sum_j w_j v_gj^2,
// where, for the types whose signs must have even parity (IQ2_XXS, IQ2_XS) and a group with an odd
// number of negatives, one element keeps the wrong sign: the cheapest one, costing
// 4 u min_j w_j |x_j| v_gj, so A'_g = A_g - 2 min_j w_j |x_j| v_gj (else A'_g = A_g). A and B do not
// depend on u: an exact, exhaustive search where ggml rounds to the lattice and checks a few
// neighbours.
//
// A Scorer serves one block, group slot k (0..3) being a group of the sub-block in hand:
//   prepare(k, pairs, odd_parity)  group slot k takes these pair shares (see entry_sums);
//   scan(k, u, n_u, best)          per scale u[t] the entry of least entry_score, the first on ties,
//                                  -1 if no score is below FLT_MAX (n_u <= kLadderSteps);
//   sums(k, g, a2, b)              entry g's 2 A'_g and B_g;
//   best_candidate(c, u, score)    best_candidate_ref's answer;
//   grid_entry(g)                  the grid's entry g.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>

#include "core/half.h"
#include "core/host_device.h"
#include "quant/iq2_blocks.h"
#include "quant/iq_grid_search.h"

namespace qs::iq2 {

constexpr int kValues = 256;
constexpr int kMaxGridSize = 1024;
constexpr int kLadderSteps = 12;

// The grid's three magnitudes (bytes 0x08, 0x19, 0x2b) by level.
QS_HOST_DEVICE inline float grid_value(int level) { return level == 0 ? 8.0f : level == 1 ? 25.0f : 43.0f; }

// x86's minps semantics, written out so every path picks the same operand.
QS_HOST_DEVICE inline float min_ps(float a, float b) { return a < b ? a : b; }
// std::max's: the first unless the second is larger (a NaN second is ignored).
QS_HOST_DEVICE inline float max_first(float a, float b) { return a < b ? b : a; }

// Per pair p (elements 2p, 2p + 1) and code c = 3 l0 + l1 of their levels (9 of 16 slots used): the
// pair's share of A, of B and of the parity flip cost, from a_j = w_j |x_j| and w_j.
struct PairTables {
  alignas(64) float a[4][16];
  alignas(64) float b[4][16];
  alignas(64) float flip[4][16];
};

QS_HOST_DEVICE inline PairTables make_pair_tables(const float *weight, const float *abs_x) {
  PairTables pairs{};
  for (int p = 0; p < 4; ++p) {
    const int j0 = 2 * p, j1 = 2 * p + 1;
    for (int l0 = 0; l0 < 3; ++l0) {
      for (int l1 = 0; l1 < 3; ++l1) {
        const int c = 3 * l0 + l1;
        const float a0 = weight[j0] * abs_x[j0] * grid_value(l0);
        const float a1 = weight[j1] * abs_x[j1] * grid_value(l1);
        pairs.a[p][c] = a0 + a1;
        pairs.b[p][c] = weight[j0] * (grid_value(l0) * grid_value(l0)) + weight[j1] * (grid_value(l1) * grid_value(l1));
        pairs.flip[p][c] = min_ps(a0, a1);
      }
    }
  }
  return pairs;
}

// One grid entry's 2 A' and B from its 4 pair codes: A = (a0 + a1) + (a2 + a3) over the pairs' shares
// (that order, which the vector build keeps), B likewise; with odd_parity, A -= 2 min over pairs
// of the flip shares.
QS_HOST_DEVICE inline void entry_sums(const PairTables &pairs, int c0, int c1, int c2, int c3, bool odd_parity, float &a2,
                                      float &b) {
  float a = (pairs.a[0][c0] + pairs.a[1][c1]) + (pairs.a[2][c2] + pairs.a[3][c3]);
  b = (pairs.b[0][c0] + pairs.b[1][c1]) + (pairs.b[2][c2] + pairs.b[3][c3]);
  if (odd_parity) {
    const float flip = min_ps(min_ps(pairs.flip[0][c0], pairs.flip[1][c1]), min_ps(pairs.flip[2][c2], pairs.flip[3][c3]));
    a = a - (flip + flip);
  }
  a2 = a + a;
}

// The score of an entry at scale u: u B - 2 A' (the error is C + u * score), one rounding.
QS_HOST_DEVICE inline float entry_score(float a2, float b, float u) { return fmaf(u, b, -a2); }

// Up to kMaxCandidates grid entries worth trying for a group (with their a2 and b), gathered while
// searching its sub-block's scale; the final choice at the quantized scale is made among them.
constexpr int kMaxCandidates = 16;  // one AVX-512 register of scores
struct Candidates {
  alignas(64) float a2[kMaxCandidates] = {};
  alignas(64) float b[kMaxCandidates] = {};
  uint16_t entry[kMaxCandidates] = {};
  int n = 0;
};

// The candidate with the smallest score at u, the first on ties (0 if none is below FLT_MAX); its
// score goes to *score (the group's error is C + u * score).
QS_HOST_DEVICE inline int best_candidate_ref(const Candidates &candidates, float u, float *score) {
  int winner = 0;
  float lowest = FLT_MAX;
  for (int i = 0; i < candidates.n; ++i) {
    const float s = entry_score(candidates.a2[i], candidates.b[i], u);
    if (s < lowest) {
      lowest = s;
      winner = i;
    }
  }
  *score = lowest;
  return winner;
}

template <class Scorer>
QS_HOST_DEVICE void add_candidate(Candidates &candidates, const Scorer &scorer, int k, int g) {
  for (int i = 0; i < candidates.n; ++i) {
    if (candidates.entry[i] == g) return;
  }
  if (candidates.n == kMaxCandidates) return;
  candidates.entry[candidates.n] = static_cast<uint16_t>(g);
  scorer.sums(k, g, candidates.a2[candidates.n], candidates.b[candidates.n]);
  ++candidates.n;
}

// Error at u of the sub-block's groups with entries[k], less the constant sum of w x^2: u times
// the sum of their scores.
template <class Scorer>
QS_HOST_DEVICE float entries_error(const Scorer &scorer, int n_groups, const int *entries, float u) {
  float sum = 0;
  for (int k = 0; k < n_groups; ++k) {
    float a2, b;
    scorer.sums(k, entries[k], a2, b);
    sum += entry_score(a2, b, u);
  }
  return u * sum;
}

// Finds a good scale u for a sub-block of n_groups groups of 8 (x, weights): scans the whole grid at
// a ladder of scales around amax / 43, then refits u to the chosen entries (closed form) if that
// helps. Fills each group's candidates; returns u (0 when the sub-block's weighted values are all 0).
template <class Scorer>
QS_HOST_DEVICE float fit_sub_block(Scorer &scorer, const float *x, const float *weight, int n_groups, bool even_parity,
                                   Candidates *candidates) {
  // Scales tried, as multiples of amax / 43 (the scale putting the largest |x| on the largest grid
  // value): 12 steps of 7.2^(1/11) from 0.25 to 1.8, reaching up past 43 / 25 (the largest |x| on the
  // middle value) and down far enough to let a lone outlier be clipped when that costs less than
  // coarsening every other value.
  const float ladder[kLadderSteps] = {0.25f,     0.299143f, 0.357947f, 0.42831f, 0.512504f, 0.613249f,
                                      0.733797f, 0.878042f, 1.050642f, 1.25717f, 1.504296f, 1.8f};
  float amax = 0;
  for (int k = 0; k < n_groups; ++k) {
    float abs_x[8];
    int n_negative = 0;
    for (int j = 0; j < 8; ++j) {
      abs_x[j] = fabsf(x[8 * k + j]);
      amax = max_first(amax, abs_x[j]);
      n_negative += x[8 * k + j] < 0;
    }
    scorer.prepare(k, make_pair_tables(weight + 8 * k, abs_x), even_parity && n_negative % 2);
    candidates[k].n = 0;
  }
  // All zero: any scale fits; the candidates only need the entry of least magnitude (smallest B).
  const float u0 = amax > 0 ? amax / 43 : 1.0f;

  float u[kLadderSteps];
  for (int t = 0; t < kLadderSteps; ++t) u[t] = u0 * ladder[t];
  int best[4][kLadderSteps];
  for (int k = 0; k < n_groups; ++k) {
    scorer.scan(k, u, kLadderSteps, best[k]);
    for (int t = 0; t < kLadderSteps; ++t) {
      best[k][t] = best[k][t] < 0 ? 0 : best[k][t];
      add_candidate(candidates[k], scorer, k, best[k][t]);
    }
  }
  int chosen[4] = {0, 0, 0, 0};  // stays 0 only if every error is NaN (non-finite input)
  float best_u = u[0], best_error = FLT_MAX;
  for (int t = 0; t < kLadderSteps; ++t) {
    int entries[4];
    for (int k = 0; k < n_groups; ++k) entries[k] = best[k][t];
    const float error = entries_error(scorer, n_groups, entries, u[t]);
    if (error < best_error) {
      best_error = error;
      best_u = u[t];
      for (int k = 0; k < n_groups; ++k) chosen[k] = entries[k];
    }
  }
  if (amax == 0) return 0.0f;
  // With the entries fixed the best scale is sum A' / sum B; rescan there (once: a second refit
  // hardly ever helps) and keep it if the error falls.
  float sum_a2 = 0, sum_b = 0;
  for (int k = 0; k < n_groups; ++k) {
    float a2, b;
    scorer.sums(k, chosen[k], a2, b);
    sum_a2 += a2;
    sum_b += b;
  }
  if (!(sum_a2 > 0 && sum_b > 0)) return best_u;
  const float refit = 0.5f * sum_a2 / sum_b;
  int entries[4];
  for (int k = 0; k < n_groups; ++k) {
    scorer.scan(k, &refit, 1, &entries[k]);
    entries[k] = entries[k] < 0 ? 0 : entries[k];
    add_candidate(candidates[k], scorer, k, entries[k]);
  }
  return entries_error(scorer, n_groups, entries, refit) < best_error ? refit : best_u;
}

// ---------------------------------------------------------------------------------------------
// The block: the format's scales are value = d (2 l + 1) / 8 * grid byte * sign, with d the block's
// f16 and l the 4-bit code of a sub-block (32 values for IQ2_XXS, 16 for IQ2_XS and IQ2_S). We
// minimise the weighted squared error sum w_i (x_i - y_i)^2: per sub-block a scale u = d (2 l + 1) / 8
// and its candidate grid entries (fit_sub_block), then d and the codes l jointly, then each group's
// entry.
//
// The weights: with an importance vector (imatrix), exactly those, so what is minimised is the
// imatrix-weighted error the imatrix estimates; ggml multiplies them by sqrt(mean x^2 + x^2), which
// lowers that error less (and on outlier columns leaves IQ2_XXS behind IQ1_M). Without one (IQ2_S
// only), ggml's 0.5 mean(x^2) + x^2, which favours the large values.

struct Layout {
  int sub_block_size;  // 32 or 16
  bool even_parity;    // 7 stored signs per group, the 8th implied (IQ2_XXS, IQ2_XS)
};

// Sum over a sub-block's groups of their best candidate's score at scale u, times u: its error
// less the constant sum of w x^2.
template <class Scorer>
QS_HOST_DEVICE float sub_block_error(const Scorer &scorer, const Candidates *candidates, int n_groups, float u) {
  float sum = 0;
  for (int k = 0; k < n_groups; ++k) {
    float score;
    scorer.best_candidate(candidates[k], u, &score);
    sum += score;
  }
  return u * sum;
}

// Signs of a group for grid entry `entry`: those of x, and with even parity, if the count of negatives
// is odd, the one element whose flip costs least (w |x| v) takes the wrong sign.
QS_HOST_DEVICE inline uint8_t group_signs(const float *x, const float *weight, uint64_t entry, bool even_parity) {
  uint8_t signs = 0;
  int n_negative = 0;
  for (int j = 0; j < 8; ++j) {
    signs |= static_cast<uint8_t>((x[j] < 0) << j);
    n_negative += x[j] < 0;
  }
  if (even_parity && n_negative % 2) {
    int cheapest = 0;
    float lowest = FLT_MAX;
    for (int j = 0; j < 8; ++j) {
      const float cost = weight[j] * fabsf(x[j]) * static_cast<float>(grid_byte(entry, j));
      if (cost < lowest) {
        lowest = cost;
        cheapest = j;
      }
    }
    signs ^= static_cast<uint8_t>(1u << cheapest);
  }
  return signs;
}

template <class Scorer>
QS_HOST_DEVICE void choose_block(const float *x, const float *weight, Layout layout, Scorer &scorer,
                                 Iq2BlockCode &code) {
  // d candidates, as multiples of the d that gives the largest sub-block scale code 15 (tried first,
  // so it wins ties). Going well below lets an outlier sub-block's scale be clipped at code 15 when
  // that buys every other sub-block a finer scale.
  const float d_factors[12] = {1.0f, 1.1f, 0.95f, 0.9f, 0.85f, 0.8f, 0.75f, 0.7f, 0.65f, 0.6f, 0.5f, 0.4f};
  const int n_sub = kValues / layout.sub_block_size;
  const int group_count = layout.sub_block_size / 8;
  Candidates candidates[32]{};
  float u_star[16];
  float u_max = 0;
  for (int ib = 0; ib < n_sub; ++ib) {
    const int first = layout.sub_block_size * ib;
    u_star[ib] = fit_sub_block(scorer, x + first, weight + first, group_count, layout.even_parity,
                               candidates + group_count * ib);
    u_max = max_first(u_max, u_star[ib]);
  }
  code = Iq2BlockCode{};
  if (!(u_max > 0)) return;  // nothing to encode: d = 0 decodes to zeros

  float best_total = FLT_MAX;
  for (const float factor : d_factors) {
    const float d_wanted = u_max * 8 / 31 * factor;
    const uint16_t d_bits = f32_to_f16(65504.0f < d_wanted ? 65504.0f : d_wanted);
    const float unit = f16_to_f32(d_bits) / 8;  // u = unit * (2 l + 1)
    if (!(unit > 0)) continue;
    float total = 0;
    uint8_t codes[16];
    for (int ib = 0; ib < n_sub; ++ib) {
      const float ideal = 0.5f * (u_star[ib] / unit - 1);
      const int rounded = iq::nearest_int(ideal);
      const int nearest = ideal <= 0 ? 0 : ideal >= 15 ? 15 : rounded < 0 ? 0 : rounded > 15 ? 15 : rounded;
      float best_error = FLT_MAX;
      codes[ib] = static_cast<uint8_t>(nearest);
      const int first = nearest - 1 < 0 ? 0 : nearest - 1, last = nearest + 1 > 15 ? 15 : nearest + 1;
      for (int l = first; l <= last; ++l) {
        const float error = sub_block_error(scorer, candidates + group_count * ib, group_count,
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
      code.d_bits = d_bits;
      for (int ib = 0; ib < n_sub; ++ib) code.scale_code[ib] = codes[ib];
    }
  }
  const float unit = f16_to_f32(code.d_bits) / 8;
  for (int ib = 0; ib < n_sub; ++ib) {
    const float u = unit * static_cast<float>(2 * code.scale_code[ib] + 1);
    for (int k = 0; k < group_count; ++k) {
      const int group = group_count * ib + k;
      float score;
      const Candidates &c = candidates[group];
      code.entry[group] = c.entry[scorer.best_candidate(c, u, &score)];
      code.signs[group] = group_signs(x + 8 * group, weight + 8 * group, scorer.grid_entry(code.entry[group]),
                                      layout.even_parity);
    }
  }
}

// The weights of one block (see the comment above); importance: its 256 weights, or null.
QS_HOST_DEVICE inline void block_weights(const float *x, const float *importance, float *weight) {
  if (importance) {
    for (int i = 0; i < kValues; ++i) weight[i] = importance[i];
    return;
  }
  float sumx2 = 0;
  for (int i = 0; i < kValues; ++i) sumx2 += x[i] * x[i];
  const float sigma2 = 2 * sumx2 / kValues;
  for (int i = 0; i < kValues; ++i) weight[i] = 0.25f * sigma2 + x[i] * x[i];
}

// One block of 256 values, searched with `scorer` (whose grid is the layout's type's).
template <class Scorer>
QS_HOST_DEVICE void search_block(const float *x, const float *importance, Layout layout, Scorer &scorer,
                                 Iq2BlockCode &code) {
  float weight[kValues];
  block_weights(x, importance, weight);
  choose_block(x, weight, layout, scorer, code);
}

// Each type's block: its layout, the search (scorer over the type's grid) and the packing.
template <class Scorer>
QS_HOST_DEVICE void encode_xxs_block(const float *x, const float *importance, Scorer &scorer, BlockIq2xxs &block) {
  Iq2BlockCode code;
  search_block(x, importance, Layout{32, true}, scorer, code);
  pack_iq2_xxs(code, block);
}
template <class Scorer>
QS_HOST_DEVICE void encode_xs_block(const float *x, const float *importance, Scorer &scorer, BlockIq2xs &block) {
  Iq2BlockCode code;
  search_block(x, importance, Layout{16, true}, scorer, code);
  pack_iq2_xs(code, block);
}
template <class Scorer>
QS_HOST_DEVICE void encode_s_block(const float *x, const float *importance, Scorer &scorer, BlockIq2s &block) {
  Iq2BlockCode code;
  search_block(x, importance, Layout{16, false}, scorer, code);
  pack_iq2_s(code, block);
}

}  // namespace qs::iq2
