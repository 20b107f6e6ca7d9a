// The budget optimiser against independent solvers written here from the problem's definition: full
// enumeration for small instances, a dynamic programme over byte capacity (in units of the gcd of
// all sizes) for medium realistic ones, and a hand-worked instance for the seed's greedy.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "strategy/mix_optimizer.h"
#include "strategy/realistic_mix_instance.h"
#include "test_support.h"

namespace qs::mix_optimizer_test {
namespace {

using test::budget_at_bpw;
using test::realistic_instance;

constexpr double kInf = std::numeric_limits<double>::infinity();

bool close(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(b)); }

uint64_t bytes_of(const std::vector<MixGroup> &groups, const std::vector<int> &choice) {
  uint64_t bytes = 0;
  for (size_t g = 0; g < groups.size(); ++g) bytes += groups[g][choice[g]].bytes;
  return bytes;
}

double error_of(const std::vector<MixGroup> &groups, const std::vector<int> &choice) {
  double error = 0;
  for (size_t g = 0; g < groups.size(); ++g) error += groups[g][choice[g]].error;
  return error;
}

// Checks that a solution is a real mix within the budget whose stated totals are its own.
void expect_consistent(const std::vector<MixGroup> &groups, const MixSolution &s, uint64_t budget) {
  ASSERT_EQ(s.choice.size(), groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    ASSERT_GE(s.choice[g], 0);
    ASSERT_LT(s.choice[g], static_cast<int>(groups[g].size()));
  }
  EXPECT_EQ(s.bytes, bytes_of(groups, s.choice));
  EXPECT_LE(s.bytes, budget);
  EXPECT_TRUE(close(s.error, error_of(groups, s.choice)));
  EXPECT_LE(s.lower_bound, s.error);
}

// Every mix of a small instance, as (bytes, error), and their lower convex hull.
struct Enumerated {
  std::vector<uint64_t> bytes;
  std::vector<double> error;
  std::vector<std::pair<double, double>> hull;  // (bytes, error), from the smallest to the least-error mix

  explicit Enumerated(const std::vector<MixGroup> &groups) {
    std::vector<int> choice(groups.size(), 0);
    for (;;) {
      bytes.push_back(bytes_of(groups, choice));
      error.push_back(error_of(groups, choice));
      size_t g = 0;
      while (g < groups.size() && ++choice[g] == static_cast<int>(groups[g].size())) choice[g++] = 0;
      if (g == groups.size()) break;
    }
    std::vector<size_t> order(bytes.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return bytes[a] != bytes[b] ? bytes[a] < bytes[b] : error[a] < error[b]; });
    for (const size_t i : order) {
      const double x = double(bytes[i]), y = error[i];
      if (!hull.empty() && y >= hull.back().second) continue;  // dominated
      while (hull.size() >= 2) {
        const auto [x0, y0] = hull[hull.size() - 2];
        const auto [x1, y1] = hull.back();
        if ((y1 - y0) * (x - x0) < (y - y0) * (x1 - x0)) break;  // (x1, y1) lies below the chord
        hull.pop_back();
      }
      hull.emplace_back(x, y);
    }
  }
  // Least error of a mix within the budget; infinity when none fits.
  double best_within(uint64_t budget) const {
    double best = kInf;
    for (size_t i = 0; i < bytes.size(); ++i)
      if (bytes[i] <= budget) best = std::min(best, error[i]);
    return best;
  }
  // The LP relaxation's optimum at the budget (>= the smallest mix): the hull evaluated there, flat
  // past the least-error mix.
  double relaxed_within(uint64_t budget) const {
    const double b = double(budget);
    if (b >= hull.back().first) return hull.back().second;
    size_t k = 0;
    while (hull[k + 1].first <= b) ++k;
    return hull[k].second + (hull[k + 1].second - hull[k].second) * (b - hull[k].first) / (hull[k + 1].first - hull[k].first);
  }
};

