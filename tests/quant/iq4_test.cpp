// IQ4_NL and IQ4_XS against their format definition (ggml-common.h): hand-built blocks decode to
// hand-computed floats, exactly representable data survives a round trip, and the quantizer beats
// the plain "largest value to the end level" scale.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/iquants.h"

namespace qs::iq4_test {
namespace {

// kvalues_iq4nl as printed in ggml-common.h, written out again here so the test does not read the
// table under test.
constexpr int kLevels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

using DequantizeFn = void (*)(const void *, float *, int64_t);

TEST(Iq4Nl, GoldenBlockIndexesEveryLevel) {
  // d = 0.5 is f16 0x3800 (sign 0, exponent 14 - 15 = -1, mantissa 0), stored little-endian.
  // Byte j holds index j in its low nibble (value j) and 15 - j in its high nibble (value j + 16).
  uint8_t block[18] = {0x00, 0x38};
  for (int j = 0; j < 16; ++j) block[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  // Value j = 0.5 * level[j]; value 16 + j = 0.5 * level[15 - j].
  const float expected[32] = {
      -63.5f, -52.0f, -41.5f, -32.5f, -24.5f, -17.5f, -11.0f, -5.0f,   // 0.5 * (-127 ... -10)
      0.5f,   6.5f,   12.5f,  19.0f,  26.5f,  34.5f,  44.5f,  56.5f,   // 0.5 * (1 ... 113)
      56.5f,  44.5f,  34.5f,  26.5f,  19.0f,  12.5f,  6.5f,   0.5f,    // the same, high nibbles 15 ... 8
      -5.0f,  -11.0f, -17.5f, -24.5f, -32.5f, -41.5f, -52.0f, -63.5f,  // high nibbles 7 ... 0
  };
  for (DequantizeFn dequantize : {dequantize_iq4_nl, dequantize_iq4_nl_ref}) {
    float y[32];
    dequantize(block, y, 32);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(expected[j], y[j]) << "value " << j;
  }
}

TEST(Iq4Nl, NegativeScaleFlipsEveryValue) {
  // d = -2.0 is f16 0xC000 (sign 1, exponent 16 - 15 = 1). All nibbles 0x0 and 0xF:
  // low = -2 * -127 = 254, high = -2 * 113 = -226.
  uint8_t block[18] = {0x00, 0xC0};
  std::memset(block + 2, 0xF0, 16);
  float y[32];
  dequantize_iq4_nl(block, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(254.0f, y[j]);
    EXPECT_EQ(-226.0f, y[j + 16]);
  }
}

// An IQ4_XS super-block with d = 0.25 (f16 0x3400: exponent 13 - 15 = -2) and 6-bit sub-block scales
// ls = {0, 1, 31, 32, 33, 47, 63, 40}, i.e. ls - 32 = {-32, -31, -1, 0, 1, 15, 31, 8}.
//   low nibbles of ls:   0, 1, 15, 0, 1, 15, 15, 8  -> scales_l = {0x10, 0x0F, 0xF1, 0x8F}
//   high 2 bits of ls:   0, 0, 1,  2, 2, 2,  3,  2  -> scales_h = 1<<4 | 2<<6 | 2<<8 | 2<<10 | 3<<12 | 2<<14
//                                                              = 0x0010 + 0x0080 + 0x0200 + 0x0800 + 0x3000 + 0x8000
//                                                              = 0xBA90, stored as 0x90, 0xBA
// Sub-block i, byte j (j < 16) holds index (j + i) % 16 low and (15 - j) high.
std::vector<uint8_t> golden_iq4_xs_block() {
  std::vector<uint8_t> block = {0x00, 0x34, 0x90, 0xBA, 0x10, 0x0F, 0xF1, 0x8F};
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 16; ++j) block.push_back(static_cast<uint8_t>(((j + i) % 16) | ((15 - j) << 4)));
  }
  return block;
}

TEST(Iq4Xs, GoldenSuperBlockDecodesWithSixBitScales) {
  const auto block = golden_iq4_xs_block();
  ASSERT_EQ(136u, block.size());
  const float sub_scale[8] = {-8.0f, -7.75f, -0.25f, 0.0f, 0.25f, 3.75f, 7.75f, 2.0f};  // 0.25 * (ls - 32)
  for (DequantizeFn dequantize : {dequantize_iq4_xs, dequantize_iq4_xs_ref}) {
    std::vector<float> y(256);
    dequantize(block.data(), y.data(), 256);
    // A few written out: sub-block 0, value 0: -8 * level[0] = -8 * -127 = 1016.
    EXPECT_EQ(1016.0f, y[0]);
    // Sub-block 0, value 16 (high nibble of byte 0 = 15): -8 * 113 = -904.
    EXPECT_EQ(-904.0f, y[16]);
    // Sub-block 1, value 0 (index 1): -7.75 * -104 = 806.
    EXPECT_EQ(806.0f, y[32]);
    // Sub-block 3 has scale 0: every value is +0 or -0.
    for (int j = 96; j < 128; ++j) EXPECT_EQ(0.0f, y[j]);
    // Sub-block 5, value 3 (index (3 + 5) % 16 = 8): 3.75 * 1 = 3.75.
    EXPECT_EQ(3.75f, y[5 * 32 + 3]);
    // Sub-block 6, value 31 (high nibble of byte 15 = 0): 7.75 * -127 = -984.25.
    EXPECT_EQ(-984.25f, y[6 * 32 + 31]);
    // Sub-block 7, value 20 (high nibble of byte 4 = 11): 2 * 38 = 76.
    EXPECT_EQ(76.0f, y[7 * 32 + 20]);
    // And every value by the format's formula.
    for (int i = 0; i < 8; ++i) {
      for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(sub_scale[i] * kLevels[(j + i) % 16], y[32 * i + j]) << i << "," << j;
        EXPECT_EQ(sub_scale[i] * kLevels[15 - j], y[32 * i + 16 + j]) << i << "," << j;
      }
    }
  }
}

