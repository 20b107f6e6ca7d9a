// Scale searches for evenly spaced integer levels: the batch forms of the per-block references
// (scale_search.h), looped and in AVX-512 (16 blocks transposed into lanes; every lane repeats the
// reference's operations in order).
#include "quant/scale_search.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "quant/lanes.h"
#include "quant/levels.h"

namespace qs {

void best_symmetric_scales_ref(const float *x, const float *w, int n, int64_t n_blocks,
                               const SymmetricSearch &search, float *scales) {
  for (int64_t b = 0; b < n_blocks; ++b) scales[b] = best_symmetric_scale(x + b * n, w ? w + b * n : nullptr, n, search);
}

void best_affine_fits_ref(const float *x, const float *w, int n, int64_t n_blocks, const AffineSearch &search,
                          AffineFit *fits) {
  for (int64_t b = 0; b < n_blocks; ++b) fits[b] = best_affine_fit(x + b * n, w ? w + b * n : nullptr, n, search);
}

#if defined(__AVX512F__)
namespace {

constexpr int kLanes = 16;
constexpr int kMaxBlockValues = 256;

// Transposed values (and weights) of 16 blocks. Lanes whose weights sum to 0 read weight 1, as
// has_weights() decides for the reference; without weights w() is never called.
template <bool kWeighted>
struct Lanes {
  const float *xt;
  const float *wt;
  int n;
  __mmask16 unit = 0xffff;

