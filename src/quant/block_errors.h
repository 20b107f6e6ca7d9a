// The exact weighted error of up to 16 small blocks quantized at given scales (and offsets): the
// k-quants use it to choose their integer sub-block scales by trying neighbours. The reference
// (BlockErrorsRef, QS_HOST_DEVICE: the GPU's k-quant kernels run it too) reads the blocks as they
// are; the fast path keeps them transposed into AVX-512 lanes, and each lane repeats the
// reference's operations in order, so the two agree bit for bit.
#pragma once

#include <cstdint>

#include "core/host_device.h"
#include "quant/levels.h"

namespace qs {

// n_blocks (16 or 8) blocks of n (16 or 32) values at x, weights laid out like x (nullptr: all 1).
// Lane b of every evaluation is block b % n_blocks, so with 8 blocks two candidates for each are
// scored per call.
class BlockErrorsRef {
 public:
  static constexpr int kLanes = 16;

  QS_HOST_DEVICE BlockErrorsRef(const float *x, const float *w, int n, int n_blocks)
      : x_(x), w_(w), n_(n), n_blocks_(n_blocks) {}

  // err[b] = Σ w·(x - d[b]·q)² over lane b's block, q = nearest(x·(1/d[b])) clamped to lo..hi
  // (q = 0 where d[b] is 0): the error of the block stored with scale d[b].
  QS_HOST_DEVICE void symmetric(float lo, float hi, const float *d, float *err) const {
    for (int b = 0; b < kLanes; ++b) {
      const float *x = x_ + (b % n_blocks_) * n_;
      const float *w = w_ ? w_ + (b % n_blocks_) * n_ : nullptr;
      const float id = inverse_or_zero(d[b]);
      float sum = 0.0f;
      for (int j = 0; j < n_; ++j) {
        const float q = clamp_level(round_to_even(x[j] * id), lo, hi);
        const float diff = x[j] - d[b] * q;
        sum += (w ? w[j] : 1.0f) * (diff * diff);
      }
      err[b] = sum;
    }
  }

  // err[b] = Σ w·(x - (d[b]·q - m[b]))², q = nearest((x + m[b])·(1/d[b])) clamped to 0..nmax: the
  // error of a k-quant sub-block whose values decode as d·q - m.
  QS_HOST_DEVICE void affine(float nmax, const float *d, const float *m, float *err) const {
    for (int b = 0; b < kLanes; ++b) {
      const float *x = x_ + (b % n_blocks_) * n_;
      const float *w = w_ ? w_ + (b % n_blocks_) * n_ : nullptr;
      const float id = inverse_or_zero(d[b]);
      float sum = 0.0f;
      for (int j = 0; j < n_; ++j) {
        const float q = clamp_level(round_to_even((x[j] + m[b]) * id), 0.0f, nmax);
        const float diff = x[j] - (d[b] * q - m[b]);
        sum += (w ? w[j] : 1.0f) * (diff * diff);
      }
      err[b] = sum;
    }
  }

  // The best of several candidates per lane, scored as above: candidate k of lane b is scale
  // d[16k + b] (and min m[16l + b] for each l < n_m, visited l-major). Out: the least error per lane
  // and the index (k, and l) of the first candidate reaching it.
  QS_HOST_DEVICE void best_symmetric(float lo, float hi, const float *d, int n_d, float *err, int *k_best) const {
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
  QS_HOST_DEVICE void best_affine(float nmax, const float *d, int n_d, const float *m, int n_m, float *err,
                                  int *k_best, int *l_best) const {
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

 private:
  const float *x_;
  const float *w_;
  int n_;
  int n_blocks_;
};

// BlockErrorsRef's interface with the AVX-512 form beside it: `fast` picks the AVX-512 form (the
// reference where the CPU has none).
class BlockErrors {
 public:
  static constexpr int kLanes = BlockErrorsRef::kLanes;
  static constexpr int kMaxValues = 32;

  BlockErrors(const float *x, const float *w, int n, int n_blocks, bool fast);

  void symmetric(float lo, float hi, const float *d, float *err) const;
  void affine(float nmax, const float *d, const float *m, float *err) const;
  void best_symmetric(float lo, float hi, const float *d, int n_d, float *err, int *k_best) const;
  void best_affine(float nmax, const float *d, int n_d, const float *m, int n_m, float *err, int *k_best,
                   int *l_best) const;

 private:
  BlockErrorsRef ref_;
  int n_;
  bool fast_;
  alignas(64) float xt_[kMaxValues * kLanes];
  alignas(64) float wt_[kMaxValues * kLanes];
};

}  // namespace qs