// A small instance made to hit the awkward cases: few distinct byte sizes and errors (so equal
// bytes, equal errors and dominated options are common), zero errors, single-option groups.
std::vector<MixGroup> small_instance(std::mt19937 &rng) {
  const int n_groups = 1 + static_cast<int>(rng() % 8);
  const bool coarse = rng() % 2 == 0;  // errors from a grid of quarters rather than continuous
  std::vector<MixGroup> groups(n_groups);
  for (auto &group : groups) {
    const int n_options = 1 + static_cast<int>(rng() % 6);
    for (int j = 0; j < n_options; ++j) {
      const uint64_t bytes = rng() % 12;
      const double error = coarse ? 0.25 * static_cast<double>(rng() % 9)
                                  : std::uniform_real_distribution<double>(0, 3)(rng);
      group.push_back({bytes, error});
    }
  }
  return groups;
}

// Budgets worth asking for: below the smallest mix, at it, exactly at some mixes' totals, just
// below a total, in between, at and past the largest.
std::vector<uint64_t> budgets_for(const std::vector<MixGroup> &groups, const Enumerated &all, std::mt19937 &rng) {
  const uint64_t lo = smallest_mix_bytes(groups), hi = largest_mix_bytes(groups);
  std::vector<uint64_t> budgets = {lo, hi, hi + 5};
  if (lo > 0) budgets.push_back(lo - 1);
  for (int i = 0; i < 4; ++i) {
    const uint64_t total = all.bytes[rng() % all.bytes.size()];
    budgets.push_back(total);
    if (total > 0) budgets.push_back(total - 1);
  }
  budgets.push_back(lo + rng() % (hi - lo + 1));
  return budgets;
}

TEST(MixOptimizer, EqualsEnumerationOnSmallInstances) {
  std::mt19937 rng(20240617);
  int n_checked = 0, n_infeasible = 0;
  for (int instance = 0; instance < 400; ++instance) {
    const auto groups = small_instance(rng);
    const Enumerated all(groups);
    for (const uint64_t budget : budgets_for(groups, all, rng)) {
      SCOPED_TRACE(testing::Message() << "instance " << instance << ", budget " << budget);
      const double best = all.best_within(budget);
      const auto s = optimize_mix(groups, budget);
      ASSERT_EQ(s.has_value(), best != kInf);
      if (!s) {
        ++n_infeasible;
        EXPECT_FALSE(greedy_mix(groups, budget).has_value());
        continue;
      }
      expect_consistent(groups, *s, budget);
      EXPECT_TRUE(close(s->error, best)) << s->error << " vs enumerated " << best;
      EXPECT_TRUE(s->proven_optimal);
      const double relaxed = std::min(all.relaxed_within(budget), s->error);
      EXPECT_TRUE(close(s->lower_bound, relaxed)) << s->lower_bound << " vs relaxation " << relaxed;
      ++n_checked;
    }
  }
  EXPECT_GT(n_checked, 3000);
  EXPECT_GT(n_infeasible, 200);
}

TEST(MixOptimizer, GreedyAndStoppedSearchStayBetweenTheBounds) {
  // The seed's greedy and a search cut off by max_nodes must return real mixes no better than the
  // optimum, with a lower bound no higher than it.
  std::mt19937 rng(77);
  for (int instance = 0; instance < 300; ++instance) {
    const auto groups = small_instance(rng);
    const Enumerated all(groups);
    for (const uint64_t budget : budgets_for(groups, all, rng)) {
      const double best = all.best_within(budget);
      if (best == kInf) continue;
      SCOPED_TRACE(testing::Message() << "instance " << instance << ", budget " << budget);
      const auto greedy = greedy_mix(groups, budget);
      ASSERT_TRUE(greedy);
      expect_consistent(groups, *greedy, budget);
      EXPECT_GE(greedy->error, best - 1e-12);
      EXPECT_TRUE(close(greedy->lower_bound, std::min(all.relaxed_within(budget), greedy->error)));
      for (const int64_t max_nodes : {0, 1, 3}) {
        const auto s = optimize_mix(groups, budget, {max_nodes});
        ASSERT_TRUE(s);
        expect_consistent(groups, *s, budget);
        EXPECT_GE(s->error, best - 1e-12);
        EXPECT_LE(s->lower_bound, best + 1e-12);
        EXPECT_LE(s->nodes, max_nodes);
        if (s->proven_optimal) {
          EXPECT_TRUE(close(s->error, best));
        }
      }
    }
  }
}