  Lanes(const float *xt_, const float *wt_, int n_) : xt(xt_), wt(wt_), n(n_) {
    if constexpr (kWeighted) {
      __m512 sum = _mm512_setzero_ps();
      for (int j = 0; j < n; ++j) sum = _mm512_add_ps(sum, _mm512_load_ps(wt + j * kLanes));
      unit = static_cast<__mmask16>(~_mm512_cmp_ps_mask(sum, _mm512_setzero_ps(), _CMP_GT_OQ));
    }
  }
  __m512 x(int j) const { return _mm512_load_ps(xt + j * kLanes); }
  __m512 w(int j) const { return _mm512_mask_blend_ps(unit, _mm512_load_ps(wt + j * kLanes), _mm512_set1_ps(1.0f)); }
};

struct SymmetricSumsX16 {
  __m512 wxl, wll;
};

template <bool kWeighted>
SymmetricSumsX16 symmetric_sums_x16(const Lanes<kWeighted> &lanes, __m512 lo, __m512 hi, __m512 iscale) {
  __m512 wxl = _mm512_setzero_ps(), wll = _mm512_setzero_ps();
  for (int j = 0; j < lanes.n; ++j) {
    const __m512 v = lanes.x(j);
    const __m512 l = clamp_level_ps(round_even_ps(_mm512_mul_ps(iscale, v)), lo, hi);
    if constexpr (kWeighted) {
      const __m512 wj = lanes.w(j);
      wxl = _mm512_add_ps(wxl, _mm512_mul_ps(_mm512_mul_ps(wj, v), l));
      wll = _mm512_add_ps(wll, _mm512_mul_ps(wj, _mm512_mul_ps(l, l)));
    } else {  // weight 1: the reference's products by 1.0f are exact
      wxl = _mm512_add_ps(wxl, _mm512_mul_ps(v, l));
      wll = _mm512_add_ps(wll, _mm512_mul_ps(l, l));
    }
  }
  return {wxl, wll};
}

template <bool kWeighted>
__m512 symmetric_x16(const Lanes<kWeighted> &lanes, const SymmetricSearch &search) {
  __m512 amax = _mm512_setzero_ps(), mx = _mm512_setzero_ps();
  for (int j = 0; j < lanes.n; ++j) {
    const __m512 v = lanes.x(j);
    const __mmask16 larger = _mm512_cmp_ps_mask(_mm512_abs_ps(v), amax, _CMP_GT_OQ);
    amax = _mm512_mask_blend_ps(larger, amax, _mm512_abs_ps(v));
    mx = _mm512_mask_blend_ps(larger, mx, v);
  }
  const __mmask16 nonzero = _mm512_cmp_ps_mask(amax, _mm512_set1_ps(kTinyBlockMagnitude), _CMP_GE_OQ);
  const __m512 anchor = search.lo == -search.hi ? amax : mx;
  const __m512 zero = _mm512_setzero_ps();
  const __m512 lo = _mm512_set1_ps(static_cast<float>(search.lo)), hi = _mm512_set1_ps(static_cast<float>(search.hi));
  __m512 best_score = zero, best_scale = zero;
  // Keeps lanes (of `candidates`) whose score beats their best; returns the lanes that improved.
  auto take_better = [&](const SymmetricSumsX16 &s, __mmask16 candidates) {
    const __mmask16 solvable = _mm512_cmp_ps_mask(s.wll, zero, _CMP_GT_OQ);
    const __m512 score = _mm512_div_ps(_mm512_mul_ps(s.wxl, s.wxl), s.wll);
    const __mmask16 better = candidates & solvable & _mm512_cmp_ps_mask(score, best_score, _CMP_GT_OQ);
    best_score = _mm512_mask_blend_ps(better, best_score, score);
    best_scale = _mm512_mask_blend_ps(better, best_scale, _mm512_div_ps(s.wxl, s.wll));
    return better;
  };
  for (const float target : search.targets) {
    take_better(symmetric_sums_x16(lanes, lo, hi, _mm512_div_ps(_mm512_set1_ps(target), anchor)), 0xffff);
  }
  __mmask16 active = _mm512_cmp_ps_mask(best_scale, zero, _CMP_NEQ_UQ);
  for (int step = 0; step < search.refine_steps && active != 0; ++step) {
    active = take_better(symmetric_sums_x16(lanes, lo, hi, _mm512_div_ps(_mm512_set1_ps(1.0f), best_scale)), active);
  }
  return _mm512_maskz_mov_ps(nonzero, best_scale);
}

struct AffineSumsX16 {
  __m512 wl, wll, wxl;
};

template <bool kWeighted>
AffineSumsX16 affine_sums_x16(const Lanes<kWeighted> &lanes, __m512 top, __m512 offset, __m512 iscale) {
  const __m512 zero = _mm512_setzero_ps();
  __m512 wl = zero, wll = zero, wxl = zero;
  for (int j = 0; j < lanes.n; ++j) {
    const __m512 v = lanes.x(j);
    const __m512 l = clamp_level_ps(round_even_ps(_mm512_mul_ps(iscale, _mm512_sub_ps(v, offset))), zero, top);
    if constexpr (kWeighted) {
      const __m512 wj = lanes.w(j);
      wl = _mm512_add_ps(wl, _mm512_mul_ps(wj, l));
      wll = _mm512_add_ps(wll, _mm512_mul_ps(wj, _mm512_mul_ps(l, l)));
      wxl = _mm512_add_ps(wxl, _mm512_mul_ps(_mm512_mul_ps(wj, v), l));
    } else {
      wl = _mm512_add_ps(wl, l);
      wll = _mm512_add_ps(wll, _mm512_mul_ps(l, l));
      wxl = _mm512_add_ps(wxl, _mm512_mul_ps(v, l));
    }
  }
  return {wl, wll, wxl};
}

template <bool kWeighted>
void affine_x16(const Lanes<kWeighted> &lanes, const AffineSearch &search, __m512 &out_scale, __m512 &out_min) {
  const bool min_at_most_zero = search.min_at_most_zero;
  const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f);
  __m512 lo = lanes.x(0), hi = lo;
  __m512 sum_w = zero, sum_wx = zero;
  for (int j = 0; j < lanes.n; ++j) {
    const __m512 v = lanes.x(j);
    lo = _mm512_min_ps(v, lo);
    hi = _mm512_max_ps(v, hi);
    if constexpr (kWeighted) {
      const __m512 wj = lanes.w(j);
      sum_w = _mm512_add_ps(sum_w, wj);
      sum_wx = _mm512_add_ps(sum_wx, _mm512_mul_ps(wj, v));
    } else {
      sum_w = _mm512_add_ps(sum_w, one);
      sum_wx = _mm512_add_ps(sum_wx, v);
    }
  }
  if (min_at_most_zero) lo = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(lo, zero, _CMP_GT_OQ), lo, zero);
  const __m512 range = _mm512_sub_ps(hi, lo);
  const __mmask16 constant = static_cast<__mmask16>(~_mm512_cmp_ps_mask(range, _mm512_set1_ps(kTinyBlockMagnitude), _CMP_GE_OQ));
  const __m512 top = _mm512_set1_ps(static_cast<float>(search.nmax));
  __m512 best_scale = _mm512_div_ps(range, top), best_min = lo;
  __m512 best_err = _mm512_set1_ps(std::numeric_limits<float>::infinity());
  // solve_affine() on 16 lanes; keeps lanes (of `candidates`) that beat their best error.
  auto take_better = [&](const AffineSumsX16 &s, __mmask16 candidates) {
    const __m512 det = _mm512_sub_ps(_mm512_mul_ps(sum_w, s.wll), _mm512_mul_ps(s.wl, s.wl));
    const __mmask16 solvable = _mm512_cmp_ps_mask(det, zero, _CMP_GT_OQ);
    __m512 scale = _mm512_div_ps(_mm512_sub_ps(_mm512_mul_ps(sum_w, s.wxl), _mm512_mul_ps(sum_wx, s.wl)), det);
    __m512 min = _mm512_div_ps(_mm512_sub_ps(_mm512_mul_ps(s.wll, sum_wx), _mm512_mul_ps(s.wl, s.wxl)), det);
    if (min_at_most_zero) {
      const __mmask16 positive = _mm512_cmp_ps_mask(min, zero, _CMP_GT_OQ);
      min = _mm512_mask_blend_ps(positive, min, zero);
      scale = _mm512_mask_blend_ps(positive, scale, _mm512_div_ps(s.wxl, s.wll));
    }
    const __m512 err = _mm512_add_ps(
        _mm512_mul_ps(scale, _mm512_sub_ps(_mm512_mul_ps(scale, s.wll), _mm512_mul_ps(two, s.wxl))),
        _mm512_mul_ps(min, _mm512_add_ps(_mm512_sub_ps(_mm512_mul_ps(min, sum_w), _mm512_mul_ps(two, sum_wx)),
                                         _mm512_mul_ps(_mm512_mul_ps(two, scale), s.wl))));
    const __mmask16 better = candidates & solvable & _mm512_cmp_ps_mask(err, best_err, _CMP_LT_OQ);
    best_err = _mm512_mask_blend_ps(better, best_err, err);
    best_scale = _mm512_mask_blend_ps(better, best_scale, scale);
    best_min = _mm512_mask_blend_ps(better, best_min, min);
    return better;
  };
  for (const float target : search.targets) {
    const __m512 iscale = _mm512_div_ps(_mm512_set1_ps(target), range);
    for (const float shift : search.shifts) {
      const __m512 offset = _mm512_add_ps(lo, _mm512_div_ps(_mm512_set1_ps(shift), iscale));
      take_better(affine_sums_x16(lanes, top, offset, iscale), 0xffff);
    }
  }
  __mmask16 active = _mm512_cmp_ps_mask(best_scale, zero, _CMP_NEQ_UQ);
  for (int step = 0; step < search.refine_steps && active != 0; ++step) {
    active = take_better(affine_sums_x16(lanes, top, best_min, _mm512_div_ps(one, best_scale)), active);
    active &= _mm512_cmp_ps_mask(best_scale, zero, _CMP_NEQ_UQ);  // the reference's loop condition
  }
  out_scale = _mm512_mask_blend_ps(constant, best_scale, zero);
  out_min = _mm512_mask_blend_ps(constant, best_min, lo);
}

