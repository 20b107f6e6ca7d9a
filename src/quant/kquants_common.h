// What the k-quant quantizers share: the choice of integer sub-block scales under one f16 super
// scale (by exact error over neighbouring integers), the 2-bit packing of Q2_K/Q3_K, and the row
// driver that searches every sub-block of a row in one batch. The choice and the packing are
// QS_HOST_DEVICE and free of the standard library: the GPU's k-quant kernels run them too, with
// BlockErrorsRef where the CPU may take BlockErrors' AVX-512 form.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>

#include "core/half.h"
#include "core/host_device.h"
#include "quant/block_errors.h"
#include "quant/levels.h"
#include "quant/scale_search.h"

namespace qs {

inline constexpr int kSuperBlock = 256;

// Floor of the importance weights (see importance.h), lower than the legacy types' because the
// k-quants' plain RMSE has more room against ggml's.
inline constexpr float kKQuantImportanceFloor = 0.45f;

// Symmetric sub-blocks (Q3_K, Q6_K): value = d·scale[s]·q with integer scales smin..smax and
// levels lo..hi. The largest-magnitude sub-block scale is mapped to integer target t for each t in
// targets (d = f16(s_max / t)); every sub-block then takes, of the `window` integers around s/d
// (floor - window/2 + 1 .. floor + window/2), the one with the smallest exact error; the candidate
// with the least total error wins. (The error is far from smooth in the scale at 3 bits, so the
// best integer is not always a neighbour of the best real scale.)
struct SymmetricSuperSearch {
  int smin;
  int smax;
  float lo;
  float hi;
  TargetList targets;
  int window = 2;
};

struct SymmetricSuperScales {
  uint16_t d = 0;
  int scale[16] = {};
};

// Affine sub-blocks (Q2_K, Q4_K, Q5_K): value = d·scale[s]·q - dmin·min[s] with scale and min in
// 0..smax and q in 0..nmax. Each (t, u) in scale_targets × min_targets maps the largest sub-block
// scale to t and the largest min to u; every sub-block picks, of the scale_window × min_window
// integer pairs around its (scale/d, min/dmin), the best by exact error; the candidate with the
// least total error wins.
struct AffineSuperSearch {
  int smax;
  float nmax;
  TargetList scale_targets;
  TargetList min_targets;
  int scale_window = 2;
  int min_window = 2;
};

struct AffineSuperScales {
  uint16_t d = 0;
  uint16_t dmin = 0;
  int scale[16] = {};
  int min[16] = {};
};

namespace kquants {

constexpr int kMaxWindow = 8;

// std::max's and std::min's rules: the first unless the second is larger (smaller); a NaN second
// is ignored, a NaN first kept.
QS_HOST_DEVICE inline float max_first(float a, float b) { return a < b ? b : a; }
QS_HOST_DEVICE inline int min_of(int a, int b) { return b < a ? b : a; }

QS_HOST_DEVICE inline bool is_finite(float v) { return (float_bits(v) & 0x7f800000u) != 0x7f800000u; }

// f16 super scale for mapping `top` to integer target t; 0 if it does not survive as a finite,
// non-zero f16.
QS_HOST_DEVICE inline uint16_t super_scale(float top, float t) {
  const uint16_t h = f32_to_f16(top / t);
  const float d = f16_to_f32(h);
  return d != 0.0f && is_finite(d) ? h : 0;
}

// The distinct f16 super scales that map `top` to each target, in target order (0 alone for a
// zero top: every integer scale is then 0).
struct SuperScaleCandidates {
  static constexpr int kMax = 32;
  uint16_t values[kMax];
  int count = 0;

