// The IQ3 block search (see iq3_search.h). ggml (quantize_row_iq3_xxs_impl / _s_impl) rounds each
// group of 4 onto the lattice and, where the rounded point is off the grid, picks among a short list
// of neighbours, then fits the sub-block scale; the 4-bit sub-block scales and the f16 block scale
// are rounded at the end without another look at the grid points. Here every group is matched
// against the whole grid at every step tried (cheap through the tables of iq3_kernels.h), and the
// scales are chosen by the error as decoded:
//  1. per sub-block of 32, ggml's sweep of steps around "largest magnitude to the top of the grid",
//     each with the best grid point per group and a least-squares refit of the step;
//  2. per block, a few f16 block scales d; for each, every sub-block tries the 4-bit scale nearest to
//     its fitted step (IQ3_XXS: and the two next to it), with the best grid points at the step as
//     decoded (IQ3_XXS's top magnitude 62, not 60, included); the d with the smallest total error
//     wins, and (IQ3_S) each sub-block then tries the two scales next to its nearest one.
// Signs are ggml's: each value's own, and for IQ3_XXS's even parity the least important value of an
// odd group of 8 is flipped.
#include "quant/iq3_search.h"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/half.h"
#include "quant/iq3_kernels.h"
#include "quant/iq3_grids.h"

