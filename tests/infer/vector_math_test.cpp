// The vectorizable helpers against the plain loops they replace.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "infer/vector_math.h"

namespace qs {
namespace {

TEST(FastExp, WithinTwoUlpOfStdExp) {
  EXPECT_EQ(fast_exp(0.0f), 1.0f);
  EXPECT_EQ(fast_exp(-100.0f), 0.0f);
  EXPECT_EQ(fast_exp(-std::numeric_limits<float>::infinity()), 0.0f);
  double worst = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.0007f) {
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::abs(fast_exp(x) - want) / want);
  }
  EXPECT_LT(worst, 2.4e-7);  // 2 ulp of a float is 2^-22 = 2.38e-7 relative at worst
}

TEST(VectorMath, ReductionsMatchPlainLoops) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  for (int64_t n : {int64_t{1}, int64_t{15}, int64_t{16}, int64_t{17}, int64_t{100}, int64_t{3840}}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (auto &v : x) v = dist(rng);
    float max_ref = x[0];
    double sum_ref = 0, sum_exp_ref = 0;
    for (float v : x) max_ref = std::max(max_ref, v), sum_ref += v;
    for (float v : x) sum_exp_ref += std::exp(static_cast<double>(v) - max_ref);
    EXPECT_EQ(max_of(x.data(), n), max_ref);
    EXPECT_NEAR(sum_of(x.data(), n), sum_ref, 1e-4 * (1 + std::abs(sum_ref)) + 1e-5 * n);
    EXPECT_NEAR(sum_exp_shifted(x.data(), n, max_ref), sum_exp_ref, 1e-6 * sum_exp_ref);
    std::vector<float> e = x;
    exp_shifted_in_place(e.data(), n, max_ref);
    for (int64_t i = 0; i < n; ++i) EXPECT_NEAR(e[i], std::exp(double(x[i]) - max_ref), 3e-7) << i;
  }
}

}  // namespace
}  // namespace qs