using QuantizeFn = void (*)(const float *, void *, int64_t, int64_t, const float *);

std::vector<float> dequantized(DequantizeFn dequantize, const std::vector<uint8_t> &q, size_t n) {
  std::vector<float> y(n);
  dequantize(q.data(), y.data(), static_cast<int64_t>(n));
  return y;
}

TEST(Iq4Nl, RepresentableBlocksRoundTripExactly) {
  // Each block is d * level with d a power of two, both end levels present: the quantizer must find
  // d and every level (with and without importance, fast and reference).
  std::vector<float> x(64);
  const float d[2] = {0.0078125f, -0.25f};
  for (int b = 0; b < 2; ++b) {
    for (int j = 0; j < 32; ++j) x[32 * b + j] = d[b] * kLevels[(j * 7 + b) % 16];
  }
  std::vector<float> importance(64, 1.0f);
  importance[3] = 20.0f;
  for (QuantizeFn quantize : {quantize_iq4_nl, quantize_iq4_nl_ref}) {
    for (const float *imp : {static_cast<const float *>(nullptr), static_cast<const float *>(importance.data())}) {
      std::vector<uint8_t> q(36);
      quantize(x.data(), q.data(), 1, 64, imp);
      EXPECT_EQ(x, dequantized(dequantize_iq4_nl, q, 64));
    }
  }
}

TEST(Iq4Xs, RepresentableSuperBlockRoundTripsExactly) {
  // Sub-block i is 2^-8 * l_i * level with l_i in [-32, 31], one of them -32 (the end ggml maps
  // the largest scale to); every sub-block holds both end levels.
  const int l[8] = {-32, 5, -7, 31, 1, -1, 16, -20};
  std::vector<float> x(256);
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 32; ++j) x[32 * i + j] = 0.00390625f * static_cast<float>(l[i]) * kLevels[(j * 5 + i) % 16];
  }
  for (QuantizeFn quantize : {quantize_iq4_xs, quantize_iq4_xs_ref}) {
    std::vector<uint8_t> q(136);
    quantize(x.data(), q.data(), 1, 256, nullptr);
    EXPECT_EQ(x, dequantized(dequantize_iq4_xs, q, 256));
  }
}

TEST(Iq4Nl, AllZeroBlockDecodesToZero) {
  std::vector<float> x(32, 0.0f);
  std::vector<uint8_t> q(18, 0xAA);
  quantize_iq4_nl(x.data(), q.data(), 1, 32, nullptr);
  for (float v : dequantized(dequantize_iq4_nl, q, 32)) EXPECT_EQ(0.0f, v);
}

// The plain baseline from the format alone: per block of 32, d = max / -127 (the largest magnitude
// to the first level) and the nearest level for each value. The quantizer must do better (it does
// by about 6%).
double baseline_iq4_nl_error(const std::vector<float> &x) {
  double err = 0;
  for (size_t b = 0; b < x.size(); b += 32) {
    float max = 0;
    for (size_t j = b; j < b + 32; ++j) {
      if (std::fabs(x[j]) > std::fabs(max)) max = x[j];
    }
    const float d = max / -127.0f;
    for (size_t j = b; j < b + 32; ++j) {
      double best = 1e30;
      for (int level : kLevels) best = std::min(best, std::pow(x[j] - static_cast<double>(d) * level, 2));
      err += best;
    }
  }
  return err;
}

TEST(Iq4Nl, BeatsTheLargestValueScale) {
  std::mt19937 rng(3);
  std::student_t_distribution<float> dist(4.0f);
  std::vector<float> x(4096);
  for (auto &v : x) v = 0.01f * dist(rng);
  std::vector<uint8_t> q(4096 / 32 * 18);
  quantize_iq4_nl(x.data(), q.data(), 1, 4096, nullptr);
  const auto y = dequantized(dequantize_iq4_nl, q, 4096);
  double err = 0;
  for (size_t i = 0; i < x.size(); ++i) err += std::pow(static_cast<double>(x[i]) - y[i], 2);
  EXPECT_LT(err, 0.97 * baseline_iq4_nl_error(x));
}

}  // namespace
}  // namespace qs::iq4_test
