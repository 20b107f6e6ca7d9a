// The vectorizable helpers against the plain loops they replace, and the AVX-512 paths against their
// scalar references, bit for bit.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "infer/vector_math.h"

namespace qs::vector_math_test {
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

TEST(FastExp, VectorLanesGiveTheScalarBits) {
#if defined(__AVX512F__) || defined(__AVX2__)
  // Compared as bits, so that EXPECT_EQ tells -0 from +0 and compares NaNs.
  const auto bits_of = [](float v) { return std::bit_cast<uint32_t>(v); };
  std::vector<float> x;
  for (float v = -120.0f; v <= 120.0f; v += 0.0137f) x.push_back(v);
  const float inf = std::numeric_limits<float>::infinity();
  for (float v : {0.0f, -0.0f, -87.3f, 88.7f, std::nextafter(-87.3f, 0.0f), std::nextafter(-87.3f, -inf),
                  std::nextafter(88.7f, inf), -inf, inf, std::numeric_limits<float>::denorm_min(), 1e30f, -1e30f,
                  std::numeric_limits<float>::quiet_NaN()})
    x.push_back(v);
  while (x.size() % 16 != 0) x.push_back(0.5f);
  float y[16];
#if defined(__AVX512F__)
  for (size_t i = 0; i < x.size(); i += 16) {
    _mm512_storeu_ps(y, fast_exp_16(_mm512_loadu_ps(x.data() + i)));
    for (int l = 0; l < 16; ++l) EXPECT_EQ(bits_of(y[l]), bits_of(fast_exp(x[i + l]))) << x[i + l];
  }
#endif
#if defined(__AVX2__)
  for (size_t i = 0; i < x.size(); i += 8) {
    _mm256_storeu_ps(y, fast_exp_8(_mm256_loadu_ps(x.data() + i)));
    for (int l = 0; l < 8; ++l) EXPECT_EQ(bits_of(y[l]), bits_of(fast_exp(x[i + l]))) << x[i + l];
  }
#endif
#else
  GTEST_SKIP() << "no vector paths in this build";
#endif
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

TEST(VectorMath, FirstMaxIndexIsThePlainLoopsIndex) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  const float inf = std::numeric_limits<float>::infinity();
  auto check = [](const std::vector<float> &x, const char *what) {
    const int64_t n = static_cast<int64_t>(x.size());
    int64_t want = 0;  // the plain loop, written out here as the independent reference
    for (int64_t i = 1; i < n; ++i)
      if (x[i] > x[want]) want = i;
    EXPECT_EQ(first_max_index(x.data(), n), want) << what << ", n = " << n;
    EXPECT_EQ(first_max_index_ref(x.data(), n), want) << what << ", n = " << n;
  };
  // Lengths around the vector widths (16 lanes, 64 per step, 128 before the fast path starts).
  for (int64_t n : {1, 2, 15, 16, 17, 63, 64, 65, 127, 128, 129, 191, 192, 193, 1003, 3840, 150000}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (auto &v : x) v = normal(rng);
    check(x, "random");
    // Ties: values on a coarse grid, so the max appears in many lanes; the first must win.
    for (auto &v : x) v = std::round(v / 4.0f);
    check(x, "ties on a grid");
    // The max at the very end (the scalar tail), at the start, and duplicated in both.
    std::fill(x.begin(), x.end(), -5.0f);
    x.back() = 7.0f;
    check(x, "max last");
    x.front() = 7.0f;
    check(x, "max first and last");
    std::fill(x.begin(), x.end(), 1.0f);
    check(x, "all equal");
    std::fill(x.begin(), x.end(), -inf);
    check(x, "all -inf");
    for (size_t i = 0; i < x.size(); ++i) x[i] = i % 3 == 0 ? -inf : -1e30f * static_cast<float>(1 + i % 5);
    check(x, "very negative");
  }
  // The same max in two lanes of one vector step and in a later step: the earliest index.
  std::vector<float> x(1000, 0.0f);
  x[700] = x[300] = x[301] = x[999] = 2.0f;
  check(x, "max in several lanes");
  // NaN is never greater, so the plain loop skips it; a NaN at 0 is never replaced.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (size_t at : {size_t{0}, size_t{1}, size_t{63}, size_t{300}, size_t{999}}) {
    std::vector<float> y = x;
    y[at] = nan;
    check(y, "a NaN");
    for (size_t i = at; i < y.size(); i += 64) y[i] = nan;  // a whole lane of NaN
    check(y, "a lane of NaN");
  }
}

TEST(VectorMath, ExpAndGapSumsGiveTheReferenceBits) {
  std::mt19937 rng(12);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  // Lengths around the 16-wide steps, the 8-wide one after them and the scalar tail.
  for (int64_t n : {0, 1, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40, 3840, 3847, 150001}) {
    std::vector<float> x(static_cast<size_t>(n)), p(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      // Some entries far below the shift, where e^x underflows to 0.
      x[i] = i % 11 == 3 ? -150.0f - uniform(rng) * 1e4f : normal(rng);
      p[i] = uniform(rng);
    }
    const float shift = n > 0 ? max_of(x.data(), n) : 0.0f;
    const ExpAndGapSums ref = exp_and_gap_sums_ref(x.data(), p.data(), n, shift);
    const ExpAndGapSums fast = exp_and_gap_sums(x.data(), p.data(), n, shift);
    EXPECT_EQ(fast.exp, ref.exp) << n;
    EXPECT_EQ(fast.gap, ref.gap) << n;
    EXPECT_EQ(exp_and_gap_sums(x.data(), nullptr, n, shift).exp, ref.exp) << n;
    EXPECT_EQ(sum_exp_shifted(x.data(), n, shift), ref.exp) << n;
    EXPECT_EQ(sum_exp_shifted_ref(x.data(), n, shift), ref.exp) << n;
    // Against plain long double sums. Each exp term is within fast_exp's 2^-22 (relative) of
    // e^a for the float argument a = x - shift, which is itself within 2^-24 |a| of the exact
    // difference; the gap products are exact in double, so only that rounding of a remains. Both
    // double sums add their own rounding, (n / 8 + 8) steps of 2^-53 at most.
    long double exp_sum = 0, exp_bound = 0, gap_sum = 0, gap_bound = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const long double a = static_cast<long double>(x[i]) - shift, e = std::exp(a);
      exp_sum += e;
      exp_bound += e * (0x1p-22L + 0x1p-24L * std::abs(a));
      gap_sum += p[i] * a;
      gap_bound += p[i] * 0x1p-24L * std::abs(a);
    }
    const long double sum_rounding = 0x1p-53L * static_cast<long double>(n / 8 + 8);
    EXPECT_NEAR(fast.exp, static_cast<double>(exp_sum), static_cast<double>(exp_bound + sum_rounding * exp_sum)) << n;
    const long double gap_tolerance = gap_bound + sum_rounding * gap_bound / 0x1p-24L;
    EXPECT_NEAR(fast.gap, static_cast<double>(gap_sum), static_cast<double>(gap_tolerance)) << n;
  }
}

}  // namespace
}  // namespace qs::vector_math_test