  QS_HOST_DEVICE SuperScaleCandidates(float top, const TargetList &targets) {
    if (!(fabsf(top) >= kTinyBlockMagnitude)) {
      values[count++] = 0;
      return;
    }
    for (const float t : targets) {
      const uint16_t h = super_scale(top, t);
      bool seen = false;
      for (int i = 0; i < count; ++i) seen = seen || values[i] == h;
      if (count < kMax && !seen) values[count++] = h;
    }
  }
  QS_HOST_DEVICE const uint16_t *begin() const { return values; }
  QS_HOST_DEVICE const uint16_t *end() const { return values + count; }
};

// The first integer of a window of `window` around v/d: floor(v/d) - window/2 + 1.
QS_HOST_DEVICE inline float window_start(float v, float d, int window) {
  return floorf(v / d) - static_cast<float>(window / 2 - 1);
}

// The k-th integer of the window, clamped to lo..hi (a clamped window repeats its end value;
// repeats never win a strict comparison).
QS_HOST_DEVICE inline int window_scale(float start, int k, int lo, int hi) {
  return static_cast<int>(clamp_level(start + static_cast<float>(k), static_cast<float>(lo), static_cast<float>(hi)));
}

}  // namespace kquants

// Errors: BlockErrorsRef or BlockErrors over the super-block's 16 sub-blocks.
template <class Errors>
QS_HOST_DEVICE SymmetricSuperScales choose_symmetric_super_scales(const float sub_scales[16], const Errors &errors,
                                                                  const SymmetricSuperSearch &search) {
  using namespace kquants;
  SymmetricSuperScales best;
  float amax = 0.0f, top = 0.0f;
  for (int j = 0; j < 16; ++j) {
    if (fabsf(sub_scales[j]) > amax) {
      amax = fabsf(sub_scales[j]);
      top = sub_scales[j];
    }
  }
  if (amax < kTinyBlockMagnitude) return best;
  float best_total = INFINITY;
  const int window = min_of(search.window, kMaxWindow);
  const SuperScaleCandidates ds(top, search.targets);
  for (const uint16_t h : ds) {
    if (h == 0) continue;
    const float d = f16_to_f32(h);
    int ints[kMaxWindow][16];
    float values[kMaxWindow][16];
    for (int j = 0; j < 16; ++j) {
      const float start = window_start(sub_scales[j], d, window);
      for (int k = 0; k < window; ++k) {
        ints[k][j] = window_scale(start, k, search.smin, search.smax);
        values[k][j] = d * static_cast<float>(ints[k][j]);
      }
    }
    float err[16];
    int pick[16];
    errors.best_symmetric(search.lo, search.hi, &values[0][0], window, err, pick);
    float total = 0.0f;
    for (int j = 0; j < 16; ++j) total += err[j];
    if (total < best_total) {
      best_total = total;
      best.d = h;
      for (int j = 0; j < 16; ++j) best.scale[j] = ints[pick[j]][j];
    }
  }
  return best;
}

// fits: n_sub (8 or 16) sub-block fits with min <= 0 (their min amount is -min); errors over those
// n_sub sub-blocks.
template <class Errors>
QS_HOST_DEVICE AffineSuperScales choose_affine_super_scales(const AffineFit *fits, int n_sub, const Errors &errors,
                                                            const AffineSuperSearch &search) {
  using namespace kquants;
  // Sub-block scales and min amounts (the k-quants subtract dmin·min), both non-negative.
  float scale[16], amount[16];
  float scale_top = 0.0f, amount_top = 0.0f;
  for (int j = 0; j < n_sub; ++j) {
    scale[j] = max_first(fits[j].scale, 0.0f);
    amount[j] = max_first(-fits[j].min, 0.0f);
    scale_top = max_first(scale_top, scale[j]);
    amount_top = max_first(amount_top, amount[j]);
  }
  const SuperScaleCandidates ds(scale_top, search.scale_targets), dmins(amount_top, search.min_targets);

  AffineSuperScales best;
  float best_total = INFINITY;
  const int scale_window = min_of(search.scale_window, kMaxWindow);
  const int min_window = min_of(search.min_window, kMaxWindow);
  // With 8 sub-blocks, lanes 8-15 score the odd scale candidates while lanes 0-7 score the even.
  const int halves = BlockErrorsRef::kLanes / n_sub;  // 1 or 2
  const int lane_candidates = (scale_window + halves - 1) / halves;
  for (const uint16_t hd : ds) {
    const float d = f16_to_f32(hd);
    // The window of integer scales of each sub-block (all 0 under a zero super scale), laid out
    // per lane: lane h·n_sub + j, candidate k holds scale number halves·k + h of sub-block j.
    int scale_int[16][kMaxWindow];
    float scale_lanes[kMaxWindow][16];
    for (int j = 0; j < n_sub; ++j) {
      const float start = d != 0.0f ? window_start(scale[j], d, scale_window) : 0.0f;
      for (int k = 0; k < scale_window; ++k) scale_int[j][k] = d != 0.0f ? window_scale(start, k, 0, search.smax) : 0;
      for (int k = 0; k < lane_candidates; ++k) {
        for (int h = 0; h < halves; ++h) {
          const int number = min_of(halves * k + h, scale_window - 1);
          scale_lanes[k][h * n_sub + j] = d * static_cast<float>(scale_int[j][number]);
        }
      }
    }
    for (const uint16_t hm : dmins) {
      const float dmin = f16_to_f32(hm);
      int min_int[16][kMaxWindow];
      float min_lanes[kMaxWindow][16];
      for (int j = 0; j < n_sub; ++j) {
        const float start = dmin != 0.0f ? window_start(amount[j], dmin, min_window) : 0.0f;
        for (int k = 0; k < min_window; ++k) {
          min_int[j][k] = dmin != 0.0f ? window_scale(start, k, 0, search.smax) : 0;
          for (int h = 0; h < halves; ++h) min_lanes[k][h * n_sub + j] = dmin * static_cast<float>(min_int[j][k]);
        }
      }
      float err[16];
      int k_best[16], l_best[16];
      errors.best_affine(search.nmax, &scale_lanes[0][0], lane_candidates, &min_lanes[0][0], min_window, err, k_best,
                         l_best);
      // Merge the halves: the smaller error, or on a tie the earlier pair in (min, scale) order.
      float total = 0.0f;
      int pick_scale[16], pick_min[16];
      for (int j = 0; j < n_sub; ++j) {
        int lane = j;
        for (int h = 1; h < halves; ++h) {
          const int other = h * n_sub + j;
          const int order = l_best[other] * scale_window + halves * k_best[other] + h;
          const int current = l_best[lane] * scale_window + halves * k_best[lane] + lane / n_sub;
          if (err[other] < err[lane] || (err[other] == err[lane] && order < current)) lane = other;
        }
        pick_scale[j] = min_of(halves * k_best[lane] + lane / n_sub, scale_window - 1);
        pick_min[j] = l_best[lane];
        total += err[lane];
      }
      if (total < best_total) {
        best_total = total;
        best.d = hd;
        best.dmin = hm;
        for (int j = 0; j < n_sub; ++j) {
          best.scale[j] = scale_int[j][pick_scale[j]];
          best.min[j] = min_int[j][pick_min[j]];
        }
      }
    }
  }
  return best;
}

// Q2_K/Q3_K layout of 256 2-bit codes: value 128h + 32k + l at bits 2k..2k+1 of qs[32h + l].
QS_HOST_DEVICE inline void pack_2bit_codes(const uint8_t codes[kSuperBlock], uint8_t qs[64]) {
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t *c = codes + 128 * h + l;
      qs[32 * h + l] = static_cast<uint8_t>((c[0] & 3) | ((c[32] & 3) << 2) | ((c[64] & 3) << 4) | ((c[96] & 3) << 6));
    }
  }
}

// Rows of a k-quant (CPU only): searches the sub-blocks of each row in batches, then calls
// store(row, super_block, x, w, sub results) for each super-block, x and w pointing at its 256
// values and weights (w: the row's floored importance, or nullptr). Every block's search reads only
// its own values, so the batching does not change any result: one super-block at a time (the GPU's
// way) gives the same bits.
using SymmetricStore = std::function<void(int64_t row, int64_t super_block, const float *x, const float *w,
                                          const float *sub_scales)>;
using AffineStore = std::function<void(int64_t row, int64_t super_block, const float *x, const float *w,
                                       const AffineFit *sub_fits)>;

void for_each_symmetric_super_block(const float *src, int64_t n_rows, int64_t n_per_row, const float *importance,
                                    int sub_size, const SymmetricSearch &search, bool fast, const SymmetricStore &store);
void for_each_affine_super_block(const float *src, int64_t n_rows, int64_t n_per_row, const float *importance,
                                 int sub_size, const AffineSearch &search, bool fast, const AffineStore &store);

}  // namespace qs
