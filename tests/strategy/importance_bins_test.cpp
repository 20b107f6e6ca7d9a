// Importance bins: the spec grammar, percentiles worked out by hand, and the minimum-type choice.
// Bits per weight are ggml's (block bytes * 8 / block size, ggml-common.h): Q8_0 8.5, Q6_K
// 6.5625, Q5_K 5.5, Q4_K 4.5, Q4_0 4.5, IQ4_XS 4.25, Q3_K 3.4375, Q2_K 2.625.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "strategy/importance_bins.h"
#include "test_support.h"

namespace qs::importance_bins_test {
namespace {

using test::expect_error_containing;

TEST(ImportanceBins, ParsesASpecHighestPercentileFirst) {
  const auto bins = parse_importance_bins("90:Q6_K,50:Q5_K,0:Q4_K");
  ASSERT_EQ(bins.size(), 3u);
  EXPECT_EQ(bins[0].min_percentile, 90);
  EXPECT_STREQ(bins[0].min_type->name, "Q6_K");
  EXPECT_EQ(bins[0].min_type->bits_per_weight(), 6.5625);
  EXPECT_EQ(bins[1].min_percentile, 50);
  EXPECT_STREQ(bins[1].min_type->name, "Q5_K");
  EXPECT_EQ(bins[2].min_percentile, 0);
  EXPECT_STREQ(bins[2].min_type->name, "Q4_K");
}

TEST(ImportanceBins, ItemsInAnyOrderWithSpacesAndLowerCaseNames) {
  const auto bins = parse_importance_bins(" 0:q4_k , 90 : Q6_K,50.5:iq4_xs ");
  ASSERT_EQ(bins.size(), 3u);
  EXPECT_EQ(bins[0].min_percentile, 90);
  EXPECT_STREQ(bins[0].min_type->name, "Q6_K");
  EXPECT_EQ(bins[1].min_percentile, 50.5);
  EXPECT_STREQ(bins[1].min_type->name, "IQ4_XS");
  EXPECT_EQ(bins[2].min_percentile, 0);
  EXPECT_STREQ(bins[2].min_type->name, "Q4_K");

  const auto one = parse_importance_bins("0:Q8_0");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_STREQ(one[0].min_type->name, "Q8_0");
}

TEST(ImportanceBins, MalformedSpecsNameTheBadItem) {
  expect_error_containing([] { parse_importance_bins("90Q6_K,0:Q4_K"); }, {"'90Q6_K'", "no ':'"});
  expect_error_containing([] { parse_importance_bins("101:Q6_K,0:Q4_K"); }, {"101:Q6_K", "outside [0, 100]"});
  expect_error_containing([] { parse_importance_bins("-5:Q6_K,0:Q4_K"); }, {"-5:Q6_K", "outside [0, 100]"});
  expect_error_containing([] { parse_importance_bins("top:Q6_K,0:Q4_K"); }, {"top:Q6_K", "not a percentile"});
  expect_error_containing([] { parse_importance_bins("90x:Q6_K,0:Q4_K"); }, {"90x:Q6_K", "not a percentile"});
  expect_error_containing([] { parse_importance_bins(":Q6_K,0:Q4_K"); }, {":Q6_K", "not a percentile"});
  expect_error_containing([] { parse_importance_bins("90:Q9_Z,0:Q4_K"); }, {"90:Q9_Z", "unknown type 'Q9_Z'"});
  expect_error_containing([] { parse_importance_bins("90:,0:Q4_K"); }, {"'90:'", "unknown type"});
  expect_error_containing([] { parse_importance_bins("50:Q5_K,50.0:Q6_K,0:Q4_K"); },
                          {"'50:Q5_K'", "'50.0:Q6_K'", "repeat percentile"});
  expect_error_containing([] { parse_importance_bins("90:Q6_K,50:Q5_K"); }, {"no bin starts at 0"});
  expect_error_containing([] { parse_importance_bins("90:Q6_K,,0:Q4_K"); }, {"empty item"});
  expect_error_containing([] { parse_importance_bins("0:Q4_K,"); }, {"empty item"});
  expect_error_containing([] { parse_importance_bins("  "); }, {"empty spec"});
}

TEST(ImportanceBins, PercentilesCountTheStrictlyLowerAndShareTies) {
  // Importances 3, 1, 2, 2, 5: strictly lower counts 3, 0, 1, 1, 4; n - 1 = 4.
  const std::vector<double> importances = {3.0, 1.0, 2.0, 2.0, 5.0};
  EXPECT_EQ(importance_percentiles(importances), (std::vector<double>{75, 0, 25, 25, 100}));
  EXPECT_EQ(importance_percentiles(std::vector<double>{2, 2, 2}), (std::vector<double>{0, 0, 0}));
  EXPECT_EQ(importance_percentiles(std::vector<double>{7}), (std::vector<double>{100}));
  EXPECT_TRUE(importance_percentiles(std::vector<double>{}).empty());
  expect_error_containing([] { importance_percentiles(std::vector<double>{1, NAN}); }, {"importance 1"});
}

TEST(ImportanceBins, APercentileFallsInTheBinAtOrBelowIt) {
  const auto bins = parse_importance_bins("90:Q6_K,50:Q5_K,0:Q4_K");
  const std::pair<double, const char *> cases[] = {{100, "Q6_K"}, {90, "Q6_K"}, {89.99, "Q5_K"},
                                                   {50, "Q5_K"},  {49.9, "Q4_K"}, {0, "Q4_K"}};
  for (const auto &[percentile, type] : cases)
    EXPECT_STREQ(bin_for_percentile(bins, percentile).min_type->name, type) << percentile;
  expect_error_containing([&] { bin_for_percentile(bins, 100.5); }, {"100.5", "outside"});
  // Bins built by hand without a 0 bin leave the lowest percentiles uncovered.
  const ImportanceBin top_only[] = {{50, bins[0].min_type}};
  expect_error_containing([&] { bin_for_percentile(top_only, 10); }, {"no bin holds percentile 10"});
}

TEST(ImportanceBins, ChoosesTheCheapestCandidateAtOrAboveTheMinimum) {
  const std::vector<TypeCandidate> candidates = {
      {"Q3_K", 3.4375}, {"Q8_0", 8.5}, {"Q5_K", 5.5}, {"Q4_K", 4.5}, {"Q6_K", 6.5625}};
  const auto bins = parse_importance_bins("90:Q6_K,50:Q5_K,20:IQ4_XS,0:Q2_K");
  const std::pair<double, size_t> cases[] = {
      {95, 4},  // Q6_K
      {60, 2},  // Q5_K
      {30, 3},  // IQ4_XS (4.25) is not a candidate: Q4_K (4.5) is the cheapest above it
      {5, 0},   // Q2_K (2.625): Q3_K is the cheapest candidate of all
  };
  for (const auto &[percentile, expected] : cases) {
    const BinTypeChoice choice = choose_bin_type(candidates, bin_for_percentile(bins, percentile));
    EXPECT_EQ(choice.index, expected) << percentile;
    EXPECT_FALSE(choice.below_minimum) << percentile;
  }

  // Compared by bits: Q4_0 has the bits of Q4_K, and is listed first.
  const std::vector<TypeCandidate> same_bits = {{"Q4_0", 4.5}, {"Q4_K", 4.5}, {"Q8_0", 8.5}};
  EXPECT_EQ(choose_bin_type(same_bits, bins[3]).index, 0u);
  EXPECT_EQ(choose_bin_type(same_bits, parse_importance_bins("0:Q4_K")[0]).index, 0u);

  // Bits rounded on the way through a CSV still meet the minimum.
  const std::vector<TypeCandidate> rounded = {{"Q6_K", 6.5624999}, {"Q8_0", 8.5}};
  EXPECT_EQ(choose_bin_type(rounded, bins[0]).index, 0u);
}

TEST(ImportanceBins, CandidatesAllBelowTheMinimumGiveTheMostBitsFlagged) {
  const std::vector<TypeCandidate> candidates = {{"Q3_K", 3.4375}, {"IQ4_XS", 4.25}, {"Q2_K", 2.625}};
  const BinTypeChoice choice = choose_bin_type(candidates, parse_importance_bins("0:Q6_K")[0]);
  EXPECT_EQ(choice.index, 1u);
  EXPECT_TRUE(choice.below_minimum);
  expect_error_containing([] { choose_bin_type(std::vector<TypeCandidate>{}, parse_importance_bins("0:Q6_K")[0]); },
                          {"no candidate", "Q6_K"});
}

TEST(ImportanceBins, FromImportancesToMinimumTypes) {
  // Importances 0.1, 9, 0.5, 3, 0.5 -> percentiles 0, 100, 25, 75, 25 (strictly lower / 4).
  const std::vector<double> importances = {0.1, 9.0, 0.5, 3.0, 0.5};
  const auto bins = parse_importance_bins("90:Q6_K,50:Q5_K,0:Q4_K");
  const std::vector<TypeCandidate> candidates = {{"Q4_K", 4.5}, {"Q5_K", 5.5}, {"Q6_K", 6.5625}, {"Q8_0", 8.5}};
  const std::vector<std::string> expected = {"Q4_K", "Q6_K", "Q4_K", "Q5_K", "Q4_K"};
  const auto percentiles = importance_percentiles(importances);
  for (size_t i = 0; i < importances.size(); ++i) {
    const BinTypeChoice choice = choose_bin_type(candidates, bin_for_percentile(bins, percentiles[i]));
    EXPECT_EQ(candidates[choice.index].type, expected[i]) << "tensor " << i;
  }
}

}  // namespace
}  // namespace qs::importance_bins_test
