// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: hand-made blocks decode to the values the format defines, and the
// quantizers produce what the format and a plain scale rule say they must.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/half.h"
#include "quant/legacy.h"
#include "quant/types.h"

namespace qs::legacy_test {
namespace {

using Dequantize = void (*)(const void *, float *, int64_t);

// Decodes one block with the fast path and the reference and checks both against `expected`.
void expect_block_decodes_to(const QuantType &type, const std::vector<uint8_t> &bytes, const std::vector<float> &expected) {
  ASSERT_EQ(bytes.size(), type.block_bytes);
  ASSERT_EQ(static_cast<int64_t>(expected.size()), type.block_size);
  for (Dequantize dequantize : {type.dequantize, type.dequantize_ref}) {
    std::vector<float> y(expected.size());
    dequantize(bytes.data(), y.data(), type.block_size);
    for (size_t j = 0; j < y.size(); ++j) EXPECT_EQ(y[j], expected[j]) << type.name << " value " << j;
  }
}

TEST(LegacyGolden, Q4_0) {
  // d = f16 0x3800 = 0.5; byte j holds nibble j (value j) low and 15 - j (value j + 16) high.
  // value j = (j - 8) * 0.5; value j + 16 = ((15 - j) - 8) * 0.5 = (7 - j) * 0.5.
  std::vector<uint8_t> bytes = {0x00, 0x38};
  for (int j = 0; j < 16; ++j) bytes.push_back(static_cast<uint8_t>(((15 - j) << 4) | j));
  const std::vector<float> expected = {-4.0f, -3.5f, -3.0f, -2.5f, -2.0f, -1.5f, -1.0f, -0.5f,  //
                                       0.0f,  0.5f,  1.0f,  1.5f,  2.0f,  2.5f,  3.0f,  3.5f,   //
                                       3.5f,  3.0f,  2.5f,  2.0f,  1.5f,  1.0f,  0.5f,  0.0f,   //
                                       -0.5f, -1.0f, -1.5f, -2.0f, -2.5f, -3.0f, -3.5f, -4.0f};
  expect_block_decodes_to(quant_type(GgmlType::Q4_0), bytes, expected);
}

TEST(LegacyGolden, Q4_1) {
  // d = 0x3C00 = 1.0, m = 0xBC00 = -1.0; byte j = (j << 4) | (15 - j).
  // value j = (15 - j) * 1 - 1 = 14 - j; value j + 16 = j * 1 - 1 = j - 1.
  std::vector<uint8_t> bytes = {0x00, 0x3C, 0x00, 0xBC};
  for (int j = 0; j < 16; ++j) bytes.push_back(static_cast<uint8_t>((j << 4) | (15 - j)));
  const std::vector<float> expected = {14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, -1,
                                       -1, 0,  1,  2,  3,  4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
  expect_block_decodes_to(quant_type(GgmlType::Q4_1), bytes, expected);
}

TEST(LegacyGolden, Q5_0) {
  // d = 0x4000 = 2.0; qh = bytes FF 00 0F F0 = 0xF00F00FF little-endian: fifth bit set for values
  // 0-7, 16-19 and 28-31. Byte j = (j << 4) | j, so values j and j + 16 both have low nibble j.
  // value = ((nibble | fifth bit << 4) - 16) * 2: values 0-7 = 2j, 8-15 = 2(j - 16),
  // 16-19 = 2j', 20-27 = 2(j' - 16), 28-31 = 2j' (j' = index - 16).
  std::vector<uint8_t> bytes = {0x00, 0x40, 0xFF, 0x00, 0x0F, 0xF0};
  for (int j = 0; j < 16; ++j) bytes.push_back(static_cast<uint8_t>((j << 4) | j));
  const std::vector<float> expected = {0,  2,   4,   6,   8,   10,  12,  14,  -16, -14, -12, -10, -8, -6, -4, -2,
                                       0,  2,   4,   6,   -24, -22, -20, -18, -16, -14, -12, -10, 24, 26, 28, 30};
  expect_block_decodes_to(quant_type(GgmlType::Q5_0), bytes, expected);
}

TEST(LegacyGolden, Q5_1) {
  // d = 0x3400 = 0.25, m = 0x4200 = 3.0; qh = AA AA AA AA: fifth bit set for odd values.
  // Byte j = (j << 4) | (15 - j): value j has nibble 15 - j, value j + 16 nibble j.
  // value = (nibble + 16 * odd) * 0.25 + 3: e.g. value 0 = 15 * 0.25 + 3 = 6.75,
  // value 1 = (14 + 16) * 0.25 + 3 = 10.5, value 16 = 0 + 3 = 3, value 17 = 17 * 0.25 + 3 = 7.25.
  std::vector<uint8_t> bytes = {0x00, 0x34, 0x00, 0x42, 0xAA, 0xAA, 0xAA, 0xAA};
  for (int j = 0; j < 16; ++j) bytes.push_back(static_cast<uint8_t>((j << 4) | (15 - j)));
  const std::vector<float> expected = {6.75f, 10.5f, 6.25f, 10.0f, 5.75f, 9.5f,  5.25f, 9.0f,  4.75f, 8.5f, 4.25f,
                                       8.0f,  3.75f, 7.5f,  3.25f, 7.0f,  3.0f,  7.25f, 3.5f,  7.75f, 4.0f, 8.25f,
                                       4.5f,  8.75f, 5.0f,  9.25f, 5.5f,  9.75f, 6.0f,  10.25f, 6.5f, 10.75f};
  expect_block_decodes_to(quant_type(GgmlType::Q5_1), bytes, expected);
}

TEST(LegacyGolden, Q8_0) {
  // d = 0x3000 = 0.125; value j = int8 qs[j] * 0.125 (-128 is a valid byte even if we never write it).
  const std::vector<int8_t> qs = {-128, -127, -64, -9, -8, -1, 0, 1, 2, 3, 7, 8, 15, 16, 31, 32,
                                  33,   63,   64,  65, 99, 100, 101, 110, 111, 120, 121, 122, 123, 125, 126, 127};
  std::vector<uint8_t> bytes = {0x00, 0x30};
  std::vector<float> expected;
  for (int8_t q : qs) {
    bytes.push_back(static_cast<uint8_t>(q));
    expected.push_back(static_cast<float>(q) / 8.0f);  // exact: a small integer over a power of two
  }
  expect_block_decodes_to(quant_type(GgmlType::Q8_0), bytes, expected);
}

TEST(LegacyGolden, InfinityTimesZeroLevelIsNaN) {
  // d = 0x7C00 = +inf: level 0 decodes to inf * 0 = NaN, others to ±inf (IEEE, as ggml computes).
  std::vector<uint8_t> bytes = {0x00, 0x7C};
  for (int j = 0; j < 16; ++j) bytes.push_back(0x98);  // value j: 8 - 8 = 0; value j + 16: 9 - 8 = 1
  for (Dequantize dequantize : {quant_type(GgmlType::Q4_0).dequantize, quant_type(GgmlType::Q4_0).dequantize_ref}) {
    std::vector<float> y(32);
    dequantize(bytes.data(), y.data(), 32);
    EXPECT_TRUE(std::isnan(y[0]));
    EXPECT_EQ(y[16], INFINITY);
  }
}

using Quantize = void (*)(const float *, void *, int64_t, int64_t, const float *);

std::vector<float> student_row(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> dist(3.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto &v : x) v = 0.02f * dist(rng);
  return x;
}

std::vector<float> importance_row(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.5f);
  std::vector<float> w(static_cast<size_t>(n));
  for (auto &v : w) v = std::exp(dist(rng));
  return w;
}

TEST(LegacyQuantize, Q8_0OfAnExactRowGivesItsIntegersAndScale) {
  // x_j = q_j / 128 with max |q_j| = 127: the scale max|x|/127 = 1/128 (f16 0x2000) represents the
  // row exactly, so the block must hold d = 0x2000 and qs = q.
  std::vector<int8_t> q(32);
  for (int j = 0; j < 32; ++j) q[j] = static_cast<int8_t>((j * 37) % 255 - 127);  // covers ±127
  q[5] = 127;
  q[6] = -127;
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(q[j]) / 128.0f;
  const float importance[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  const QuantType &type = quant_type(GgmlType::Q8_0);
  for (Quantize quantize : {type.quantize, type.quantize_ref}) {
    for (const float *w : {static_cast<const float *>(nullptr), importance}) {
      BlockQ8_0 block;
      quantize(x.data(), &block, 1, 32, w);
      EXPECT_EQ(block.d, 0x2000);
      for (int j = 0; j < 32; ++j) EXPECT_EQ(block.qs[j], q[j]) << j;
    }
  }
}

TEST(LegacyQuantize, Q8_0ScaleIsNearMaxOver127AndLevelsAreNearest) {
  const auto x = student_row(4096, 3);
  std::vector<BlockQ8_0> blocks(128);
  quant_type(GgmlType::Q8_0).quantize(x.data(), blocks.data(), 1, 4096, nullptr);
  for (int b = 0; b < 128; ++b) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
    const float d = f16_to_f32(blocks[b].d);
    // The search moves the scale by a few levels around max/127, never further.
    EXPECT_GT(d, amax / 131.5f) << b;
    EXPECT_LT(d, amax / 119.5f) << b;
    for (int j = 0; j < 32; ++j) {
      const int q = blocks[b].qs[j];
      EXPECT_LE(std::abs(q), 127);
      if (std::abs(q) < 127) {
        EXPECT_LE(std::fabs(x[b * 32 + j] - d * q), 0.5001f * d) << b << "," << j;
      }
    }
  }
}

// Values exactly on a type's grid (power-of-two scale, f16-exact min, end levels present) must
// come back exactly, with and without importance.
TEST(LegacyQuantize, ValuesOnTheGridComeBackExactly) {
  struct Case {
    GgmlType type;
    int lo, hi;
    float min;
  };
  const Case cases[] = {{GgmlType::Q4_0, -8, 7, 0.0f},
                        {GgmlType::Q5_0, -16, 15, 0.0f},
                        {GgmlType::Q8_0, -127, 127, 0.0f},
                        {GgmlType::Q4_1, 0, 15, -0.125f},
                        {GgmlType::Q5_1, 0, 31, 0.375f}};
  const float scale = 1.0f / 64.0f;
  const auto importance = importance_row(256, 9);
  for (const Case &c : cases) {
    const QuantType &type = quant_type(c.type);
    std::mt19937 rng(5);
    std::vector<float> x(256);
    for (int b = 0; b < 8; ++b) {
      for (int j = 0; j < 32; ++j) {
        const int level = j == 0 ? c.lo : j == 1 ? c.hi : c.lo + static_cast<int>(rng() % (c.hi - c.lo + 1));
        x[b * 32 + j] = static_cast<float>(level) * scale + c.min;
      }
    }
    for (Quantize quantize : {type.quantize, type.quantize_ref}) {
      for (const float *w : {static_cast<const float *>(nullptr), importance.data()}) {
        std::vector<uint8_t> q(type.row_bytes(256));
        quantize(x.data(), q.data(), 1, 256, w);
        std::vector<float> y(256);
        type.dequantize_ref(q.data(), y.data(), 256);
        for (int i = 0; i < 256; ++i) ASSERT_EQ(y[i], x[i]) << type.name << " value " << i;
      }
    }
  }
}

// The plain rules of the format definition (ggml's reference quantizers): scale from the largest
// magnitude (symmetric) or from min and max (affine), then nearest levels. Squared error of a row.
double plain_rule_error(GgmlType type, const std::vector<float> &x) {
  double err = 0.0;
  for (size_t b = 0; b < x.size() / 32; ++b) {
    const float *xb = x.data() + b * 32;
    float lo = xb[0], hi = xb[0], mx = 0.0f;
    for (int j = 0; j < 32; ++j) {
      lo = std::min(lo, xb[j]);
      hi = std::max(hi, xb[j]);
      if (std::fabs(xb[j]) > std::fabs(mx)) mx = xb[j];
    }
    float d = 0.0f, m = 0.0f;
    int qlo = 0, qhi = 0;
    switch (type) {
      case GgmlType::Q4_0: d = mx / -8.0f; qlo = -8; qhi = 7; break;
      case GgmlType::Q5_0: d = mx / -16.0f; qlo = -16; qhi = 15; break;
      case GgmlType::Q8_0: d = std::fabs(mx) / 127.0f; qlo = -127; qhi = 127; break;
      case GgmlType::Q4_1: d = (hi - lo) / 15.0f; m = lo; qhi = 15; break;
      case GgmlType::Q5_1: d = (hi - lo) / 31.0f; m = lo; qhi = 31; break;
      default: ADD_FAILURE();
    }
    d = f16_to_f32(f32_to_f16(d));
    m = f16_to_f32(f32_to_f16(m));
    for (int j = 0; j < 32; ++j) {
      const float l = d == 0.0f ? 0.0f : std::clamp(std::nearbyint((xb[j] - m) / d), float(qlo), float(qhi));
      err += std::pow(static_cast<double>(xb[j]) - (l * d + m), 2);
    }
  }
  return err;
}

TEST(LegacyQuantize, SearchBeatsThePlainRule) {
  const auto x = student_row(8192, 17);
  for (GgmlType id : {GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::Q4_1, GgmlType::Q5_1}) {
    const QuantType &type = quant_type(id);
    std::vector<uint8_t> q(type.row_bytes(8192));
    type.quantize(x.data(), q.data(), 1, 8192, nullptr);
    std::vector<float> y(8192);
    type.dequantize(q.data(), y.data(), 8192);
    double err = 0.0;
    for (int i = 0; i < 8192; ++i) err += std::pow(static_cast<double>(x[i]) - y[i], 2);
    EXPECT_LT(err, 0.99 * plain_rule_error(id, x)) << type.name;
  }
}

TEST(LegacyQuantize, AllZeroBlocksStoreZero) {
  std::vector<float> x(64, 0.0f);
  x[40] = 0.5f;  // second block is not zero
  BlockQ4_0 q4[2];
  quant_type(GgmlType::Q4_0).quantize(x.data(), q4, 1, 64, nullptr);
  EXPECT_EQ(q4[0].d, 0);
  for (int j = 0; j < 16; ++j) EXPECT_EQ(q4[0].qs[j], 0x88) << j;  // level 0 is nibble 8
  BlockQ4_1 q41[2];
  quant_type(GgmlType::Q4_1).quantize(x.data(), q41, 1, 64, nullptr);
  EXPECT_EQ(q41[0].d, 0);
  EXPECT_EQ(q41[0].m, 0);
}

}  // namespace
}  // namespace qs::legacy_test