TEST(MixOptimizer, ParetoCurveIsTheLowerHullOfAllMixes) {
  std::mt19937 rng(4242);
  for (int instance = 0; instance < 300; ++instance) {
    SCOPED_TRACE(testing::Message() << "instance " << instance);
    const auto groups = small_instance(rng);
    const Enumerated all(groups);
    const ParetoCurve curve = pareto_curve(groups);
    ASSERT_GE(curve.size(), 1u);
    EXPECT_EQ(curve.bytes_at(0), smallest_mix_bytes(groups));
    // The last point is the least-error mix, and the smallest of those.
    const double least_error = *std::min_element(all.error.begin(), all.error.end());
    uint64_t least_error_bytes = std::numeric_limits<uint64_t>::max();
    for (size_t i = 0; i < all.bytes.size(); ++i)
      if (all.error[i] == least_error) least_error_bytes = std::min(least_error_bytes, all.bytes[i]);
    EXPECT_TRUE(close(curve.error_at(curve.size() - 1), least_error));
    EXPECT_EQ(curve.bytes_at(curve.size() - 1), least_error_bytes);
    for (size_t i = 0; i < curve.size(); ++i) {
      const auto choice = curve.choice_at(i);
      EXPECT_EQ(bytes_of(groups, choice), curve.bytes_at(i));
      EXPECT_TRUE(close(error_of(groups, choice), curve.error_at(i)));
      EXPECT_TRUE(close(curve.error_at(i), all.best_within(curve.bytes_at(i)))) << "point " << i;
      EXPECT_EQ(curve.last_point_within(curve.bytes_at(i)), i);
      if (i == 0) continue;
      EXPECT_GT(curve.bytes_at(i), curve.bytes_at(i - 1));
      EXPECT_LT(curve.error_at(i), curve.error_at(i - 1));
      if (i + 1 < curve.size()) {  // convex: the saving per byte never rises
        const double before = (curve.error_at(i - 1) - curve.error_at(i)) / double(curve.bytes_at(i) - curve.bytes_at(i - 1));
        const double after = (curve.error_at(i) - curve.error_at(i + 1)) / double(curve.bytes_at(i + 1) - curve.bytes_at(i));
        EXPECT_LE(after, before + 1e-12);
      }
    }
    // No mix lies below the curve between its ends.
    for (size_t m = 0; m < all.bytes.size(); ++m) {
      const auto point = curve.last_point_within(all.bytes[m]);
      ASSERT_TRUE(point);
      if (*point + 1 >= curve.size()) continue;
      const double b0 = double(curve.bytes_at(*point)), b1 = double(curve.bytes_at(*point + 1));
      const double e0 = curve.error_at(*point), e1 = curve.error_at(*point + 1);
      const double on_curve = e0 + (e1 - e0) * (double(all.bytes[m]) - b0) / (b1 - b0);
      EXPECT_GE(all.error[m], on_curve - 1e-9) << "mix " << m;
    }
  }
}

// Least error within each capacity, by dynamic programming over capacity in units of the gcd of all
// sizes: best[c] for c = 0..budget/unit.
std::vector<double> capacity_dp(const std::vector<MixGroup> &groups, uint64_t budget, uint64_t &unit) {
  unit = 0;
  for (const auto &group : groups)
    for (const auto &o : group) unit = std::gcd(unit, o.bytes);
  const size_t capacity = budget / unit;
  EXPECT_LT(capacity, 5'000'000u) << "instance too fine-grained for the reference DP";
  std::vector<double> best(capacity + 1, kInf), next(capacity + 1);
  best[0] = 0;
  for (const auto &group : groups) {
    std::fill(next.begin(), next.end(), kInf);
    for (size_t c = 0; c <= capacity; ++c) {
      if (best[c] == kInf) continue;
      for (const auto &o : group) {
        const size_t to = c + o.bytes / unit;
        if (to <= capacity) next[to] = std::min(next[to], best[c] + o.error);
      }
    }
    best.swap(next);
  }
  for (size_t c = 1; c <= capacity; ++c) best[c] = std::min(best[c], best[c - 1]);  // "within", not "exactly"
  return best;
}

