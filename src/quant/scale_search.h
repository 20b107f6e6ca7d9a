// Searches for the scale of a block of values stored as evenly spaced integer levels, shared by the
// legacy, k-quant and ternary quantizers: symmetric (x ≈ d·l) and affine (x ≈ d·l + m) levels.
// Each search has a plain per-block reference and a batch form that runs 16 blocks side by side in
// AVX-512 lanes (each lane doing the reference's arithmetic in the reference's order, so the two
// agree bit for bit; tests/quant/scale_search_test.cpp checks it).
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace qs {

// N evenly spaced candidate targets from first to last (for the searches below).
template <int N>
constexpr std::array<float, N> even_targets(float first, float last) {
  std::array<float, N> t{};
  for (int i = 0; i < N; ++i) t[i] = N == 1 ? first : first + (last - first) * static_cast<float>(i) / (N - 1);
  return t;
}

// Blocks whose largest magnitude is below this are all-zero blocks (their scale would not survive
// the f16 rounding anyway, and dividing by them overflows).
inline constexpr float kTinyBlockMagnitude = 1e-30f;

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
  std::span<const float> targets;
  int refine_steps = 0;
};

// The scale for one block of n values; 0 for a block whose values are all zero. w: n non-negative
// weights, or nullptr for all ones; a block whose weights sum to 0 is treated as unweighted.
float best_symmetric_scale(const float *x, const float *w, int n, const SymmetricSearch &search);

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
  std::span<const float> targets;
  std::span<const float> shifts;
  int refine_steps = 0;
  bool min_at_most_zero = false;
};

// The fit for one block; a constant block gives scale 0 and its value as min.
AffineFit best_affine_fit(const float *x, const float *w, int n, const AffineSearch &search);

void best_affine_fits(const float *x, const float *w, int n, int64_t n_blocks, const AffineSearch &search,
                      AffineFit *fits);
void best_affine_fits_ref(const float *x, const float *w, int n, int64_t n_blocks, const AffineSearch &search,
                          AffineFit *fits);

}  // namespace qs
