// Integer sub-block scales under an f16 super scale, chosen by exact error; the k-quant row driver.
#include "quant/kquants_common.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/half.h"
#include "quant/importance.h"
#include "quant/levels.h"

namespace qs {
namespace {

constexpr int64_t kChunkSuperBlocks = 16;
constexpr int kMaxWindow = 8;

// Floor of the importance weights (see importance.h), lower than the legacy types' because the
// k-quants' plain RMSE has more room against ggml's.
constexpr float kImportanceFloor = 0.45f;

// f16 super scale for mapping `top` to integer target t; 0 if it does not survive as a finite,
// non-zero f16.
uint16_t super_scale(float top, float t) {
  const uint16_t h = f32_to_f16(top / t);
  const float d = f16_to_f32(h);
  return d != 0.0f && std::isfinite(d) ? h : 0;
}

// The distinct f16 super scales that map `top` to each target, in target order (0 alone for a
// zero top: every integer scale is then 0).
struct SuperScaleCandidates {
  static constexpr int kMax = 32;
  uint16_t values[kMax];
  int count = 0;

  SuperScaleCandidates(float top, std::span<const float> targets) {
    if (!(std::fabs(top) >= kTinyBlockMagnitude)) {
      values[count++] = 0;
      return;
    }
    for (const float t : targets) {
      const uint16_t h = super_scale(top, t);
      if (count < kMax && std::find(values, values + count, h) == values + count) values[count++] = h;
    }
  }
  const uint16_t *begin() const { return values; }
  const uint16_t *end() const { return values + count; }
};

// The first integer of a window of `window` around v/d: floor(v/d) - window/2 + 1.
float window_start(float v, float d, int window) { return std::floor(v / d) - static_cast<float>(window / 2 - 1); }

// The k-th integer of the window, clamped to lo..hi (a clamped window repeats its end value;
// repeats never win a strict comparison).
int window_scale(float start, int k, int lo, int hi) {
  return static_cast<int>(clamp_level(start + static_cast<float>(k), static_cast<float>(lo), static_cast<float>(hi)));
}

}  // namespace

SymmetricSuperScales choose_symmetric_super_scales(const float sub_scales[16], const BlockErrors &errors,
                                                   const SymmetricSuperSearch &search) {
  SymmetricSuperScales best;
  float amax = 0.0f, top = 0.0f;
  for (int j = 0; j < 16; ++j) {
    if (std::fabs(sub_scales[j]) > amax) {
      amax = std::fabs(sub_scales[j]);
      top = sub_scales[j];
    }
  }
  if (amax < kTinyBlockMagnitude) return best;
  float best_total = std::numeric_limits<float>::infinity();
  const int window = std::min(search.window, kMaxWindow);
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

AffineSuperScales choose_affine_super_scales(const AffineFit *fits, int n_sub, const BlockErrors &errors,
                                             const AffineSuperSearch &search) {
  // Sub-block scales and min amounts (the k-quants subtract dmin·min), both non-negative.
  float scale[16], amount[16];
  float scale_top = 0.0f, amount_top = 0.0f;
  for (int j = 0; j < n_sub; ++j) {
    scale[j] = std::max(fits[j].scale, 0.0f);
    amount[j] = std::max(-fits[j].min, 0.0f);
    scale_top = std::max(scale_top, scale[j]);
    amount_top = std::max(amount_top, amount[j]);
  }
  const SuperScaleCandidates ds(scale_top, search.scale_targets), dmins(amount_top, search.min_targets);

  AffineSuperScales best;
  float best_total = std::numeric_limits<float>::infinity();
  const int scale_window = std::min(search.scale_window, kMaxWindow);
  const int min_window = std::min(search.min_window, kMaxWindow);
  // With 8 sub-blocks, lanes 8-15 score the odd scale candidates while lanes 0-7 score the even.
  const int halves = BlockErrors::kLanes / n_sub;  // 1 or 2
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
          const int number = std::min(halves * k + h, scale_window - 1);
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
        pick_scale[j] = std::min(halves * k_best[lane] + lane / n_sub, scale_window - 1);
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

void pack_2bit_codes(const uint8_t codes[kSuperBlock], uint8_t qs[64]) {
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t *c = codes + 128 * h + l;
      qs[32 * h + l] = static_cast<uint8_t>((c[0] & 3) | ((c[32] & 3) << 2) | ((c[64] & 3) << 4) | ((c[96] & 3) << 6));
    }
  }
}

void for_each_symmetric_super_block(const float *src, int64_t n_rows, int64_t n_per_row, const float *importance,
                                    int sub_size, const SymmetricSearch &search, bool fast, const SymmetricStore &store) {
  const int64_t n_super = n_per_row / kSuperBlock;
  const int n_sub = kSuperBlock / sub_size;
  const std::vector<float> weights = importance ? floored_importance(importance, n_per_row, kImportanceFloor) : std::vector<float>();
  float scales[kChunkSuperBlocks * 16];
  for (int64_t row = 0; row < n_rows; ++row) {
    for (int64_t s0 = 0; s0 < n_super; s0 += kChunkSuperBlocks) {
      const int64_t count = std::min(kChunkSuperBlocks, n_super - s0);
      const float *x = src + row * n_per_row + s0 * kSuperBlock;
      const float *w = importance ? weights.data() + s0 * kSuperBlock : nullptr;
      if (fast) {
        best_symmetric_scales(x, w, sub_size, count * n_sub, search, scales);
      } else {
        best_symmetric_scales_ref(x, w, sub_size, count * n_sub, search, scales);
      }
      for (int64_t s = 0; s < count; ++s) {
        store(row, s0 + s, x + s * kSuperBlock, w ? w + s * kSuperBlock : nullptr, scales + s * n_sub);
      }
    }
  }
}

void for_each_affine_super_block(const float *src, int64_t n_rows, int64_t n_per_row, const float *importance,
                                 int sub_size, const AffineSearch &search, bool fast, const AffineStore &store) {
  const int64_t n_super = n_per_row / kSuperBlock;
  const int n_sub = kSuperBlock / sub_size;
  const std::vector<float> weights = importance ? floored_importance(importance, n_per_row, kImportanceFloor) : std::vector<float>();
  AffineFit fits[kChunkSuperBlocks * 16];
  for (int64_t row = 0; row < n_rows; ++row) {
    for (int64_t s0 = 0; s0 < n_super; s0 += kChunkSuperBlocks) {
      const int64_t count = std::min(kChunkSuperBlocks, n_super - s0);
      const float *x = src + row * n_per_row + s0 * kSuperBlock;
      const float *w = importance ? weights.data() + s0 * kSuperBlock : nullptr;
      if (fast) {
        best_affine_fits(x, w, sub_size, count * n_sub, search, fits);
      } else {
        best_affine_fits_ref(x, w, sub_size, count * n_sub, search, fits);
      }
      for (int64_t s = 0; s < count; ++s) {
        store(row, s0 + s, x + s * kSuperBlock, w ? w + s * kSuperBlock : nullptr, fits + s * n_sub);
      }
    }
  }
}

}  // namespace qs
