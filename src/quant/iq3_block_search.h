// The IQ3 block search of iq3_search.h as a template over where a group's scores come from, so that
// the CPU (tables of iq3_kernels.h, scalar or vector) and the GPU (gpu/quantize_kernels.cu: each
// point's sums computed as the table would hold them) run this one code and give the same bits.
// Everything here is QS_HOST_DEVICE and free of the standard library. See iq3_search.cpp for the
// algorithm.
//
// A Scorer serves one block: prepare(ib, g, a, w) takes group g of sub-block ib (its 4 magnitudes
// and weights, which stay valid during the search); select(ib, g, steps, n_steps, out) finds, per
// step, the grid point of least score steps[j] * Q_i - 2 P_i (the lowest index among equals; index
// 0 with an infinite score when none is finite); neg2p(ib, g, i) and q(ib, g, i) give -2 P_i and Q_i.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/half.h"
#include "core/host_device.h"
#include "quant/iq3_blocks.h"
#include "quant/iq3_kernels.h"
#include "quant/iq3_search.h"

namespace qs::iq3 {

constexpr int kGroups = kSubBlock / 4;  // groups of 4 values per sub-block
constexpr int kMaxSteps = 18;
constexpr int kMaxScaleCandidates = 6;

// Round to nearest, ties to even, for |x| < 2^22.
QS_HOST_DEVICE inline int nearest_int(float x) {
  return static_cast<int32_t>(float_bits(x + 12582912.0f) & 0x007fffff) - 0x00400000;
}

QS_HOST_DEVICE inline int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

// What differs between the two types (besides the grid).
struct Params {
  bool even_signs;  // IQ3_XXS: 7 stored sign bits per 8 values, the 8th by parity
  // Lattice units per stored magnitude unit: IQ3_XXS stores 4 (2l + 1), IQ3_S 2l + 1; either way a
  // sub-block's step in lattice units is d * (2 * scale + 1).
  float unit;
  float negligible;      // a sub-block whose largest magnitude is below this has nothing to fit
  int sweep_tries;       // stage 1 tries 2 * sweep_tries + 1 steps
  int scale_candidates;  // stage 2 tries this many block scales
  int first_tries;       // 4-bit scales tried per block scale: 3 (nearest, -1, +1) or 1 (see phase B)
};

QS_HOST_DEVICE inline Params params(Iq3Kind kind) {
  if (kind == Iq3Kind::Xxs) return {true, 4.0f, 1e-8f, 7, 6, 3};
  // ggml's IQ3_S skips a sub-block only when its largest magnitude is exactly 0 (the least
  // positive float, a subnormal, is the threshold). IQ3_S searches a grid twice the size: fewer
  // tries keep it faster than ggml's.
  return {false, 1.0f, __FLT_DENORM_MIN__, 4, 5, 1};
}

// One sub-block: magnitudes (negative where an IQ3_XXS parity flip gave a value the other sign),
// weights and stored signs.
struct SubBlock {
  float a[kSubBlock];
  float weight[kSubBlock];
  uint8_t signs[4];
};

// Magnitudes and signs. With even signs, an odd count of negatives in a group of 8 is fixed as
// ggml does: the value with the smallest weight * x^2 is encoded with the wrong sign.
QS_HOST_DEVICE inline void prepare_signs(bool even_signs, const float *xb, SubBlock &sb) {
  for (int g = 0; g < 4; ++g) {
    int n_negative = 0;
    uint8_t s = 0;
    for (int i = 0; i < 8; ++i) {
      const float v = xb[8 * g + i];
      sb.a[8 * g + i] = fabsf(v);
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

// Best points of every group of sub-block ib for each of n_steps steps.
template <class Scorer>
QS_HOST_DEVICE void choose_points(Scorer &scorer, int ib, const float *steps, int n_steps, SubBlockChoice *choices) {
  Iq3Selection sel[kGroups][kMaxSteps];
  for (int g = 0; g < kGroups; ++g) scorer.select(ib, g, steps, n_steps, sel[g]);
  for (int t = 0; t < n_steps; ++t) {
    SubBlockChoice &c = choices[t];
    c = SubBlockChoice{};
    for (int g = 0; g < kGroups; ++g) {
      const Iq3Selection &chosen = sel[g][t];
      c.index[g] = static_cast<uint16_t>(chosen.index);
      c.score_sum += chosen.score;
      c.p_sum += -0.5f * scorer.neg2p(ib, g, chosen.index);
      c.q_sum += scorer.q(ib, g, chosen.index);
    }
  }
}

// Stage 1: the sub-block's best step in stored-magnitude units (0 if there is nothing to fit).
// The sweep maps the largest magnitude to lattice value 15 + 0.2 t, t = -tries..tries (ggml's
// sweep); each step gets the best grid points and, with those fixed, the least-squares step P/Q,
// which lowers the error by P^2/Q: the largest P^2/Q wins.
template <class Scorer>
QS_HOST_DEVICE float fit_sub_block_step(Scorer &scorer, const Params &p, const SubBlock &sb, int ib) {
  float max = sb.a[0];
  for (int i = 1; i < kSubBlock; ++i) max = sb.a[i] > max ? sb.a[i] : max;
  if (max < p.negligible) return 0.0f;
  float steps[kMaxSteps];
  const int n_steps = 2 * p.sweep_tries + 1;
  for (int t = -p.sweep_tries; t <= p.sweep_tries; ++t) {
    steps[t + p.sweep_tries] = max / ((15.0f + 0.2f * static_cast<float>(t)) * p.unit);
  }
  SubBlockChoice choices[kMaxSteps];
  choose_points(scorer, ib, steps, n_steps, choices);
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
QS_HOST_DEVICE inline float decoded_step(Iq3Kind kind, float d, int l) {
  return kind == Iq3Kind::Xxs ? d * (0.5f + static_cast<float>(l)) * 0.5f : d * static_cast<float>(1 + 2 * l);
}

// Weights of the error. With an imatrix: the column weight times sqrt(sigma2 + x^2), as ggml does.
// Without one ggml uses x^2; matched against the whole grid that lets small values go anywhere
// (plain RMSE far above ggml's), so we use sigma2 + x^2, which still favours the large values.
QS_HOST_DEVICE inline void value_weights(const float *x, const float *importance, float sigma2, float *weight) {
  if (importance) {
    for (int i = 0; i < kSubBlock; ++i) weight[i] = importance[i] * sqrtf(sigma2 + x[i] * x[i]);
  } else {
    for (int i = 0; i < kSubBlock; ++i) weight[i] = sigma2 + x[i] * x[i];
  }
}

// search_iq3_block (iq3_search.h) with the scores of `scorer`.
template <class Scorer>
QS_HOST_DEVICE bool search_block(Iq3Kind kind, const float *x, const float *importance, Scorer &scorer,
                                 Iq3BlockCode &code) {
  const Params p = params(kind);
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
    for (int g = 0; g < kGroups; ++g) scorer.prepare(ib, g, sb.a + 4 * g, sb.weight + 4 * g);
    steps_fit[ib] = fit_sub_block_step(scorer, p, sb, ib);
    max_step = steps_fit[ib] > max_step ? steps_fit[ib] : max_step;
  }
  code = Iq3BlockCode{};
  if (!(max_step > 0)) return false;

  // Stage 2. The largest fitted step is 31 lattice units of d; the candidates scale that d a little
  // up or down (ggml stores it times 1.0125 or 1.033).
  const float base_d = max_step * p.unit / 31;
  const float factors[kMaxScaleCandidates] = {1.0f, 1.02f, 1.04f, 0.98f, 1.06f, 1.01f};
  uint16_t d16[kMaxScaleCandidates];
  float d[kMaxScaleCandidates];
  int n_d = 0;
  for (int c = 0; c < p.scale_candidates; ++c) {
    d16[n_d] = f32_to_f16(base_d * factors[c]);
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
      const int tries[3] = {nearest, nearest - 1, nearest + 1};
      for (const int l : tries) {
        if (n_steps == (c + 1) * p.first_tries) break;
        ls[n_steps] = l;
        // An out-of-range scale gets a dummy step and is skipped below.
        steps[n_steps++] = l >= 0 && l <= 15 ? decoded_step(kind, d[c], l) : d[c];
      }
    }
    SubBlockChoice choices[kMaxSteps];
    choose_points(scorer, ib, steps, n_steps, choices);
    for (int c = 0; c < n_d; ++c) {
      for (int j = 0; j < p.first_tries; ++j) {
        const int t = c * p.first_tries + j;
        const float err = steps[t] * choices[t].score_sum;
        if (j == 0 || (ls[t] >= 0 && ls[t] <= 15 && err < picks[ib][c].err)) {  // j == 0: the nearest
          picks[ib][c].err = err;
          picks[ib][c].l = ls[t];
          for (int g = 0; g < kGroups; ++g) picks[ib][c].index[g] = choices[t].index[g];
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
      const int next[2] = {pick.l - 1, pick.l + 1};
      for (const int l : next) {
        if (l < 0 || l > 15) continue;
        ls[n_steps] = l;
        steps[n_steps++] = decoded_step(kind, d[best_c], l);
      }
      SubBlockChoice choices[2];
      choose_points(scorer, ib, steps, n_steps, choices);
      for (int t = 0; t < n_steps; ++t) {
        const float err = steps[t] * choices[t].score_sum;
        if (err < pick.err) {
          pick.err = err;
          pick.l = ls[t];
          for (int g = 0; g < kGroups; ++g) pick.index[g] = choices[t].index[g];
        }
      }
    }
    code.sub_scale[ib] = static_cast<uint8_t>(pick.l);
    for (int g = 0; g < kGroups; ++g) code.grid_index[ib][g] = pick.index[g];
    for (int g = 0; g < 4; ++g) code.signs[ib][g] = sub[ib].signs[g];
  }
  return true;
}

}  // namespace qs::iq3