TEST(MixOptimizer, EqualsCapacityDpOnMediumRealisticInstances) {
  for (const uint32_t seed : {1u, 2u, 3u}) {
    const auto groups = realistic_instance(40, seed);
    uint64_t unit = 0;
    const auto best = capacity_dp(groups, largest_mix_bytes(groups), unit);
    for (const double bpw : {2.0, 2.7, 3.5, 4.8, 7.0}) {
      SCOPED_TRACE(testing::Message() << "seed " << seed << ", " << bpw << " bpw");
      const uint64_t budget = budget_at_bpw(groups, bpw);
      const auto s = optimize_mix(groups, budget);
      ASSERT_TRUE(s);
      expect_consistent(groups, *s, budget);
      EXPECT_TRUE(s->proven_optimal);
      EXPECT_TRUE(close(s->error, best[budget / unit])) << s->error << " vs DP " << best[budget / unit];
      const auto stopped = optimize_mix(groups, budget, {10});
      ASSERT_TRUE(stopped);
      expect_consistent(groups, *stopped, budget);
      EXPECT_LE(stopped->lower_bound, best[budget / unit] + 1e-12);
    }
    // Every Pareto point is optimal at its own bytes, by the DP and by the optimiser.
    const ParetoCurve curve = pareto_curve(groups);
    EXPECT_GT(curve.size(), 300u);
    for (size_t i = 0; i < curve.size(); ++i) {
      SCOPED_TRACE(testing::Message() << "seed " << seed << ", point " << i);
      EXPECT_TRUE(close(curve.error_at(i), best[curve.bytes_at(i) / unit]));
      const auto s = optimize_mix(groups, curve.bytes_at(i));
      ASSERT_TRUE(s);
      EXPECT_TRUE(close(s->error, curve.error_at(i)));
      EXPECT_TRUE(s->proven_optimal);
    }
  }
}

TEST(MixOptimizer, LargeRealisticInstanceIsProvenAndBeatsGreedy) {
  const auto groups = realistic_instance(600, 11);
  const ParetoCurve curve = pareto_curve(groups);
  for (const double bpw : {2.7, 3.5, 4.8}) {
    SCOPED_TRACE(testing::Message() << bpw << " bpw");
    const uint64_t budget = budget_at_bpw(groups, bpw);
    const auto s = optimize_mix(groups, budget);
    const auto greedy = greedy_mix(groups, budget);
    ASSERT_TRUE(s && greedy);
    expect_consistent(groups, *s, budget);
    expect_consistent(groups, *greedy, budget);
    EXPECT_TRUE(s->proven_optimal);
    EXPECT_LE(s->error, greedy->error);
    EXPECT_LE(s->lower_bound, s->error);
    // The Pareto point within the budget is optimal at fewer bytes, so it cannot beat the optimum.
    const auto point = curve.last_point_within(budget);
    ASSERT_TRUE(point);
    EXPECT_GE(curve.error_at(*point), s->error - 1e-9);
    // Independent necessary condition: no single change of one tensor's type improves a fitting mix.
    for (size_t g = 0; g < groups.size(); ++g) {
      const MixOption &now = groups[g][s->choice[g]];
      for (const MixOption &o : groups[g])
        if (s->bytes - now.bytes + o.bytes <= budget) {
          EXPECT_GE(o.error, now.error - 1e-12) << "group " << g;
        }
    }
  }
}

