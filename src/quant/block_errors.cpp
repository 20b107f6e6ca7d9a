// Exact weighted errors of small blocks at given scales: the AVX-512 form beside the reference
// (BlockErrorsRef in block_errors.h).
#include "quant/block_errors.h"

#include <cmath>

#include "quant/levels.h"

namespace qs {

BlockErrors::BlockErrors(const float *x, const float *w, int n, int n_blocks, bool fast)
    : ref_(x, w, n, n_blocks), n_(n), fast_(fast) {
#if defined(__AVX512F__)
  if (fast_) {
    for (int j = 0; j < n; ++j) {
      for (int b = 0; b < kLanes; ++b) {
        const int block = b % n_blocks;
        xt_[j * kLanes + b] = x[block * n + j];
        wt_[j * kLanes + b] = w ? w[block * n + j] : 1.0f;
      }
    }
  }
#else
  fast_ = false;
#endif
}

void BlockErrors::symmetric(float lo, float hi, const float *d, float *err) const {
#if defined(__AVX512F__)
  if (fast_) {
    const __m512 vd = _mm512_loadu_ps(d);
    const __m512 zero = _mm512_setzero_ps();
    const __mmask16 nonzero = _mm512_cmp_ps_mask(vd, zero, _CMP_NEQ_UQ);
    const __m512 id = _mm512_maskz_div_ps(nonzero, _mm512_set1_ps(1.0f), vd);  // inverse_or_zero
    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    __m512 sum = zero;
    for (int j = 0; j < n_; ++j) {
      const __m512 v = _mm512_load_ps(xt_ + j * kLanes);
      const __m512 q = clamp_level_ps(round_even_ps(_mm512_mul_ps(v, id)), vlo, vhi);
      const __m512 diff = _mm512_sub_ps(v, _mm512_mul_ps(vd, q));
      sum = _mm512_add_ps(sum, _mm512_mul_ps(_mm512_load_ps(wt_ + j * kLanes), _mm512_mul_ps(diff, diff)));
    }
    _mm512_storeu_ps(err, sum);
    return;
  }
#endif
  ref_.symmetric(lo, hi, d, err);
}

void BlockErrors::affine(float nmax, const float *d, const float *m, float *err) const {
#if defined(__AVX512F__)
  if (fast_) {
    const __m512 vd = _mm512_loadu_ps(d), vm = _mm512_loadu_ps(m);
    const __m512 zero = _mm512_setzero_ps();
    const __mmask16 nonzero = _mm512_cmp_ps_mask(vd, zero, _CMP_NEQ_UQ);
    const __m512 id = _mm512_maskz_div_ps(nonzero, _mm512_set1_ps(1.0f), vd);
    const __m512 top = _mm512_set1_ps(nmax);
    __m512 sum = zero;
    for (int j = 0; j < n_; ++j) {
      const __m512 v = _mm512_load_ps(xt_ + j * kLanes);
      const __m512 q = clamp_level_ps(round_even_ps(_mm512_mul_ps(_mm512_add_ps(v, vm), id)), zero, top);
      const __m512 diff = _mm512_sub_ps(v, _mm512_sub_ps(_mm512_mul_ps(vd, q), vm));
      sum = _mm512_add_ps(sum, _mm512_mul_ps(_mm512_load_ps(wt_ + j * kLanes), _mm512_mul_ps(diff, diff)));
    }
    _mm512_storeu_ps(err, sum);
    return;
  }
#endif
  ref_.affine(nmax, d, m, err);
}

void BlockErrors::best_symmetric(float lo, float hi, const float *d, int n_d, float *err, int *k_best) const {
#if defined(__AVX512F__)
  if (fast_) {
    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi), zero = _mm512_setzero_ps();
    __m512 best = zero;
    __m512i best_k = _mm512_setzero_si512();
    for (int k = 0; k < n_d; ++k) {
      const __m512 vd = _mm512_loadu_ps(d + 16 * k);
      const __m512 id = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(vd, zero, _CMP_NEQ_UQ), _mm512_set1_ps(1.0f), vd);
      __m512 sum = zero;
      for (int j = 0; j < n_; ++j) {
        const __m512 v = _mm512_load_ps(xt_ + j * kLanes);
        const __m512 q = clamp_level_ps(round_even_ps(_mm512_mul_ps(v, id)), vlo, vhi);
        const __m512 diff = _mm512_sub_ps(v, _mm512_mul_ps(vd, q));
        sum = _mm512_add_ps(sum, _mm512_mul_ps(_mm512_load_ps(wt_ + j * kLanes), _mm512_mul_ps(diff, diff)));
      }
      const __mmask16 better = k == 0 ? __mmask16(0xffff) : _mm512_cmp_ps_mask(sum, best, _CMP_LT_OQ);
      best = _mm512_mask_blend_ps(better, best, sum);
      best_k = _mm512_mask_blend_epi32(better, best_k, _mm512_set1_epi32(k));
    }
    _mm512_storeu_ps(err, best);
    _mm512_storeu_si512(k_best, best_k);
    return;
  }
#endif
  ref_.best_symmetric(lo, hi, d, n_d, err, k_best);
}

void BlockErrors::best_affine(float nmax, const float *d, int n_d, const float *m, int n_m, float *err, int *k_best,
                              int *l_best) const {
#if defined(__AVX512F__)
  if (fast_) {
    const __m512 top = _mm512_set1_ps(nmax), zero = _mm512_setzero_ps();
    __m512 best = zero;
    __m512i best_k = _mm512_setzero_si512(), best_l = _mm512_setzero_si512();
    for (int l = 0; l < n_m; ++l) {
      const __m512 vm = _mm512_loadu_ps(m + 16 * l);
      for (int k = 0; k < n_d; ++k) {
        const __m512 vd = _mm512_loadu_ps(d + 16 * k);
        const __m512 id = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(vd, zero, _CMP_NEQ_UQ), _mm512_set1_ps(1.0f), vd);
        __m512 sum = zero;
        for (int j = 0; j < n_; ++j) {
          const __m512 v = _mm512_load_ps(xt_ + j * kLanes);
          const __m512 q = clamp_level_ps(round_even_ps(_mm512_mul_ps(_mm512_add_ps(v, vm), id)), zero, top);
          const __m512 diff = _mm512_sub_ps(v, _mm512_sub_ps(_mm512_mul_ps(vd, q), vm));
          sum = _mm512_add_ps(sum, _mm512_mul_ps(_mm512_load_ps(wt_ + j * kLanes), _mm512_mul_ps(diff, diff)));
        }
        const __mmask16 better = l == 0 && k == 0 ? __mmask16(0xffff) : _mm512_cmp_ps_mask(sum, best, _CMP_LT_OQ);
        best = _mm512_mask_blend_ps(better, best, sum);
        best_k = _mm512_mask_blend_epi32(better, best_k, _mm512_set1_epi32(k));
        best_l = _mm512_mask_blend_epi32(better, best_l, _mm512_set1_epi32(l));
      }
    }
    _mm512_storeu_ps(err, best);
    _mm512_storeu_si512(k_best, best_k);
    _mm512_storeu_si512(l_best, best_l);
    return;
  }
#endif
  ref_.best_affine(nmax, d, n_d, m, n_m, err, k_best, l_best);
}

}  // namespace qs