namespace qs {
namespace {

constexpr int kSuperBlock = 256;
constexpr int kSubBlock = 32;
constexpr int kSubBlocks = kSuperBlock / kSubBlock;
constexpr int kGroups = kSubBlock / 4;  // groups of 4 values per sub-block

// Round to nearest, ties to even, for |x| < 2^22.
inline int nearest_int(float x) {
  const float shifted = x + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

inline int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

// What differs between the two types.
struct Params {
  Iq3GridColumns grid;
  bool even_signs;  // IQ3_XXS: 7 stored sign bits per 8 values, the 8th by parity
  // Lattice units per stored magnitude unit: IQ3_XXS stores 4 (2l + 1), IQ3_S 2l + 1; either way a
  // sub-block's step in lattice units is d * (2 * scale + 1).
  float unit;
  float negligible;      // a sub-block whose largest magnitude is below this has nothing to fit
  int sweep_tries;       // stage 1 tries 2 * sweep_tries + 1 steps
  int scale_candidates;  // stage 2 tries this many block scales
  int first_tries;       // 4-bit scales tried per block scale: 3 (nearest, -1, +1) or 1 (see phase B)
};

// A grid's magnitudes and their squares laid out by value (Iq3GridColumns).
struct Columns {
  std::vector<float> m[4], m2[4];
  Iq3GridColumns grid{};
  template <size_t N>
  explicit Columns(const std::array<uint32_t, N> &entries) {
    for (int k = 0; k < 4; ++k) {
      for (const uint32_t entry : entries) {
        const float magnitude = static_cast<float>((entry >> (8 * k)) & 0xff);
        m[k].push_back(magnitude);
        m2[k].push_back(magnitude * magnitude);
      }
      grid.m[k] = m[k].data();
      grid.m2[k] = m2[k].data();
    }
    grid.n_points = static_cast<int>(N);
  }
};

// Built on first use; function-local statics are thread-safe by the language's rules.
Params params_for(Iq3Kind kind) {
  if (kind == Iq3Kind::Xxs) {
    static const Columns columns(kIq3xxsGrid);
    return {columns.grid, true, 4.0f, 1e-8f, 7, 6, 3};
  }
  // ggml's IQ3_S skips a sub-block only when its largest magnitude is exactly 0.
  static const Columns columns(kIq3sGrid);
  // IQ3_S searches a grid twice the size: fewer tries keep it faster than ggml's.
  return {columns.grid, false, 1.0f, std::numeric_limits<float>::denorm_min(), 4, 5, 1};
}

struct Kernels {
  void (*group_table)(const Iq3GridColumns &, const float *, const float *, float *, float *);
  void (*select)(const float *, const float *, int, const float *, int, Iq3Selection *);
};

Kernels kernels(bool fast) {
#if defined(__AVX512F__) && defined(__FMA__)
  if (fast) return {iq3_group_table_avx512, iq3_select_avx512};
#elif defined(__AVX2__) && defined(__FMA__)
  if (fast) return {iq3_group_table_avx2, iq3_select_avx2};
#endif
  (void)fast;
  return {iq3_group_table_ref, iq3_select_ref};
}

// One sub-block: magnitudes (negative where an IQ3_XXS parity flip gave a value the other sign),
// weights, stored signs, and per group the tables of iq3_kernels.h.
struct SubBlock {
  float a[kSubBlock];
  float weight[kSubBlock];
  uint8_t signs[4];
  float *neg2p[kGroups];
  float *q[kGroups];
};

// Magnitudes and signs. With even signs, an odd count of negatives in a group of 8 is fixed as
// ggml does: the value with the smallest weight * x^2 is encoded with the wrong sign.
void prepare_signs(bool even_signs, const float *xb, SubBlock &sb) {
  for (int g = 0; g < 4; ++g) {
    int n_negative = 0;
    uint8_t s = 0;
    for (int i = 0; i < 8; ++i) {
      const float v = xb[8 * g + i];
      sb.a[8 * g + i] = std::fabs(v);
      if (v < 0) {
        ++n_negative;
        s |= static_cast<uint8_t>(1u << i);
      }
    }
    if (even_signs && n_negative % 2) {
      int imin = 0;
      float min = sb.weight[8 * g] * xb[8 * g] * xb[8 * g];
      for (int i = 1; i < 8; ++i) {
        const float ax = sb.weight[8 * g + i] * xb[8 * g + i] * xb[8 * g + i];
        if (ax < min) {
          min = ax;
          imin = i;
        }
      }
      sb.a[8 * g + imin] = -sb.a[8 * g + imin];
      s ^= static_cast<uint8_t>(1u << imin);
    }
    sb.signs[g] = even_signs ? static_cast<uint8_t>(s & 127) : s;
  }
}

// The best grid point of every group at one step, with the sums the scale fit needs.
struct SubBlockChoice {
  float score_sum = 0;         // the sub-block's error less sum w a^2, divided by the step
  float p_sum = 0, q_sum = 0;  // sums of P and Q of the chosen points
  uint16_t index[kGroups];
};

constexpr int kMaxSteps = 18;
constexpr int kMaxScaleCandidates = 6;

// Best points of every group for each of n_steps steps (one pass over each group's table).
void choose_points(const Kernels &k, const Params &p, const SubBlock &sb, const float *steps, int n_steps,
                   SubBlockChoice *choices) {
  Iq3Selection sel[kGroups][kMaxSteps];
  for (int g = 0; g < kGroups; ++g) k.select(sb.neg2p[g], sb.q[g], p.grid.n_points, steps, n_steps, sel[g]);
  for (int t = 0; t < n_steps; ++t) {
    SubBlockChoice &c = choices[t];
    c = SubBlockChoice{};
    for (int g = 0; g < kGroups; ++g) {
      const Iq3Selection &chosen = sel[g][t];
      c.index[g] = static_cast<uint16_t>(chosen.index);
      c.score_sum += chosen.score;
      c.p_sum += -0.5f * sb.neg2p[g][chosen.index];
      c.q_sum += sb.q[g][chosen.index];
    }
  }
}

// Stage 1: the sub-block's best step in stored-magnitude units (0 if there is nothing to fit).
// The sweep maps the largest magnitude to lattice value 15 + 0.2 t, t = -tries..tries (ggml's
// sweep); each step gets the best grid points and, with those fixed, the least-squares step P/Q,
// which lowers the error by P^2/Q: the largest P^2/Q wins.
float fit_sub_block_step(const Kernels &k, const Params &p, const SubBlock &sb) {
  float max = sb.a[0];
  for (int i = 1; i < kSubBlock; ++i) max = sb.a[i] > max ? sb.a[i] : max;
  if (max < p.negligible) return 0.0f;
  float steps[kMaxSteps];
  const int n_steps = 2 * p.sweep_tries + 1;
  for (int t = -p.sweep_tries; t <= p.sweep_tries; ++t) {
    steps[t + p.sweep_tries] = max / ((15.0f + 0.2f * static_cast<float>(t)) * p.unit);
  }
  SubBlockChoice choices[kMaxSteps];
  choose_points(k, p, sb, steps, n_steps, choices);
  float best_p = 0, best_q = 1, step = 0;
  for (int t = 0; t < n_steps; ++t) {
    const SubBlockChoice &c = choices[t];
    // P^2 / Q compared without dividing, in double: for large inputs the products can exceed the
    // float range.
    if (c.q_sum > 0 && c.p_sum > 0 &&
        static_cast<double>(c.p_sum) * c.p_sum * best_q > static_cast<double>(best_p) * best_p * c.q_sum) {
      best_p = c.p_sum;
      best_q = c.q_sum;
      step = c.p_sum / c.q_sum;
    }
  }
  return step;
}

// Decoded step per stored magnitude for block scale d and 4-bit sub-block scale l, computed as the
// decoders do: IQ3_XXS d * (0.5 + l) * 0.5, IQ3_S d * (1 + 2l).
inline float decoded_step(Iq3Kind kind, float d, int l) {
  return kind == Iq3Kind::Xxs ? d * (0.5f + static_cast<float>(l)) * 0.5f : d * static_cast<float>(1 + 2 * l);
}

// Weights of the error. With an imatrix: the column weight times sqrt(sigma2 + x^2), as ggml does.
// Without one ggml uses x^2; matched against the whole grid that lets small values go anywhere
// (plain RMSE far above ggml's), so we use sigma2 + x^2, which still favours the large values.
void value_weights(const float *x, const float *importance, float sigma2, float *weight) {
  if (importance) {
    for (int i = 0; i < kSubBlock; ++i) weight[i] = importance[i] * std::sqrt(sigma2 + x[i] * x[i]);
  } else {
    for (int i = 0; i < kSubBlock; ++i) weight[i] = sigma2 + x[i] * x[i];
  }
}

}  // namespace

void Iq3Scratch::reserve(Iq3Kind kind) {
  const int n_points = params_for(kind).grid.n_points;
  tables.resize(static_cast<size_t>(2 * kSubBlocks * kGroups * n_points));
}

bool search_iq3_block(Iq3Kind kind, const float *x, const float *importance, bool fast, Iq3Scratch &scratch,
                      Iq3BlockCode &code) {
  const Params p = params_for(kind);
  const Kernels k = kernels(fast);
  const int n = p.grid.n_points;
  scratch.reserve(kind);
  float sum_x2 = 0;
  for (int i = 0; i < kSuperBlock; ++i) sum_x2 += x[i] * x[i];
  const float sigma2 = 2 * sum_x2 / kSuperBlock;
  SubBlock sub[kSubBlocks];
  float steps_fit[kSubBlocks];
  float max_step = 0;
  for (int ib = 0; ib < kSubBlocks; ++ib) {
    SubBlock &sb = sub[ib];
    value_weights(x + kSubBlock * ib, importance ? importance + kSubBlock * ib : nullptr, sigma2, sb.weight);
    prepare_signs(p.even_signs, x + kSubBlock * ib, sb);
    for (int g = 0; g < kGroups; ++g) {
      sb.neg2p[g] = scratch.tables.data() + static_cast<size_t>(2 * (ib * kGroups + g)) * n;
      sb.q[g] = sb.neg2p[g] + n;
      k.group_table(p.grid, sb.a + 4 * g, sb.weight + 4 * g, sb.neg2p[g], sb.q[g]);
    }
    steps_fit[ib] = fit_sub_block_step(k, p, sb);
    max_step = steps_fit[ib] > max_step ? steps_fit[ib] : max_step;
  }
  code = Iq3BlockCode{};
  if (!(max_step > 0)) return false;

  // Stage 2. The largest fitted step is 31 lattice units of d; the candidates scale that d a little
  // up or down (ggml stores it times 1.0125 or 1.033).
  const float base_d = max_step * p.unit / 31;
  constexpr float kFactors[kMaxScaleCandidates] = {1.0f, 1.02f, 1.04f, 0.98f, 1.06f, 1.01f};
  uint16_t d16[kMaxScaleCandidates];
  float d[kMaxScaleCandidates];
  int n_d = 0;
  for (int c = 0; c < p.scale_candidates; ++c) {
    d16[n_d] = f32_to_f16(base_d * kFactors[c]);
    d[n_d] = f16_to_f32(d16[n_d]);
    if (d[n_d] > 0) ++n_d;  // else below the f16 range
  }
  if (n_d == 0) return false;
  // Phase A: for each candidate d, each sub-block's best 4-bit scale among the one nearest to its
  // fitted step (and, with first_tries 3, the two next to it), with its grid points and error
  // (less sum w a^2, the same for every choice).
  struct Pick {
    float err;
    int l;
    uint16_t index[kGroups];
  } picks[kSubBlocks][kMaxScaleCandidates];
  for (int ib = 0; ib < kSubBlocks; ++ib) {
    int ls[kMaxSteps];
    float steps[kMaxSteps];
    int n_steps = 0;
    for (int c = 0; c < n_d; ++c) {
      const int nearest = clamp_int(nearest_int(0.5f * (steps_fit[ib] * p.unit / d[c] - 1)), 0, 15);
      for (const int l : {nearest, nearest - 1, nearest + 1}) {
        if (n_steps == (c + 1) * p.first_tries) break;
        ls[n_steps] = l;
        // An out-of-range scale gets a dummy step and is skipped below.
        steps[n_steps++] = l >= 0 && l <= 15 ? decoded_step(kind, d[c], l) : d[c];
      }
    }
    SubBlockChoice choices[kMaxSteps];
    choose_points(k, p, sub[ib], steps, n_steps, choices);
    for (int c = 0; c < n_d; ++c) {
      for (int j = 0; j < p.first_tries; ++j) {
        const int t = c * p.first_tries + j;
        const float err = steps[t] * choices[t].score_sum;
        if (j == 0 || (ls[t] >= 0 && ls[t] <= 15 && err < picks[ib][c].err)) {  // j == 0: the nearest
          picks[ib][c] = {err, ls[t], {}};
          std::memcpy(picks[ib][c].index, choices[t].index, sizeof choices[t].index);
        }
      }
    }
  }
  int best_c = 0;
  float best_total = 0;
  for (int c = 0; c < n_d; ++c) {
    float total = 0;
    for (int ib = 0; ib < kSubBlocks; ++ib) total += picks[ib][c].err;
    if (c == 0 || total < best_total) {
      best_total = total;
      best_c = c;
    }
  }
  code.d = d16[best_c];
  for (int ib = 0; ib < kSubBlocks; ++ib) {
    Pick pick = picks[ib][best_c];
    if (p.first_tries == 1) {
      // Phase B, when phase A tried only the nearest scales: the winning d's two next scales.
      int ls[2];
      float steps[2];
      int n_steps = 0;
      for (const int l : {pick.l - 1, pick.l + 1}) {
        if (l < 0 || l > 15) continue;
        ls[n_steps] = l;
        steps[n_steps++] = decoded_step(kind, d[best_c], l);
      }
      SubBlockChoice choices[2];
      choose_points(k, p, sub[ib], steps, n_steps, choices);
      for (int t = 0; t < n_steps; ++t) {
        const float err = steps[t] * choices[t].score_sum;
        if (err < pick.err) {
          pick = {err, ls[t], {}};
          std::memcpy(pick.index, choices[t].index, sizeof choices[t].index);
        }
      }
    }
    code.sub_scale[ib] = static_cast<uint8_t>(pick.l);
    std::memcpy(code.grid_index[ib], pick.index, sizeof pick.index);
    std::memcpy(code.signs[ib], sub[ib].signs, 4);
  }
  return true;
}

}  // namespace qs
