// Searches for the scale of a block of values stored as evenly spaced integer levels, shared by the
// legacy, k-quant and ternary quantizers: symmetric (x ≈ d·l) and affine (x ≈ d·l + m) levels.
// Each search has a plain per-block reference and a batch form that runs 16 blocks side by side in
// AVX-512 lanes (each lane doing the reference's arithmetic in the reference's order, so the two
// agree bit for bit; tests/quant/scale_search_test.cpp checks it). The references are written here,
// QS_HOST_DEVICE and free of the standard library, because the GPU's k-quant kernels
// (gpu/quantize_kernels.cu) run them too.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "core/host_device.h"
#include "quant/levels.h"

namespace qs {

// A short list of candidate values (targets or shifts of a search), held by value so that a search
// is a plain value the GPU can build as well as the CPU.
struct TargetList {
  static constexpr int kMax = 64;
  float values[kMax] = {};
  int count = 0;

  constexpr TargetList() = default;
  template <size_t N>
  QS_HOST_DEVICE constexpr TargetList(const float (&list)[N]) : count(static_cast<int>(N)) {
    static_assert(N <= kMax, "too many candidates");
    for (size_t i = 0; i < N; ++i) values[i] = list[i];
  }
  template <size_t N>
  constexpr TargetList(const std::array<float, N> &list) : count(static_cast<int>(N)) {  // the CPU's tables
    static_assert(N <= kMax, "too many candidates");
    for (size_t i = 0; i < N; ++i) values[i] = list[i];
  }
  QS_HOST_DEVICE constexpr const float *begin() const { return values; }
  QS_HOST_DEVICE constexpr const float *end() const { return values + count; }
  QS_HOST_DEVICE constexpr int size() const { return count; }
};

// N evenly spaced candidate targets from first to last (for the searches below).
template <int N>
QS_HOST_DEVICE constexpr TargetList even_targets(float first, float last) {
  static_assert(N <= TargetList::kMax, "too many candidates");
  TargetList t;
  t.count = N;
  for (int i = 0; i < N; ++i) t.values[i] = N == 1 ? first : first + (last - first) * static_cast<float>(i) / (N - 1);
  return t;
}

// Blocks whose largest magnitude is below this are all-zero blocks (their scale would not survive
// the f16 rounding anyway, and dividing by them overflows).
inline constexpr float kTinyBlockMagnitude = 1e-30f;

namespace scale_search {

// True if the block has weights that do not all vanish (summed in index order).
QS_HOST_DEVICE inline bool has_weights(const float *w, int n) {
  if (w == nullptr) return false;
  float sum = 0.0f;
  for (int i = 0; i < n; ++i) sum += w[i];
  return sum > 0.0f;
}

// Σw·x·l and Σw·l² for the levels l = nearest(iscale·x).
struct SymmetricSums {
  float wxl = 0.0f;
  float wll = 0.0f;
};

QS_HOST_DEVICE inline SymmetricSums symmetric_sums(const float *x, const float *w, int n, float lo, float hi,
                                                   float iscale) {
  SymmetricSums s;
  for (int i = 0; i < n; ++i) {
    const float l = clamp_level(round_to_even(iscale * x[i]), lo, hi);
    const float wi = w ? w[i] : 1.0f;
    s.wxl += (wi * x[i]) * l;
    s.wll += wi * (l * l);
  }
  return s;
}

// Σw·l, Σw·l², Σw·x·l for the levels l = nearest((x - offset)·iscale) in 0..top.
struct AffineSums {
  float wl = 0.0f;
  float wll = 0.0f;
  float wxl = 0.0f;
};

QS_HOST_DEVICE inline AffineSums affine_sums(const float *x, const float *w, int n, float top, float offset,
                                             float iscale) {
  AffineSums s;
  for (int i = 0; i < n; ++i) {
    const float l = clamp_level(round_to_even(iscale * (x[i] - offset)), 0.0f, top);
    const float wi = w ? w[i] : 1.0f;
    s.wl += wi * l;
    s.wll += wi * (l * l);
    s.wxl += (wi * x[i]) * l;
  }
  return s;
}

}  // namespace scale_search

// x ≈ d·l with integer l in lo..hi (lo < 0 < hi).
//
// Candidate i maps the block's value of largest magnitude mx (the first if tied) to level
// targets[i], i.e. iscale = targets[i] / mx (|mx| if lo == -hi: then the scale comes out positive); every value takes the nearest level (clamped), and the
// candidate's scale is the weighted least-squares fit d = Σ w·x·l / Σ w·l². The fit of the
// candidate with the least weighted error Σ w·(x - d·l)² (the first if tied) is then improved by up
// to refine_steps Lloyd steps (levels re-rounded at the fitted scale and refitted) while the error
// falls.
struct SymmetricSearch {
  int lo;
  int hi;
  TargetList targets;
  int refine_steps = 0;
};

// The scale for one block of n values; 0 for a block whose values are all zero. w: n non-negative
// weights, or nullptr for all ones; a block whose weights sum to 0 is treated as unweighted.
QS_HOST_DEVICE inline float best_symmetric_scale(const float *x, const float *w, int n, const SymmetricSearch &search) {
  float amax = 0.0f, mx = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float a = fabsf(x[i]);
    if (a > amax) {
      amax = a;
      mx = x[i];
    }
  }
  if (amax < kTinyBlockMagnitude) return 0.0f;
  // With levels symmetric about 0 the sign of the scale is free: keep it positive (as ggml does).
  const float anchor = search.lo == -search.hi ? amax : mx;
  if (!scale_search::has_weights(w, n)) w = nullptr;
  const float lo = static_cast<float>(search.lo), hi = static_cast<float>(search.hi);
  // For fixed levels the least-squares scale removes (Σwxl)²/Σwll from the error Σwx²: the score.
  float best_score = 0.0f, best_scale = 0.0f;
  for (const float target : search.targets) {
    const scale_search::SymmetricSums s = scale_search::symmetric_sums(x, w, n, lo, hi, target / anchor);
    if (s.wll > 0.0f) {
      const float score = (s.wxl * s.wxl) / s.wll;
      if (score > best_score) {
        best_score = score;
        best_scale = s.wxl / s.wll;
      }
    }
  }
  for (int step = 0; step < search.refine_steps && best_scale != 0.0f; ++step) {
    const scale_search::SymmetricSums s = scale_search::symmetric_sums(x, w, n, lo, hi, 1.0f / best_scale);
    if (!(s.wll > 0.0f)) break;
    const float score = (s.wxl * s.wxl) / s.wll;
    if (!(score > best_score)) break;
    best_score = score;
    best_scale = s.wxl / s.wll;
  }
  return best_scale;
}

