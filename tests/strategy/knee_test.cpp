// The knee rule on synthetic curves whose knee is worked out by hand in the comments. Curves are
// written as log10(error) per whole bit so that the slopes can be checked on paper; the rule
// works in ln, but slope ratios and the ranking of slope growths do not depend on the base.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "strategy/knee.h"
#include "test_support.h"

namespace qs::knee_test {
namespace {

CurvePoint point(const char *type, double bits, double log10_error) {
  return CurvePoint{type, bits, std::pow(10.0, log10_error)};
}

// Flat-ish from 8 down to 4 bits, steep below:
//   bits     8     6     5     4     3     2
//   log10  -6.0  -5.6  -5.4  -5.2  -4.2  -3.2
//   slope      0.2   0.2   0.2   1.0   1.0     (log10 per bit removed)
// The only bend is at 4 bits (1.0 / 0.2 = 5 >= 2): Q4_K is the cheapest type before the climb.
// Listed out of order on purpose.
std::vector<CurvePoint> curve_with_knee_at_q4_k() {
  return {point("Q3_K", 3, -4.2), point("Q8_0", 8, -6.0), point("Q5_K", 5, -5.4),
          point("Q2_K", 2, -3.2), point("Q4_K", 4, -5.2), point("Q6_K", 6, -5.6)};
}

const std::string &chosen_type(const std::vector<CurvePoint> &curve, const KneeChoice &choice) {
  return curve.at(choice.chosen).type;
}

TEST(Knee, ChoosesThePointJustAboveTheSteepPart) {
  const auto curve = curve_with_knee_at_q4_k();
  const KneeChoice choice = choose_knee("blk.0.attn_v.weight", curve, 0);
  EXPECT_EQ(chosen_type(curve, choice), "Q4_K");
  EXPECT_EQ(choice.rule, KneeRule::knee);
  ASSERT_TRUE(choice.knee.has_value());
  EXPECT_EQ(curve[*choice.knee].type, "Q4_K");
  EXPECT_FALSE(choice.raised_for_importance);

  // Frontier most bits first; slopes in ln units: ln(10) * the table's log10 slopes.
  std::vector<std::string> frontier_types;
  for (size_t i : choice.frontier) frontier_types.push_back(curve[i].type);
  EXPECT_EQ(frontier_types, (std::vector<std::string>{"Q8_0", "Q6_K", "Q5_K", "Q4_K", "Q3_K", "Q2_K"}));
  const double ln10 = std::log(10.0);
  const std::vector<double> expected_slopes = {0.2 * ln10, 0.2 * ln10, 0.2 * ln10, 1.0 * ln10, 1.0 * ln10};
  ASSERT_EQ(choice.slopes.size(), expected_slopes.size());
  for (size_t i = 0; i < expected_slopes.size(); ++i) EXPECT_NEAR(choice.slopes[i], expected_slopes[i], 1e-9) << i;
}

TEST(Knee, SameChoiceWhenErrorsAreScaledOrRaisedToAPower) {
  // Scaling shifts ln(error); squaring (RMSE -> MSE) doubles every slope. Neither moves the knee.
  for (double scale : {1e-4, 1e3}) {
    auto curve = curve_with_knee_at_q4_k();
    for (auto &p : curve) p.error *= scale;
    EXPECT_EQ(chosen_type(curve, choose_knee("t", curve, 0)), "Q4_K") << "scale " << scale;
  }
  for (double power : {0.5, 2.0}) {
    auto curve = curve_with_knee_at_q4_k();
    for (auto &p : curve) p.error = std::pow(p.error, power);
    EXPECT_EQ(chosen_type(curve, choose_knee("t", curve, 0)), "Q4_K") << "power " << power;
  }
}

TEST(Knee, DominatedPointsAreDroppedAndMakeNoFalseKnee) {
  auto curve = curve_with_knee_at_q4_k();
  // More bits than Q8_0 and more error: noise at the top.
  curve.push_back(point("BF16", 16, -5.7));
  // 5.5 bits at log10 -5.0: worse than Q5_K (5 bits, -5.4). Kept, it would add a slope of
  // (-5.0 + 5.6) / 0.5 = 1.2 below Q6_K, a growth of 1.0 > the real knee's 0.8: a false knee.
  curve.push_back(point("Q5_0", 5.5, -5.0));
  // Same bits as Q4_K, more error; and an exact duplicate of Q3_K (the first listed stays).
  curve.push_back(point("Q4_0", 4, -5.0));
  curve.push_back(point("Q3_K", 3, -4.2));

  const KneeChoice choice = choose_knee("t", curve, 0);
  EXPECT_EQ(chosen_type(curve, choice), "Q4_K");
  EXPECT_EQ(choice.rule, KneeRule::knee);
  // Exactly the six original points (input indices 0..5), most bits first.
  EXPECT_EQ(choice.frontier, (std::vector<size_t>{1, 5, 2, 4, 0, 3}));
}

TEST(Knee, TheLargestSlopeGrowthWinsNotTheLargestRatio) {
  //   bits     9      8      7      6      5      4      3
  //   log10  -6.00  -5.99  -5.89  -5.79  -5.69  -5.19  -4.69
  //   slope       0.01   0.10   0.10   0.10   0.50   0.50
  // At 8 bits the ratio is 10 but the slope grows by only 0.09 (a wiggle on a plateau); at 5 bits
  // the ratio is 5 and the slope grows by 0.40. Both qualify (>= 2); 5 bits bends most.
  const std::vector<CurvePoint> curve = {point("t9", 9, -6.00), point("t8", 8, -5.99), point("t7", 7, -5.89),
                                         point("t6", 6, -5.79), point("t5", 5, -5.69), point("t4", 4, -5.19),
                                         point("t3", 3, -4.69)};
  const KneeChoice choice = choose_knee("t", curve, 0);
  EXPECT_EQ(chosen_type(curve, choice), "t5");
  EXPECT_EQ(choice.rule, KneeRule::knee);
}

// A noisy straight line in log space:
//   bits     8     7     6     5     4
//   log10  -6.0  -5.4  -4.7  -4.2  -3.4
//   slope      0.6   0.7   0.5   0.8
// Ratios 7/6 = 1.17 (at 7), 5/7 = 0.71 (at 6), 8/5 = 1.6 (at 5): none reaches 2.
std::vector<CurvePoint> noisy_straight_line() {
  return {point("s8", 8, -6.0), point("s7", 7, -5.4), point("s6", 6, -4.7), point("s5", 5, -4.2),
          point("s4", 4, -3.4)};
}

TEST(Knee, FlatCurveTakesTheCheapestTypeWithinAFactorOfTheBest) {
  const auto curve = noisy_straight_line();
  // Within 10x of 1e-6: s7 (10^-5.4) is, s6 (10^-4.7) is not.
  const KneeChoice choice = choose_knee("t", curve, 0);
  EXPECT_EQ(chosen_type(curve, choice), "s7");
  EXPECT_EQ(choice.rule, KneeRule::flat);
  EXPECT_FALSE(choice.knee.has_value());

  // Within 30x (3e-5): s6 (10^-4.7 = 2.0e-5) is, s5 (10^-4.2 = 6.3e-5) is not.
  KneeThresholds wider;
  wider.flat_factor = 30;
  EXPECT_EQ(chosen_type(curve, choose_knee("t", curve, 0, wider)), "s6");

  // With relative 1.5 the bend at 5 bits (1.6) counts, and only it.
  KneeThresholds looser;
  looser.relative = 1.5;
  const KneeChoice knee = choose_knee("t", curve, 0, looser);
  EXPECT_EQ(chosen_type(curve, knee), "s5");
  EXPECT_EQ(knee.rule, KneeRule::knee);
}

TEST(Knee, TwoPointsHaveNoBendAndFallBackToFlat) {
  const std::vector<CurvePoint> curve = {point("Q4_K", 4, -3.0), point("Q8_0", 8, -6.0)};
  const KneeChoice choice = choose_knee("t", curve, 0);
  EXPECT_EQ(chosen_type(curve, choice), "Q8_0");  // 1e-3 is 1000x the best
  EXPECT_EQ(choice.rule, KneeRule::flat);
  KneeThresholds wide;
  wide.flat_factor = 2000;
  EXPECT_EQ(chosen_type(curve, choose_knee("t", curve, 0, wide)), "Q4_K");
}

TEST(Knee, SinglePointAndDominantCurves) {
  const std::vector<CurvePoint> one = {point("Q5_K", 5.5, -4)};
  const KneeChoice single = choose_knee("t", one, 1.0);
  EXPECT_EQ(single.chosen, 0u);
  EXPECT_EQ(single.rule, KneeRule::single);
  EXPECT_FALSE(single.raised_for_importance);

  // The cheapest type measured best: nothing to trade, even for an important tensor.
  const std::vector<CurvePoint> inverted = {point("Q8_0", 8.5, -3), point("Q4_K", 4.5, -4)};
  const KneeChoice dominant = choose_knee("t", inverted, 1.0);
  EXPECT_EQ(chosen_type(inverted, dominant), "Q4_K");
  EXPECT_EQ(dominant.rule, KneeRule::dominant);
  EXPECT_EQ(dominant.frontier.size(), 1u);

  // All errors zero: the cheapest.
  const std::vector<CurvePoint> zeros = {{"Q8_0", 8.5, 0}, {"Q4_K", 4.5, 0}, {"Q6_K", 6.5625, 0}};
  const KneeChoice free = choose_knee("t", zeros, 0);
  EXPECT_EQ(chosen_type(zeros, free), "Q4_K");
  EXPECT_EQ(free.rule, KneeRule::dominant);
}

TEST(Knee, AZeroErrorCountsAsATenthOfTheSmallestPositiveOne) {
  // 8 bits measured 0 -> 1e-7 (log10 -7):
  //   bits     8     6     4
  //   log10  -7    -6    -3
  //   slope     0.5   1.5      ratio 3 at 6 bits: the knee.
  // Taken as -infinity, the first slope would be infinite and no bend could follow it.
  const std::vector<CurvePoint> curve = {{"Q8_0", 8, 0}, point("Q6_K", 6, -6), point("Q4_K", 4, -3)};
  const KneeChoice choice = choose_knee("t", curve, 0);
  EXPECT_EQ(chosen_type(curve, choice), "Q6_K");
  EXPECT_EQ(choice.rule, KneeRule::knee);
  EXPECT_NEAR(choice.zero_error_as, 1e-7, 1e-20);
  ASSERT_EQ(choice.slopes.size(), 2u);
  EXPECT_NEAR(choice.slopes[0], 0.5 * std::log(10.0), 1e-9);
  for (double s : choice.slopes) EXPECT_TRUE(std::isfinite(s));
}

TEST(Knee, AbsoluteThresholdLowersTheChoiceOnlyWhenCheaper) {
  // Errors of curve_with_knee_at_q4_k: Q5_K 3.98e-6, Q4_K 6.31e-6, Q3_K 6.31e-5, Q2_K 6.31e-4.
  const auto curve = curve_with_knee_at_q4_k();
  KneeThresholds t;
  t.absolute = 5e-6;  // only Q5_K and up are free, and they cost more than the knee
  KneeChoice choice = choose_knee("t", curve, 0, t);
  EXPECT_EQ(chosen_type(curve, choice), "Q4_K");
  EXPECT_EQ(choice.rule, KneeRule::knee);

  t.absolute = 1e-4;  // Q3_K is free
  choice = choose_knee("t", curve, 0, t);
  EXPECT_EQ(chosen_type(curve, choice), "Q3_K");
  EXPECT_EQ(choice.rule, KneeRule::absolute);
  ASSERT_TRUE(choice.knee.has_value());
  EXPECT_EQ(curve[*choice.knee].type, "Q4_K");  // still shown

  t.absolute = 1e-3;  // even the cheapest type is free
  EXPECT_EQ(chosen_type(curve, choose_knee("t", curve, 0, t)), "Q2_K");

  // It also lowers a flat choice: s5 (10^-4.2 = 6.3e-5) is under 1e-4, s4 is not.
  const auto line = noisy_straight_line();
  t.absolute = 1e-4;
  choice = choose_knee("t", line, 0, t);
  EXPECT_EQ(chosen_type(line, choice), "s5");
  EXPECT_EQ(choice.rule, KneeRule::absolute);
}

TEST(Knee, AnImportantTensorGetsAStricterChoice) {
  const auto curve = curve_with_knee_at_q4_k();
  // At or above the cut (0.9): one frontier step up from the knee.
  KneeChoice choice = choose_knee("t", curve, 0.95);
  EXPECT_EQ(chosen_type(curve, choice), "Q5_K");
  EXPECT_EQ(choice.rule, KneeRule::knee);
  EXPECT_TRUE(choice.raised_for_importance);
  EXPECT_EQ(chosen_type(curve, choose_knee("t", curve, 0.89)), "Q4_K");

  // The absolute threshold shrinks with importance: 1e-4 * (1 - 0.5) = 5e-5 < Q3_K's 6.31e-5.
  KneeThresholds t;
  t.absolute = 1e-4;
  EXPECT_EQ(chosen_type(curve, choose_knee("t", curve, 0.0, t)), "Q3_K");
  EXPECT_EQ(chosen_type(curve, choose_knee("t", curve, 0.5, t)), "Q4_K");

  // Nothing above the most accurate type: no step.
  const std::vector<CurvePoint> two = {point("Q4_K", 4, -3.0), point("Q8_0", 8, -6.0)};
  const KneeChoice top = choose_knee("t", two, 1.0);
  EXPECT_EQ(chosen_type(two, top), "Q8_0");
  EXPECT_FALSE(top.raised_for_importance);
}

TEST(Knee, RaisingImportanceNeverMakesTheChoiceCheaper) {
  std::vector<std::pair<std::vector<CurvePoint>, KneeThresholds>> cases;
  for (double absolute : {0.0, 5e-6, 1e-4, 1e-3}) {
    KneeThresholds t;
    t.absolute = absolute;
    cases.emplace_back(curve_with_knee_at_q4_k(), t);
    cases.emplace_back(noisy_straight_line(), t);
  }
  for (const auto &[curve, t] : cases) {
    double previous_bits = 0;
    for (int step = 0; step <= 20; ++step) {
      const double importance = step / 20.0;
      const double bits = curve[choose_knee("t", curve, importance, t).chosen].bits;
      EXPECT_GE(bits, previous_bits) << "importance " << importance << " absolute " << t.absolute;
      previous_bits = bits;
    }
  }
}

TEST(Knee, RefusesBadInputNamingTheTensor) {
  using test::expect_error_containing;
  const std::string tensor = "blk.3.ffn_down.weight";
  expect_error_containing([&] { choose_knee(tensor, std::vector<CurvePoint>{}, 0); }, {tensor, "no measured types"});
  expect_error_containing([&] { choose_knee(tensor, std::vector<CurvePoint>{{"Q4_K", 4.5, -1}}, 0); },
                          {tensor, "Q4_K", "error"});
  expect_error_containing([&] { choose_knee(tensor, std::vector<CurvePoint>{{"Q4_K", 4.5, NAN}}, 0); },
                          {tensor, "Q4_K", "error"});
  expect_error_containing([&] { choose_knee(tensor, std::vector<CurvePoint>{{"Q4_K", 0, 1}}, 0); },
                          {tensor, "Q4_K", "bits"});
  const auto curve = curve_with_knee_at_q4_k();
  expect_error_containing([&] { choose_knee(tensor, curve, 1.5); }, {tensor, "importance"});
  KneeThresholds t;
  t.relative = 0.5;
  expect_error_containing([&] { choose_knee(tensor, curve, 0, t); }, {"relative"});
  t = {};
  t.flat_factor = 0.5;
  expect_error_containing([&] { choose_knee(tensor, curve, 0, t); }, {"flat factor"});
  t = {};
  t.absolute = -1;
  expect_error_containing([&] { choose_knee(tensor, curve, 0, t); }, {"absolute"});
}

TEST(Knee, RuleNames) {
  EXPECT_STREQ(knee_rule_name(KneeRule::single), "single");
  EXPECT_STREQ(knee_rule_name(KneeRule::dominant), "dominant");
  EXPECT_STREQ(knee_rule_name(KneeRule::knee), "knee");
  EXPECT_STREQ(knee_rule_name(KneeRule::flat), "flat");
  EXPECT_STREQ(knee_rule_name(KneeRule::absolute), "absolute");
}

}  // namespace
}  // namespace qs::knee_test