// Hand-worked. Non-dominated: A {10:5, 20:2, 30:1} (25:3 loses to 20:2), B {8:4, 16:1} (20:1 loses
// to 16:1), C {5:9, 12:3, 20:2.5} (15:3 loses to 12:3). Greedy starts at A30 B16 C20 = 66 bytes,
// error 4.5. Error added per byte saved: A 30->20 1/10, B 16->8 3/8, C 20->12 0.5/8. Budget 47:
// C 20->12 (0.0625) -> 58; A 30->20 (0.1) -> 48; then A 20->10 (3/10 = 0.3, below B's 0.375 and C's
// 12->5 6/7) -> 38 bytes, error 5 + 1 + 3 = 9. The optimum keeps C at 20: A10 B16 C20 = 46 bytes,
// error 5 + 1 + 2.5 = 8.5 (enumerating the 4 x 3 x 4 mixes confirms no better one fits).
const std::vector<MixGroup> kHandInstance = {
    {{10, 5}, {20, 2}, {30, 1}, {25, 3}},
    {{8, 4}, {16, 1}, {20, 1}},
    {{5, 9}, {15, 3}, {12, 3}, {20, 2.5}},
};

TEST(MixOptimizer, GreedyFollowsTheHandWorkedSteps) {
  const auto greedy = greedy_mix(kHandInstance, 47);
  ASSERT_TRUE(greedy);
  EXPECT_EQ(greedy->choice, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(greedy->bytes, 38u);
  EXPECT_DOUBLE_EQ(greedy->error, 9.0);
  EXPECT_EQ(greedy->nodes, 3);

  const auto best = optimize_mix(kHandInstance, 47);
  ASSERT_TRUE(best);
  EXPECT_EQ(best->choice, (std::vector<int>{0, 1, 3}));
  EXPECT_EQ(best->bytes, 46u);
  EXPECT_DOUBLE_EQ(best->error, 8.5);

  // Room for the least-error mix: no moves. Below the smallest mix (10 + 8 + 5): nothing fits.
  const auto roomy = greedy_mix(kHandInstance, 66);
  ASSERT_TRUE(roomy);
  EXPECT_EQ(roomy->choice, (std::vector<int>{2, 1, 3}));
  EXPECT_EQ(roomy->nodes, 0);
  EXPECT_EQ(smallest_mix_bytes(kHandInstance), 23u);
  EXPECT_EQ(largest_mix_bytes(kHandInstance), 70u);
  EXPECT_FALSE(greedy_mix(kHandInstance, 22));
  EXPECT_FALSE(optimize_mix(kHandInstance, 22));

  // Equal costs: the lower group moves first.
  const auto tied = greedy_mix({{{10, 1}, {20, 0}}, {{10, 1}, {20, 0}}}, 30);
  ASSERT_TRUE(tied);
  EXPECT_EQ(tied->choice, (std::vector<int>{0, 1}));
}

TEST(MixOptimizer, HugeByteCountsAndEdgeCases) {
  // Sizes near 2^62: sums and prices must not overflow or lose the last byte.
  const uint64_t big = uint64_t{1} << 62;
  const std::vector<MixGroup> groups = {{{big, 3}, {big + 1, 1}}, {{big / 2, 2}, {big / 2 + 2, 0}}};
  const auto tight = optimize_mix(groups, big + big / 2 + 1);
  ASSERT_TRUE(tight);
  EXPECT_EQ(tight->choice, (std::vector<int>{1, 0}));  // 1 + 2 beats 3 + 0
  const auto exact = optimize_mix(groups, big + big / 2 + 3);
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->choice, (std::vector<int>{1, 1}));
  EXPECT_EQ(exact->bytes, big + big / 2 + 3);
  EXPECT_FALSE(optimize_mix(groups, big + big / 2 - 1));

  const auto none = optimize_mix({}, 0);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->choice.empty());
  EXPECT_EQ(pareto_curve({}).size(), 1u);
}

TEST(MixOptimizer, RejectsBadInput) {
  test::expect_error_containing([] { optimize_mix({{{1, 0}}, {}}, 10); }, {"group 1", "no candidate"});
  test::expect_error_containing([] { pareto_curve({{{1, std::nan("")}}}); }, {"group 0", "option 0", "non-finite"});
  const uint64_t top = std::numeric_limits<uint64_t>::max();
  test::expect_error_containing([&] { greedy_mix({{{top, 0}}, {{1, 0}}}, top); }, {"overflows"});
}

}  // namespace
}  // namespace qs::mix_optimizer_test