// best_symmetric_scale for n_blocks consecutive blocks of n values (weights, if any, laid out like
// x): scales[b] for block b. `_ref` loops over the blocks; the other is the fast path (AVX-512 for
// n a multiple of 16 up to 256).
void best_symmetric_scales(const float *x, const float *w, int n, int64_t n_blocks, const SymmetricSearch &search,
                           float *scales);
void best_symmetric_scales_ref(const float *x, const float *w, int n, int64_t n_blocks,
                               const SymmetricSearch &search, float *scales);

// x ≈ scale·l + min with l in 0..nmax.
struct AffineFit {
  float scale = 0.0f;
  float min = 0.0f;
};

// Candidate (t, s) for t in targets and s in shifts sets iscale = t / (max - min) over the block's
// range and the zero point to min + s / iscale (a shift of s levels), rounds every value to its
// nearest level in 0..nmax, then fits scale and min by weighted least squares. With
// min_at_most_zero the range always includes 0 and a positive fitted min is replaced by 0 with the
// scale refitted: the k-quants store the min as a non-negative amount subtracted. The best
// candidate (the first if tied) then gets up to refine_steps Lloyd steps, as above.
struct AffineSearch {
  int nmax;
  TargetList targets;
  TargetList shifts;
  int refine_steps = 0;
  bool min_at_most_zero = false;
};

namespace scale_search {

// Least-squares scale and min for fixed levels, and its error less the shared Σwx². Returns false
// if the levels do not determine both (all equal).
QS_HOST_DEVICE inline bool solve_affine(const AffineSums &s, float sum_w, float sum_wx, bool min_at_most_zero,
                                        AffineFit &fit, float &err) {
  const float det = sum_w * s.wll - s.wl * s.wl;
  if (!(det > 0.0f)) return false;
  float scale = (sum_w * s.wxl - sum_wx * s.wl) / det;
  float min = (s.wll * sum_wx - s.wl * s.wxl) / det;
  if (min_at_most_zero && min > 0.0f) {
    min = 0.0f;
    scale = s.wxl / s.wll;
  }
  err = scale * (scale * s.wll - 2.0f * s.wxl) + min * (min * sum_w - 2.0f * sum_wx + 2.0f * scale * s.wl);
  fit = {scale, min};
  return true;
}

}  // namespace scale_search

// The fit for one block; a constant block gives scale 0 and its value as min.
QS_HOST_DEVICE inline AffineFit best_affine_fit(const float *x, const float *w, int n, const AffineSearch &search) {
  const bool min_at_most_zero = search.min_at_most_zero;
  if (!scale_search::has_weights(w, n)) w = nullptr;
  float lo = x[0], hi = x[0];
  float sum_w = 0.0f, sum_wx = 0.0f;
  for (int i = 0; i < n; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
    const float wi = w ? w[i] : 1.0f;
    sum_w += wi;
    sum_wx += wi * x[i];
  }
  if (min_at_most_zero && lo > 0.0f) lo = 0.0f;
  const float range = hi - lo;
  if (!(range >= kTinyBlockMagnitude)) return {0.0f, lo};
  const float top = static_cast<float>(search.nmax);
  AffineFit best{range / top, lo};  // the plain min/max fit, kept if no candidate can be solved
  float best_err = INFINITY;
  for (const float target : search.targets) {
    const float iscale = target / range;
    for (const float shift : search.shifts) {
      AffineFit fit;
      float err;
      if (scale_search::solve_affine(scale_search::affine_sums(x, w, n, top, lo + shift / iscale, iscale), sum_w,
                                     sum_wx, min_at_most_zero, fit, err) &&
          err < best_err) {
        best_err = err;
        best = fit;
      }
    }
  }
  for (int step = 0; step < search.refine_steps && best.scale != 0.0f; ++step) {
    AffineFit fit;
    float err;
    if (!scale_search::solve_affine(scale_search::affine_sums(x, w, n, top, best.min, 1.0f / best.scale), sum_w,
                                    sum_wx, min_at_most_zero, fit, err) ||
        !(err < best_err)) {
      break;
    }
    best_err = err;
    best = fit;
  }
  return best;
}

void best_affine_fits(const float *x, const float *w, int n, int64_t n_blocks, const AffineSearch &search,
                      AffineFit *fits);
void best_affine_fits_ref(const float *x, const float *w, int n, int64_t n_blocks, const AffineSearch &search,
                          AffineFit *fits);

}  // namespace qs
