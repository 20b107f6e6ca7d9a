// Rope: the two pairings on a hand-worked vector, their equivalence under llama.cpp's Q/K row
// permutation, and the scaled frequencies (linear, llama3, YaRN) against the formulas by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "infer/rope.h"

namespace qs::rope_test {
namespace {

RopeConfig four_dim_rope(RopeStyle style) {
  RopeConfig rope;
  rope.style = style;
  rope.theta = 10000.0f;
  rope.n_rot = 4;
  return rope;
}

TEST(Rope, InverseFrequenciesAreThetaPowers) {
  // n_rot = 4: theta^(-0/4) = 1 and theta^(-2/4) = 1/100.
  const auto inv = rope_inverse_frequencies(four_dim_rope(RopeStyle::NeoX));
  ASSERT_EQ(inv.size(), 2u);
  EXPECT_FLOAT_EQ(inv[0], 1.0f);
  EXPECT_FLOAT_EQ(inv[1], 0.01f);
}

TEST(Rope, InterleavedRotatesAdjacentPairs) {
  // Position 1: pair (x0, x1) turns by 1 rad, pair (x2, x3) by 0.01 rad.
  const RopeTable table = make_rope_table(four_dim_rope(RopeStyle::Normal), 2);
  float x[4] = {1, 2, 3, 4};
  apply_rope(x, 1, 4, table, 1);
  EXPECT_NEAR(x[0], 1 * std::cos(1.0) - 2 * std::sin(1.0), 1e-6);
  EXPECT_NEAR(x[1], 1 * std::sin(1.0) + 2 * std::cos(1.0), 1e-6);
  EXPECT_NEAR(x[2], 3 * std::cos(0.01) - 4 * std::sin(0.01), 1e-6);
  EXPECT_NEAR(x[3], 3 * std::sin(0.01) + 4 * std::cos(0.01), 1e-6);
}

TEST(Rope, NeoxRotatesHalves) {
  // Position 1: pair (x0, x2) turns by 1 rad, pair (x1, x3) by 0.01 rad.
  const RopeTable table = make_rope_table(four_dim_rope(RopeStyle::NeoX), 2);
  float x[4] = {1, 2, 3, 4};
  apply_rope(x, 1, 4, table, 1);
  EXPECT_NEAR(x[0], 1 * std::cos(1.0) - 3 * std::sin(1.0), 1e-6);
  EXPECT_NEAR(x[2], 3 * std::cos(1.0) + 1 * std::sin(1.0), 1e-6);
  EXPECT_NEAR(x[1], 2 * std::cos(0.01) - 4 * std::sin(0.01), 1e-6);
  EXPECT_NEAR(x[3], 4 * std::cos(0.01) + 2 * std::sin(0.01), 1e-6);
}

TEST(Rope, PositionZeroIsIdentityAndOtherHeadsRotateAlike) {
  const RopeTable table = make_rope_table(four_dim_rope(RopeStyle::NeoX), 4);
  float x[8] = {1, 2, 3, 4, 1, 2, 3, 4};
  apply_rope(x, 2, 4, table, 0);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(x[i], static_cast<float>(i % 4 + 1));
  apply_rope(x, 2, 4, table, 3);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(x[i], x[i + 4]);
}

TEST(Rope, InterleavedOnPermutedRowsEqualsNeoxOnOriginal) {
  // convert_hf_to_gguf.py permutes each head's rows so that new[2i] = old[i] and
  // new[2i+1] = old[i + d/2]; llama.cpp's NORM rope on the permuted head must then equal HF's
  // rotate_half (NEOX) on the original, permuted the same way.
  const int64_t d = 8;
  RopeConfig rope;
  rope.n_rot = d;
  rope.theta = 500.0f;
  rope.style = RopeStyle::NeoX;
  const RopeTable neox = make_rope_table(rope, 8);
  rope.style = RopeStyle::Normal;
  const RopeTable interleaved = make_rope_table(rope, 8);
  std::vector<float> original = {0.3f, -1.2f, 2.0f, 0.7f, -0.4f, 1.1f, 0.05f, -2.5f};
  std::vector<float> permuted(d);
  for (int64_t i = 0; i < d / 2; ++i) {
    permuted[static_cast<size_t>(2 * i)] = original[static_cast<size_t>(i)];
    permuted[static_cast<size_t>(2 * i + 1)] = original[static_cast<size_t>(i + d / 2)];
  }
  apply_rope(original.data(), 1, d, neox, 5);
  apply_rope(permuted.data(), 1, d, interleaved, 5);
  for (int64_t i = 0; i < d / 2; ++i) {
    EXPECT_EQ(permuted[static_cast<size_t>(2 * i)], original[static_cast<size_t>(i)]);
    EXPECT_EQ(permuted[static_cast<size_t>(2 * i + 1)], original[static_cast<size_t>(i + d / 2)]);
  }
}

TEST(Rope, PartialRotaryLeavesTheTailAlone) {
  RopeConfig rope = four_dim_rope(RopeStyle::NeoX);
  const RopeTable table = make_rope_table(rope, 2);
  float x[6] = {1, 2, 3, 4, 5, 6};  // head_dim 6, only 4 rotated
  apply_rope(x, 1, 6, table, 1);
  EXPECT_EQ(x[4], 5.0f);
  EXPECT_EQ(x[5], 6.0f);
  EXPECT_NEAR(x[0], 1 * std::cos(1.0) - 3 * std::sin(1.0), 1e-6);
}

TEST(Rope, LinearScalingDividesEveryFrequency) {
  RopeConfig rope = four_dim_rope(RopeStyle::NeoX);
  rope.scaling = RopeScalingKind::Linear;
  rope.factor = 4.0f;
  const auto inv = rope_inverse_frequencies(rope);
  EXPECT_FLOAT_EQ(inv[0], 0.25f);
  EXPECT_FLOAT_EQ(inv[1], 0.0025f);
}

TEST(Rope, Llama3ScalingKeepsHighDividesLowBlendsMiddle) {
  // Llama 3.1's values: theta 500000, 128 dims, factor 8, low 1, high 4, original context 8192.
  // Wavelength 2*pi/f < 8192/4 = 2048: kept; > 8192/1: divided by 8; between: blended with
  // smooth = (8192 / wavelength - 1) / (4 - 1).
  RopeConfig rope;
  rope.theta = 500000.0f;
  rope.n_rot = 128;
  rope.scaling = RopeScalingKind::Llama3;
  rope.factor = 8.0f;
  rope.low_freq_factor = 1.0f;
  rope.high_freq_factor = 4.0f;
  rope.original_context = 8192;
  const auto inv = rope_inverse_frequencies(rope);
  int kept = 0, divided = 0, blended = 0;
  for (int i = 0; i < 64; ++i) {
    const double f = 1.0 / std::pow(500000.0, 2.0 * i / 128.0);
    const double wavelength = 2 * std::numbers::pi / f;
    double expected;
    if (wavelength < 2048) {
      expected = f, ++kept;
    } else if (wavelength > 8192) {
      expected = f / 8, ++divided;
    } else {
      const double smooth = (8192 / wavelength - 1) / 3;
      expected = (1 - smooth) * f / 8 + smooth * f, ++blended;
    }
    EXPECT_NEAR(inv[static_cast<size_t>(i)], expected, 2e-6 * expected) << "pair " << i;
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(divided, 0);
  EXPECT_GT(blended, 0);
}

TEST(Rope, YarnRampsFromExtrapolationToInterpolation) {
  // dim 8, theta 10000, factor 4, original context 64, beta_fast 32, beta_slow 1:
  // correction dim(r) = 8 ln(64 / (2 pi r)) / (2 ln 10000): r = 32 -> -0.497, floor -> clamp 0;
  // r = 1 -> 1.008, ceil -> 2. Ramp (i - 0) / 2 over pairs 0..3 = 0, .5, 1, 1, so pair 0 keeps
  // 10000^0 = 1, pair 1 is half 0.1 and half 0.1/4, pairs 2 and 3 are 0.01/4 and 0.001/4.
  RopeConfig rope;
  rope.theta = 10000.0f;
  rope.n_rot = 8;
  rope.scaling = RopeScalingKind::Yarn;
  rope.factor = 4.0f;
  rope.original_context = 64;
  rope.attention_factor = 1.1386294f;  // 0.1 ln 4 + 1, applied to cos and sin
  const auto inv = rope_inverse_frequencies(rope);
  ASSERT_EQ(inv.size(), 4u);
  EXPECT_FLOAT_EQ(inv[0], 1.0f);
  EXPECT_FLOAT_EQ(inv[1], 0.0625f);
  EXPECT_FLOAT_EQ(inv[2], 0.0025f);
  EXPECT_FLOAT_EQ(inv[3], 0.00025f);
  const RopeTable table = make_rope_table(rope, 3);
  EXPECT_NEAR(table.cos[2 * 4 + 0], std::cos(2.0) * 1.1386294, 1e-6);
  EXPECT_NEAR(table.sin[2 * 4 + 1], std::sin(0.125) * 1.1386294, 1e-6);
}

TEST(Rope, FreqFactorsDivideFrequencies) {
  RopeConfig rope = four_dim_rope(RopeStyle::Normal);
  rope.freq_factors = {1.0f, 8.0f};
  const auto inv = rope_inverse_frequencies(rope);
  EXPECT_FLOAT_EQ(inv[0], 1.0f);
  EXPECT_FLOAT_EQ(inv[1], 0.00125f);
}

}  // namespace
}  // namespace qs::rope_test