// Runs fn(lanes, first_block, n_rows) over groups of 16 blocks transposed into lanes.
template <class Fn>
void for_each_group(const float *x, const float *w, int n, int64_t n_blocks, Fn &&fn) {
  alignas(64) float xt[kMaxBlockValues * kLanes];
  alignas(64) float wt[kMaxBlockValues * kLanes];
  for (int64_t b0 = 0; b0 < n_blocks; b0 += kLanes) {
    const int rows = static_cast<int>(std::min<int64_t>(kLanes, n_blocks - b0));
    transpose_blocks(x + b0 * n, n, rows, xt);
    if (w != nullptr) {
      transpose_blocks(w + b0 * n, n, rows, wt);
      fn(Lanes<true>(xt, wt, n), b0, rows);
    } else {
      fn(Lanes<false>(xt, nullptr, n), b0, rows);
    }
  }
}

}  // namespace

void best_symmetric_scales(const float *x, const float *w, int n, int64_t n_blocks, const SymmetricSearch &search,
                           float *scales) {
  if (n % kLanes != 0 || n > kMaxBlockValues) {
    best_symmetric_scales_ref(x, w, n, n_blocks, search, scales);
    return;
  }
  for_each_group(x, w, n, n_blocks, [&](const auto &lanes, int64_t b0, int rows) {
    const __m512 result = symmetric_x16(lanes, search);
    _mm512_mask_storeu_ps(scales + b0, static_cast<__mmask16>((1u << rows) - 1u), result);
  });
}

void best_affine_fits(const float *x, const float *w, int n, int64_t n_blocks, const AffineSearch &search,
                      AffineFit *fits) {
  if (n % kLanes != 0 || n > kMaxBlockValues) {
    best_affine_fits_ref(x, w, n, n_blocks, search, fits);
    return;
  }
  for_each_group(x, w, n, n_blocks, [&](const auto &lanes, int64_t b0, int rows) {
    __m512 scale, min;
    affine_x16(lanes, search, scale, min);
    alignas(64) float s[kLanes], m[kLanes];
    _mm512_store_ps(s, scale);
    _mm512_store_ps(m, min);
    for (int b = 0; b < rows; ++b) fits[b0 + b] = {s[b], m[b]};
  });
}

#else

void best_symmetric_scales(const float *x, const float *w, int n, int64_t n_blocks, const SymmetricSearch &search,
                           float *scales) {
  best_symmetric_scales_ref(x, w, n, n_blocks, search, scales);
}

void best_affine_fits(const float *x, const float *w, int n, int64_t n_blocks, const AffineSearch &search,
                      AffineFit *fits) {
  best_affine_fits_ref(x, w, n, n_blocks, search, fits);
}

#endif

}  // namespace qs
