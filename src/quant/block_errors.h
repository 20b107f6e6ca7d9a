// The exact weighted error of up to 16 small blocks quantized at given scales (and offsets): the
// k-quants use it to choose their integer sub-block scales by trying neighbours. The reference
// reads the blocks as they are; the fast path keeps them transposed into AVX-512 lanes, and each
// lane repeats the reference's operations in order, so the two agree bit for bit.
#pragma once

#include <cstdint>

namespace qs {

class BlockErrors {
 public:
  static constexpr int kLanes = 16;
  static constexpr int kMaxValues = 32;

  // n_blocks (16 or 8) blocks of n (16 or 32) values at x, weights laid out like x (nullptr: all 1).
  // Lane b of every evaluation is block b % n_blocks, so with 8 blocks two candidates for each are
  // scored per call. `fast` picks the AVX-512 form (the reference where the CPU has none).
  BlockErrors(const float *x, const float *w, int n, int n_blocks, bool fast);

  // err[b] = Σ w·(x - d[b]·q)² over lane b's block, q = nearest(x·(1/d[b])) clamped to lo..hi
  // (q = 0 where d[b] is 0): the error of the block stored with scale d[b].
  void symmetric(float lo, float hi, const float *d, float *err) const;

  // err[b] = Σ w·(x - (d[b]·q - m[b]))², q = nearest((x + m[b])·(1/d[b])) clamped to 0..nmax: the
  // error of a k-quant sub-block whose values decode as d·q - m.
  void affine(float nmax, const float *d, const float *m, float *err) const;

  // The best of several candidates per lane, scored as above: candidate k of lane b is scale
  // d[16k + b] (and min m[16l + b] for each l < n_m, visited l-major). Out: the least error per lane
  // and the index (k, and l) of the first candidate reaching it.
  void best_symmetric(float lo, float hi, const float *d, int n_d, float *err, int *k_best) const;
  void best_affine(float nmax, const float *d, int n_d, const float *m, int n_m, float *err, int *k_best,
                   int *l_best) const;

 private:
  const float *x_;
  const float *w_;
  int n_;
  int n_blocks_;
  bool fast_;
  alignas(64) float xt_[kMaxValues * kLanes];
  alignas(64) float wt_[kMaxValues * kLanes];
};

}  // namespace qs
