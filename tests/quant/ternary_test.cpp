// TQ1_0 and TQ2_0: hand-packed blocks decode to the trits the format defines (TQ1_0's base-3 bytes
// read with the multiply-and-shift trick), truly ternary weights come back exactly, and the scale
// search beats the plain d = max|x| rule on ordinary weights.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/ternary.h"
#include "quant/types.h"

namespace qs::ternary_test {
namespace {

using Dequantize = void (*)(const void *, float *, int64_t);
using Quantize = void (*)(const float *, void *, int64_t, int64_t, const float *);

// The format's encoding of trits t0 (most significant) .. t4: ceil(q · 256 / 243), q = Σ t·3^(4-n).
uint8_t encode_trits(const int t[5]) {
  int q = 0;
  for (int n = 0; n < 5; ++n) q = q * 3 + t[n];
  return static_cast<uint8_t>((q * 256 + 242) / 243);
}

TEST(TernaryGolden, TQ1_0) {
  // d = 0x4000 = 2. Byte 207 holds trits 2,1,0,2,1: q = 2·81 + 27 + 0 + 2·3 + 1 = 196, ceil(196·256/243)
  // = ceil(206.5) = 207; decoding trit n: (207·3^n mod 256)·3 >> 8 → 207·3 = 621 → 2; 109·3 → 1;
  // 71·3 → 0; 213·3 → 2; 127·3 → 1. Byte 255 holds 2,2,2,2,2 (q = 242 → ceil(254.9) = 255). Byte 80
  // holds 0,2,2,1 and a zero fifth trit (q = (0·27 + 2·9 + 2·3 + 1)·3 = 75 → ceil(79.01) = 80).
  BlockTQ1_0 b;
  for (int m = 0; m < 32; ++m) b.qs[m] = m % 2 == 0 ? 207 : 0;  // byte 0: all trits 0
  for (int m = 0; m < 16; ++m) b.qs[32 + m] = m % 2 == 0 ? 255 : 207;
  for (int j = 0; j < 4; ++j) b.qh[j] = 80;
  b.d = 0x4000;
  const int t207[5] = {2, 1, 0, 2, 1}, t255[5] = {2, 2, 2, 2, 2}, t0[5] = {0, 0, 0, 0, 0}, t80[4] = {0, 2, 2, 1};
  std::vector<float> expected(256);
  for (int n = 0; n < 5; ++n) {
    for (int m = 0; m < 32; ++m) expected[32 * n + m] = 2.0f * static_cast<float>((m % 2 == 0 ? t207 : t0)[n] - 1);
    for (int m = 0; m < 16; ++m) expected[160 + 16 * n + m] = 2.0f * static_cast<float>((m % 2 == 0 ? t255 : t207)[n] - 1);
  }
  for (int n = 0; n < 4; ++n) {
    for (int j = 0; j < 4; ++j) expected[240 + 4 * n + j] = 2.0f * static_cast<float>(t80[n] - 1);
  }
  EXPECT_EQ(encode_trits(t207), 207);
  EXPECT_EQ(encode_trits(t255), 255);
  const QuantType &type = quant_type(GgmlType::TQ1_0);
  for (Dequantize dequantize : {type.dequantize, type.dequantize_ref}) {
    std::vector<float> y(256);
    dequantize(&b, y.data(), 256);
    for (int v = 0; v < 256; ++v) ASSERT_EQ(y[v], expected[v]) << v;
  }
}

TEST(TernaryGolden, TQ1_0EveryTritPatternDecodes) {
  // All 243 patterns of 5 trits, encoded by the format's rule, placed in byte 0 of a block: values
  // 0, 32, 64, 96, 128 (trits 0..4 of qs[0]) must decode to (t - 1)·d, d = 0x3C00 = 1.
  const QuantType &type = quant_type(GgmlType::TQ1_0);
  for (int pattern = 0; pattern < 243; ++pattern) {
    int t[5];
    for (int n = 0, p = pattern; n < 5; ++n, p /= 3) t[4 - n] = p % 3;
    BlockTQ1_0 b{};
    b.qs[0] = encode_trits(t);
    b.d = 0x3C00;
    for (Dequantize dequantize : {type.dequantize, type.dequantize_ref}) {
      std::vector<float> y(256);
      dequantize(&b, y.data(), 256);
      for (int n = 0; n < 5; ++n) ASSERT_EQ(y[32 * n], static_cast<float>(t[n] - 1)) << pattern << " trit " << n;
    }
  }
}

TEST(TernaryGolden, TQ2_0) {
  // d = 0x3800 = 0.5; byte 32h + l = 0b00'01'10'10 = 0x1A for even l, 0b10'00'01'00 = 0x84 for odd:
  // value 128h + 32k + l has code (byte >> 2k) & 3 and value (code - 1)·0.5. Even l: codes 2,2,1,0 →
  // 0.5, 0.5, 0, -0.5; odd l: codes 0,1,0,2 → -0.5, 0, -0.5, 0.5.
  BlockTQ2_0 b;
  for (int i = 0; i < 64; ++i) b.qs[i] = i % 2 == 0 ? 0x1A : 0x84;
  b.d = 0x3800;
  const float even[4] = {0.5f, 0.5f, 0.0f, -0.5f}, odd[4] = {-0.5f, 0.0f, -0.5f, 0.5f};
  const QuantType &type = quant_type(GgmlType::TQ2_0);
  for (Dequantize dequantize : {type.dequantize, type.dequantize_ref}) {
    std::vector<float> y(256);
    dequantize(&b, y.data(), 256);
    for (int v = 0; v < 256; ++v) {
      const int k = (v % 128) / 32, l = v % 32;
      ASSERT_EQ(y[v], (l % 2 == 0 ? even : odd)[k]) << v;
    }
  }
}

TEST(TernaryQuantize, TernaryWeightsComeBackExactly) {
  // Weights of a ternary-trained model: {-a, 0, a} per block (a exact in f16, a different a per
  // block). Both types must store them exactly, with or without importance.
  std::mt19937 rng(8);
  std::vector<float> x(1024), importance(1024);
  for (int i = 0; i < 1024; ++i) {
    const float a = 0.015625f * static_cast<float>(1 + i / 256);
    x[i] = a * static_cast<float>(static_cast<int>(rng() % 3) - 1);
    importance[i] = 0.1f + static_cast<float>(rng() % 100);
  }
  for (GgmlType id : {GgmlType::TQ1_0, GgmlType::TQ2_0}) {
    const QuantType &type = quant_type(id);
    for (Quantize quantize : {type.quantize, type.quantize_ref}) {
      for (const float *w : {static_cast<const float *>(nullptr), static_cast<const float *>(importance.data())}) {
        std::vector<uint8_t> q(type.row_bytes(1024));
        quantize(x.data(), q.data(), 1, 1024, w);
        std::vector<float> y(1024);
        type.dequantize(q.data(), y.data(), 1024);
        for (int i = 0; i < 1024; ++i) ASSERT_EQ(y[i], x[i]) << type.name << " " << i;
      }
    }
  }
}

TEST(TernaryQuantize, SearchBeatsMaxMagnitudeScale) {
  // ggml's rule d = max|x| (right for ternary models) leaves most ordinary weights at 0; the search
  // must do far better. Baseline computed here from the format: trit = nearest(x/d) in -1..1.
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> x(4096);
  for (auto &v : x) v = normal(rng);
  double baseline = 0.0;
  for (int b = 0; b < 16; ++b) {
    float amax = 0.0f;
    for (int j = 0; j < 256; ++j) amax = std::max(amax, std::fabs(x[256 * b + j]));
    for (int j = 0; j < 256; ++j) {
      const float v = x[256 * b + j];
      baseline += std::pow(v - amax * std::nearbyint(v / amax), 2);
    }
  }
  for (GgmlType id : {GgmlType::TQ1_0, GgmlType::TQ2_0}) {
    const QuantType &type = quant_type(id);
    std::vector<uint8_t> q(type.row_bytes(4096));
    type.quantize(x.data(), q.data(), 1, 4096, nullptr);
    std::vector<float> y(4096);
    type.dequantize(q.data(), y.data(), 4096);
    double err = 0.0;
    for (int i = 0; i < 4096; ++i) err += std::pow(static_cast<double>(x[i]) - y[i], 2);
    EXPECT_LT(err, 0.5 * baseline) << type.name;
  }
}

}  // namespace
}  // namespace qs::ternary_test
