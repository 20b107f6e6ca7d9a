// The shared scale searches: the 16-lane batch form gives the reference's results bit for bit
// (tails, zero blocks, zero-weight blocks included), exact data is recovered exactly, and the
// affine search keeps the k-quants' non-positive min.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/scale_search.h"

namespace qs::scale_search_test {
namespace {

std::vector<float> heavy_tailed(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> dist(3.0f);
  std::vector<float> x(n);
  for (auto &v : x) v = 0.02f * dist(rng);
  return x;
}

std::vector<float> weights(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.5f);
  std::vector<float> w(n);
  for (auto &v : w) v = std::exp(dist(rng));
  return w;
}

constexpr std::array<float, 7> kSymmetricTargets = {-9.0f, -8.5f, -8.25f, -8.0f, -7.5f, -7.0f, -6.0f};
constexpr std::array<float, 6> kAffineTargets = {13.0f, 14.0f, 14.5f, 15.0f, 15.5f, 16.0f};
constexpr std::array<float, 3> kShifts = {-0.3f, 0.0f, 0.3f};

TEST(ScaleSearch, BatchEqualsReferenceBitForBit) {
  for (int n : {16, 32, 256}) {
    const int64_t n_blocks = 37;  // two full groups of 16 and a tail of 5
    auto x = heavy_tailed(static_cast<size_t>(n * n_blocks), 1 + n);
    auto w = weights(x.size(), 2 + n);
    std::fill(x.begin() + 3 * n, x.begin() + 4 * n, 0.0f);  // an all-zero block
    std::fill(w.begin() + 5 * n, w.begin() + 6 * n, 0.0f);  // a block without weight
    std::fill(x.begin() + 7 * n, x.begin() + 8 * n, 0.25f);  // a constant block
    for (int i = 0; i < n; ++i) x[static_cast<size_t>(9 * n + i)] = std::fabs(x[static_cast<size_t>(9 * n + i)]);
    for (const float *wp : {static_cast<const float *>(nullptr), static_cast<const float *>(w.data())}) {
      for (int refine : {0, 3}) {
        const SymmetricSearch sym{-8, 7, kSymmetricTargets, refine};
        std::vector<float> fast(n_blocks), ref(n_blocks);
        best_symmetric_scales(x.data(), wp, n, n_blocks, sym, fast.data());
        best_symmetric_scales_ref(x.data(), wp, n, n_blocks, sym, ref.data());
        EXPECT_EQ(0, std::memcmp(fast.data(), ref.data(), fast.size() * sizeof(float))) << n << " " << refine;
        for (bool min_at_most_zero : {false, true}) {
          const AffineSearch aff{15, kAffineTargets, kShifts, refine, min_at_most_zero};
          std::vector<AffineFit> fast_fits(n_blocks), ref_fits(n_blocks);
          best_affine_fits(x.data(), wp, n, n_blocks, aff, fast_fits.data());
          best_affine_fits_ref(x.data(), wp, n, n_blocks, aff, ref_fits.data());
          EXPECT_EQ(0, std::memcmp(fast_fits.data(), ref_fits.data(), fast_fits.size() * sizeof(AffineFit)))
              << n << " " << refine << " " << min_at_most_zero;
        }
      }
    }
  }
}

TEST(ScaleSearch, ExactSymmetricDataGivesItsScale) {
  // x = l / 16 with levels -8..7, the first value -0.5 (level -8): target -8 gives iscale
  // -8 / -0.5 = 16, reproducing the levels, and the least-squares fit returns 1/16 exactly (all
  // products and sums are exact in binary).
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j % 16 - 8) / 16.0f;
  const SymmetricSearch search{-8, 7, kSymmetricTargets, 2};
  EXPECT_EQ(best_symmetric_scale(x.data(), nullptr, 32, search), 1.0f / 16.0f);
  EXPECT_EQ(best_symmetric_scale(std::vector<float>(32, 0.0f).data(), nullptr, 32, search), 0.0f);
}

TEST(ScaleSearch, ExactAffineDataGivesItsScaleAndMin) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j % 16) / 8.0f - 0.5f;  // levels 0..15, min -0.5
  const AffineSearch search{15, kAffineTargets, kShifts, 1, false};
  const AffineFit fit = best_affine_fit(x.data(), nullptr, 32, search);
  EXPECT_EQ(fit.scale, 0.125f);
  EXPECT_EQ(fit.min, -0.5f);
}

TEST(ScaleSearch, AffineMinStaysAtMostZeroWhenAsked) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = 1.0f + static_cast<float>(j) / 32.0f;  // all positive
  const AffineFit free_fit = best_affine_fit(x.data(), nullptr, 32, {15, kAffineTargets, kShifts, 2, false});
  EXPECT_GT(free_fit.min, 0.9f);
  const AffineFit k_fit = best_affine_fit(x.data(), nullptr, 32, {15, kAffineTargets, kShifts, 2, true});
  EXPECT_LE(k_fit.min, 0.0f);
  EXPECT_GT(k_fit.scale, 0.0f);
}

TEST(ScaleSearch, WeightsSteerTheScale) {
  // Two values that no single scale puts both on the grid: the heavier one must be the exact one.
  std::vector<float> x(16, 0.0f);
  x[0] = 1.0f;
  x[1] = 0.37f;
  std::vector<float> w(16, 1.0f);
  w[1] = 1000.0f;
  std::array<float, 64> targets;
  for (int i = 0; i < 64; ++i) targets[i] = 4.0f + 0.0625f * static_cast<float>(i);
  const float d = best_symmetric_scale(x.data(), w.data(), 16, {-7, 7, targets, 3});
  const float level = std::nearbyint(0.37f / d);
  EXPECT_NEAR(0.37f, level * d, 0.002f);
}

}  // namespace
}  // namespace qs::scale_search_test
