// MXFP4: each of the 16 E2M1 codes and the E8M0 "half" scale decode as the format defines, values
// on the grid survive quantization exactly, and importance steers the shared exponent.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/mxfp4.h"
#include "quant/types.h"

namespace qs::mxfp4_test {
namespace {

using Dequantize = void (*)(const void *, float *, int64_t);
using Quantize = void (*)(const float *, void *, int64_t, int64_t, const float *);

std::vector<float> decode(const BlockMXFP4 &b, Dequantize dequantize) {
  std::vector<float> y(32);
  dequantize(&b, y.data(), 32);
  return y;
}

TEST(Mxfp4Golden, EachOfTheSixteenCodes) {
  // E2M1 code s·e1e0·m (sign, 2 exponent bits, 1 mantissa bit): 0b0000 = 0, 0b0001 = 0.5 (subnormal),
  // 0b0010 = 1, 0b0011 = 1.5, 0b0100 = 2, 0b0101 = 3, 0b0110 = 4, 0b0111 = 6, then the same negated.
  // ggml keeps them doubled and halves the scale: e = 127 means scale 2^0 = 1, half scale 0.5, so
  // code c decodes to 2·E2M1(c) · 0.5 = E2M1(c). Byte j = j | (15 - j) << 4: value j has code j,
  // value j + 16 code 15 - j.
  BlockMXFP4 b;
  b.e = 127;
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const float e2m1[16] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f, -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};
  for (Dequantize dequantize : {quant_type(GgmlType::MXFP4).dequantize, quant_type(GgmlType::MXFP4).dequantize_ref}) {
    const auto y = decode(b, dequantize);
    for (int j = 0; j < 16; ++j) {
      EXPECT_EQ(y[j], e2m1[j]) << "code " << j;
      EXPECT_EQ(y[j + 16], e2m1[15 - j]) << "code " << 15 - j;
    }
    // ggml's table holds 0 for code 8 (not -0): 0 · 0.5 = +0.
    EXPECT_FALSE(std::signbit(y[8]));
  }
}

TEST(Mxfp4Golden, E8M0HalfScale) {
  // Code 2 (value 2 doubled) times the half scale 2^(e - 128) gives 2^(e - 127): e = 130 → 8,
  // e = 120 → 2^-7. The format's corners, as ggml decodes them: e = 0 → 2^-128 and e = 1 → 2^-127
  // (subnormal f32 halves), e = 254 → 2^126, e = 255 → 2^127.
  const struct {
    uint8_t e;
    float half_scale;
  } cases[] = {{130, 4.0f}, {120, 0.0078125f / 2}, {0, std::ldexp(1.0f, -128)}, {1, std::ldexp(1.0f, -127)},
               {2, std::ldexp(1.0f, -126)}, {254, std::ldexp(1.0f, 126)}, {255, std::ldexp(1.0f, 127)}};
  for (const auto &c : cases) {
    EXPECT_EQ(e8m0_to_f32_half(c.e), c.half_scale) << int(c.e);
    BlockMXFP4 b;
    b.e = c.e;
    std::memset(b.qs, 0x21, sizeof(b.qs));  // value j: code 1 (1·half), value j + 16: code 2 (2·half)
    for (Dequantize dequantize : {quant_type(GgmlType::MXFP4).dequantize, quant_type(GgmlType::MXFP4).dequantize_ref}) {
      const auto y = decode(b, dequantize);
      EXPECT_EQ(y[0], c.half_scale) << int(c.e);
      EXPECT_EQ(y[16], 2.0f * c.half_scale) << int(c.e);
    }
  }
}

TEST(Mxfp4Quantize, ValuesOnTheGridComeBackExactly) {
  // Each block: all 16 codes times 2^(e - 128) for a per-block e, with ±12 present so the block's
  // largest magnitude is 6·2^(e - 127) and ggml's exponent floor(log2 max) - 2 + 127 = e is exact.
  std::mt19937 rng(4);
  std::vector<float> x(256), importance(256);
  std::vector<int> exponents(8);
  for (int b = 0; b < 8; ++b) {
    exponents[b] = 100 + 7 * b;
    const float half = e8m0_to_f32_half(static_cast<uint8_t>(exponents[b]));
    for (int j = 0; j < 32; ++j) x[32 * b + j] = static_cast<float>(kMxfp4Values[j < 16 ? j : rng() % 16]) * half;
  }
  for (auto &w : importance) w = 0.5f + static_cast<float>(rng() % 50);
  const QuantType &type = quant_type(GgmlType::MXFP4);
  for (Quantize quantize : {type.quantize, type.quantize_ref}) {
    for (const float *w : {static_cast<const float *>(nullptr), static_cast<const float *>(importance.data())}) {
      std::vector<BlockMXFP4> q(8);
      quantize(x.data(), q.data(), 1, 256, w);
      std::vector<float> y(256);
      type.dequantize(q.data(), y.data(), 256);
      for (int i = 0; i < 256; ++i) ASSERT_EQ(y[i], x[i]) << i;
      for (int b = 0; b < 8; ++b) EXPECT_EQ(q[b].e, exponents[b]);
    }
  }
}

TEST(Mxfp4Quantize, AllZeroBlockIsAllZeroBytes) {
  std::vector<float> x(32, 0.0f);
  BlockMXFP4 b;
  std::memset(&b, 0xAB, sizeof b);
  quant_type(GgmlType::MXFP4).quantize(x.data(), &b, 1, 32, nullptr);
  EXPECT_EQ(b.e, 0);
  for (int j = 0; j < 16; ++j) EXPECT_EQ(b.qs[j], 0);
}

TEST(Mxfp4Quantize, ImportanceSteersTheExponent) {
  // Block 0: one value 3.9 among 31 values 0.14..0.18; ggml's exponent is floor(log2 3.9) - 2 + 127
  // = 126 (half scale 0.25). Squared errors by hand (half scale h, grid h·{0,1,2,3,4,6,8,12}):
  //   e 127 (h 0.5): 3.9 → 4 (0.0001); the small values → 0 (Σ ≈ 0.80)           total ≈ 0.80
  //   e 126 (h 0.25): 3.9 → 3 (0.81); small → 0.25 (Σ ≈ 0.26)                     total ≈ 1.07
  //   e 125 (h 0.125): 3.9 → 1.5 (5.76); small → 0.125 (Σ ≈ 0.044)                total ≈ 5.80
  // Unweighted, e = 127 wins. With importance 100 on the small values, 0 on 3.9 and on the other 31
  // blocks, the floored weights (importance + 0.7 × the row mean ≈ 2.1) make the small values ~49×
  // heavier: e 125 scores 5.76·2.1 + 0.044·102 ≈ 16.6, e 126 0.81·2.1 + 0.26·102 ≈ 28, e 127 ≈ 82.
  std::vector<float> x(1024, 0.01f), importance(1024, 0.0f);
  for (int j = 0; j < 32; ++j) {
    x[j] = 0.14f + 0.01f * static_cast<float>(j % 5);
    importance[j] = 100.0f;
  }
  x[7] = 3.9f;
  importance[7] = 0.0f;
  const QuantType &type = quant_type(GgmlType::MXFP4);
  for (Quantize quantize : {type.quantize, type.quantize_ref}) {
    std::vector<BlockMXFP4> plain(32), weighted(32);
    quantize(x.data(), plain.data(), 1, 1024, nullptr);
    quantize(x.data(), weighted.data(), 1, 1024, importance.data());
    EXPECT_EQ(plain[0].e, 127);
    EXPECT_EQ(weighted[0].e, 125);
  }
}

}  // namespace
}  // namespace qs::mxfp4_test
