// Exact weighted errors of small blocks at given scales: the plain reference and the AVX-512 form.
#include "quant/block_errors.h"

#include <cmath>

#include "quant/levels.h"

namespace qs {

BlockErrors::BlockErrors(const float *x, const float *w, int n, int n_blocks, bool fast)
    : x_(x), w_(w), n_(n), n_blocks_(n_blocks), fast_(fast) {
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
  for (int b = 0; b < kLanes; ++b) {
    const float *x = x_ + (b % n_blocks_) * n_;
    const float *w = w_ ? w_ + (b % n_blocks_) * n_ : nullptr;
    const float id = inverse_or_zero(d[b]);
    float sum = 0.0f;
    for (int j = 0; j < n_; ++j) {
      const float q = clamp_level(std::nearbyint(x[j] * id), lo, hi);
      const float diff = x[j] - d[b] * q;
      sum += (w ? w[j] : 1.0f) * (diff * diff);
    }
    err[b] = sum;
  }
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
  for (int b = 0; b < kLanes; ++b) {
    const float *x = x_ + (b % n_blocks_) * n_;
    const float *w = w_ ? w_ + (b % n_blocks_) * n_ : nullptr;
    const float id = inverse_or_zero(d[b]);
    float sum = 0.0f;
    for (int j = 0; j < n_; ++j) {
      const float q = clamp_level(std::nearbyint((x[j] + m[b]) * id), 0.0f, nmax);
      const float diff = x[j] - (d[b] * q - m[b]);
      sum += (w ? w[j] : 1.0f) * (diff * diff);
    }
    err[b] = sum;
  }
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
  for (int k = 0; k < n_d; ++k) {
    float e[kLanes];
    symmetric(lo, hi, d + 16 * k, e);
    for (int b = 0; b < kLanes; ++b) {
      if (k == 0 || e[b] < err[b]) {
        err[b] = e[b];
        k_best[b] = k;
      }
    }
  }
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
  for (int l = 0; l < n_m; ++l) {
    for (int k = 0; k < n_d; ++k) {
      float e[kLanes];
      affine(nmax, d + 16 * k, m + 16 * l, e);
      for (int b = 0; b < kLanes; ++b) {
        if ((l == 0 && k == 0) || e[b] < err[b]) {
          err[b] = e[b];
          k_best[b] = k;
          l_best[b] = l;
        }
      }
    }
  }
}

}  // namespace qs
