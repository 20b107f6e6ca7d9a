// IQ3_XXS and IQ3_S against their format definition (ggml-common.h): the transcribed grids, hand-built
// blocks that decode to hand-computed floats, and blocks made of grid points that the quantizer must
// recover exactly.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <vector>

#include "quant/iq3_grids.h"
#include "quant/iquants.h"

namespace qs::iq3_test {
namespace {

using DequantizeFn = void (*)(const void *, float *, int64_t);
using QuantizeFn = void (*)(const float *, void *, int64_t, int64_t, const float *);

uint8_t byte_of(uint32_t entry, int k) { return static_cast<uint8_t>(entry >> (8 * k)); }

TEST(Iq3Grids, Iq3xxsGridHoldsOddMultiplesOfFourWith62OnTop) {
  ASSERT_EQ(256u, kIq3xxsGrid.size());
  const std::set<int> allowed = {4, 12, 20, 28, 36, 44, 52, 62};
  for (const uint32_t entry : kIq3xxsGrid) {
    for (int k = 0; k < 4; ++k) EXPECT_TRUE(allowed.count(byte_of(entry, k))) << std::hex << entry;
  }
  // ggml-common.h lists the entries in increasing order, so they are also distinct.
  for (size_t i = 1; i < kIq3xxsGrid.size(); ++i) EXPECT_LT(kIq3xxsGrid[i - 1], kIq3xxsGrid[i]) << i;
  // Spot checks against ggml-common.h's iq3xxs_grid.
  EXPECT_EQ(0x04040404u, kIq3xxsGrid[0]);
  EXPECT_EQ(0x04040414u, kIq3xxsGrid[1]);
  EXPECT_EQ(0x04040c3eu, kIq3xxsGrid[5]);
  EXPECT_EQ(0x14040404u, kIq3xxsGrid[97]);
  EXPECT_EQ(0x14040c1cu, kIq3xxsGrid[100]);
  EXPECT_EQ(0x141c3e04u, kIq3xxsGrid[128]);
  EXPECT_EQ(0x2c043e04u, kIq3xxsGrid[200]);
  EXPECT_EQ(0x3e341c04u, kIq3xxsGrid[255]);
}

TEST(Iq3Grids, Iq3sGridHoldsOddMagnitudes) {
  ASSERT_EQ(512u, kIq3sGrid.size());
  for (const uint32_t entry : kIq3sGrid) {
    for (int k = 0; k < 4; ++k) {
      const int m = byte_of(entry, k);
      EXPECT_TRUE(m % 2 == 1 && m <= 15) << std::hex << entry;
    }
  }
  for (size_t i = 1; i < kIq3sGrid.size(); ++i) EXPECT_LT(kIq3sGrid[i - 1], kIq3sGrid[i]) << i;
  EXPECT_EQ(0x01010101u, kIq3sGrid[0]);
  EXPECT_EQ(0x01010103u, kIq3sGrid[1]);
  EXPECT_EQ(0x01010305u, kIq3sGrid[7]);
  EXPECT_EQ(0x010f0101u, kIq3sGrid[100]);
  EXPECT_EQ(0x05090507u, kIq3sGrid[256]);
  EXPECT_EQ(0x07030503u, kIq3sGrid[300]);
  EXPECT_EQ(0x0f0f0101u, kIq3sGrid[511]);
}

// IQ3_XXS block: d = 0.5 (f16 0x3800). Sub-block 0 has grid indices {1, 5, 0, 255, 97, 100, 2, 3}:
//   [1] 0x04040414 -> 20 4 4 4      [5] 0x04040c3e -> 62 12 4 4     (bytes low to high)
//   [0] 0x04040404 -> 4 4 4 4       [255] 0x3e341c04 -> 4 28 52 62
//   [97] 0x14040404 -> 4 4 4 20     [100] 0x14040c1c -> 28 12 4 20
//   [2] 0x04040424 -> 36 4 4 4      [3] 0x04040c0c -> 12 12 4 4
// and the word s0 | s1 << 7 | s2 << 14 | s3 << 21 | scale << 28 with 7-bit signs
//   s0 = 0b0000011 (values 0, 1 negative; two set bits: value 7 positive)
//   s1 = 0b0000001 (value 8 negative; one set bit, so value 15 is negative too)
//   s2 = 0         (none)
//   s3 = 0b1111111 (seven set bits: value 31 negative too, all 8 negative)
//   scale = 3
//   = 0x03 | 0x80 | 0x7f << 21 | 3 << 28 = 0x00000083 + 0x0fe00000 + 0x30000000 = 0x3fe00083.
// Its step is d * (0.5 + 3) * 0.5 = 0.875. Sub-blocks 1..7 are zero bytes: grid index 0 (all 4),
// no signs, scale 0, step 0.5 * 0.5 * 0.5 = 0.125, so every value is 0.125 * 4 = 0.5.
std::vector<uint8_t> golden_iq3_xxs_block() {
  std::vector<uint8_t> block(98, 0);
  block[0] = 0x00;
  block[1] = 0x38;
  const uint8_t indices[8] = {1, 5, 0, 255, 97, 100, 2, 3};
  std::memcpy(block.data() + 2, indices, 8);
  const uint8_t word[4] = {0x83, 0x00, 0xe0, 0x3f};  // 0x3fe00083 little-endian
  std::memcpy(block.data() + 2 + 64, word, 4);
  return block;
}

TEST(Iq3Xxs, GoldenBlockDecodesGridSignsAndScale) {
  const float expected[32] = {
      -17.5f, -3.5f, 3.5f,  3.5f,  54.25f, 10.5f,  3.5f,  3.5f,    // 0.875 * (20 4 4 4 | 62 12 4 4)
      -3.5f,  3.5f,  3.5f,  3.5f,  3.5f,   24.5f,  45.5f, -54.25f, // 0.875 * (4 4 4 4 | 4 28 52 62)
      3.5f,   3.5f,  3.5f,  17.5f, 24.5f,  10.5f,  3.5f,  17.5f,   // 0.875 * (4 4 4 20 | 28 12 4 20)
      -31.5f, -3.5f, -3.5f, -3.5f, -10.5f, -10.5f, -3.5f, -3.5f,   // -0.875 * (36 4 4 4 | 12 12 4 4)
  };
  const auto block = golden_iq3_xxs_block();
  for (DequantizeFn dequantize : {dequantize_iq3_xxs, dequantize_iq3_xxs_ref}) {
    std::vector<float> y(256);
    dequantize(block.data(), y.data(), 256);
    for (int i = 0; i < 32; ++i) EXPECT_EQ(expected[i], y[i]) << "value " << i;
    for (int i = 32; i < 256; ++i) EXPECT_EQ(0.5f, y[i]) << "value " << i;
  }
}

// IQ3_S block: d = 0.25 (f16 0x3400); scales[0] = 0xf2: sub-block 0 scale 2 (step 0.25 * 5 = 1.25),
// sub-block 1 scale 15 (step 0.25 * 31 = 7.75); sub-blocks 2..7 scale 0 (step 0.25).
// Sub-block 0: qs {0, 255, 7, 1, 0, 0, 0, 0}, qh[0] = 0x02 (group 1 takes index 255 + 256 = 511):
//   [0] 0x01010101 -> 1 1 1 1    [511] 0x0f0f0101 -> 1 1 15 15
//   [7] 0x01010305 -> 5 3 1 1    [1] 0x01010103 -> 3 1 1 1
//   signs {0x81, 0x00, 0xff, 0x10}: values 0 and 7, all of 16..23, and 28 negative.
// Sub-block 1: qs all 0, qh[1] = 0x80 (group 7 takes index 256: 0x05090507 -> 7 5 9 5), no signs.
std::vector<uint8_t> golden_iq3_s_block() {
  std::vector<uint8_t> block(110, 0);
  block[0] = 0x00;
  block[1] = 0x34;
  const uint8_t qs[8] = {0, 255, 7, 1, 0, 0, 0, 0};
  std::memcpy(block.data() + 2, qs, 8);
  block[2 + 64 + 0] = 0x02;  // qh[0]
  block[2 + 64 + 1] = 0x80;  // qh[1]
  const uint8_t signs[4] = {0x81, 0x00, 0xff, 0x10};
  std::memcpy(block.data() + 2 + 64 + 8, signs, 4);
  block[2 + 64 + 8 + 32] = 0xf2;  // scales[0]
  return block;
}

TEST(Iq3S, GoldenBlockDecodesNinthIndexBitSignsAndScales) {
  const float expected0[32] = {
      -1.25f, 1.25f, 1.25f,  1.25f,  1.25f,  1.25f,  18.75f, -18.75f,  // 1.25 * (1 1 1 1 | 1 1 15 15)
      6.25f,  3.75f, 1.25f,  1.25f,  3.75f,  1.25f,  1.25f,  1.25f,    // 1.25 * (5 3 1 1 | 3 1 1 1)
      -1.25f, -1.25f, -1.25f, -1.25f, -1.25f, -1.25f, -1.25f, -1.25f,  // all negative
      1.25f,  1.25f, 1.25f,  1.25f,  -1.25f, 1.25f,  1.25f,  1.25f,    // value 28 negative
  };
  const auto block = golden_iq3_s_block();
  for (DequantizeFn dequantize : {dequantize_iq3_s, dequantize_iq3_s_ref}) {
    std::vector<float> y(256);
    dequantize(block.data(), y.data(), 256);
    for (int i = 0; i < 32; ++i) EXPECT_EQ(expected0[i], y[i]) << "value " << i;
    for (int i = 32; i < 60; ++i) EXPECT_EQ(7.75f, y[i]) << "value " << i;  // 7.75 * 1
    EXPECT_EQ(54.25f, y[60]);  // 7.75 * 7
    EXPECT_EQ(38.75f, y[61]);  // 7.75 * 5
    EXPECT_EQ(69.75f, y[62]);  // 7.75 * 9
    EXPECT_EQ(38.75f, y[63]);  // 7.75 * 5
    for (int i = 64; i < 256; ++i) EXPECT_EQ(0.25f, y[i]) << "value " << i;  // 0.25 * 1
  }
}

// A block built from the format: d = 2^-9, sub-block ib has 4-bit scale l[ib] (one of them 15, the
// top the block scale is derived from) and group g of sub-block ib takes grid entry
// grid[(37 * (8 * ib + g) + 11) % size] with the sign pattern below; entry 0 of each sub-block is
// replaced by one holding the largest magnitude, so every sub-block's largest value is its top.
template <size_t N>
std::vector<float> representable_block(const std::array<uint32_t, N> &grid, bool xxs, uint32_t top_entry) {
  const int l[8] = {15, 3, 7, 0, 11, 1, 15, 5};
  const float d = 1.0f / 512;
  std::vector<float> x(256);
  for (int ib = 0; ib < 8; ++ib) {
    // IQ3_XXS: d * (0.5 + l) * 0.5 per stored magnitude; IQ3_S: d * (1 + 2l).
    const float step = xxs ? d * (0.5f + static_cast<float>(l[ib])) * 0.5f : d * static_cast<float>(1 + 2 * l[ib]);
    for (int g = 0; g < 8; ++g) {
      const uint32_t entry = g == 0 ? top_entry : grid[(37 * (8 * ib + g) + 11) % N];
      for (int k = 0; k < 4; ++k) {
        const int i = 32 * ib + 4 * g + k;
        // An even number of minus signs in each group of 8 (IQ3_XXS stores only those): values
        // 8j + 1 and 8j + 6 are negative.
        const bool negative = i % 8 == 1 || i % 8 == 6;
        x[static_cast<size_t>(i)] = (negative ? -step : step) * static_cast<float>(byte_of(entry, k));
      }
    }
  }
  return x;
}

TEST(Iq3Xxs, BlockOfGridPointsIsRecoveredExactly) {
  const auto x = representable_block(kIq3xxsGrid, true, kIq3xxsGrid[255]);  // 4 28 52 62
  std::vector<float> importance(256, 1.0f);
  importance[17] = 30.0f;
  for (QuantizeFn quantize : {quantize_iq3_xxs, quantize_iq3_xxs_ref}) {
    for (const float *imp : {static_cast<const float *>(nullptr), static_cast<const float *>(importance.data())}) {
      std::vector<uint8_t> q(98);
      quantize(x.data(), q.data(), 1, 256, imp);
      std::vector<float> y(256);
      dequantize_iq3_xxs(q.data(), y.data(), 256);
      EXPECT_EQ(x, y);
    }
  }
}

TEST(Iq3S, BlockOfGridPointsIsRecoveredExactly) {
  const auto x = representable_block(kIq3sGrid, false, kIq3sGrid[511]);  // 1 1 15 15
  std::vector<float> importance(256, 1.0f);
  importance[40] = 0.01f;
  for (QuantizeFn quantize : {quantize_iq3_s, quantize_iq3_s_ref}) {
    for (const float *imp : {static_cast<const float *>(nullptr), static_cast<const float *>(importance.data())}) {
      std::vector<uint8_t> q(110);
      quantize(x.data(), q.data(), 1, 256, imp);
      std::vector<float> y(256);
      dequantize_iq3_s(q.data(), y.data(), 256);
      EXPECT_EQ(x, y);
    }
  }
}

TEST(Iq3Xxs, OddMinusSignsFlipOnlyTheSmallestValue) {
  // IQ3_XXS stores 7 signs per 8 values and implies the 8th by parity, so a group of 8 with an odd
  // number of negatives cannot keep every sign: exactly one value (the one that matters least,
  // here the smallest, with equal importance) comes back with the other sign.
  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i) x[static_cast<size_t>(i)] = 0.01f * static_cast<float>(1 + (i * 7) % 13);
  for (int g = 0; g < 32; ++g) {
    x[static_cast<size_t>(8 * g + (g % 8))] = 0.001f;  // the smallest value, at a varying place
    x[static_cast<size_t>(8 * g + 2)] = -x[static_cast<size_t>(8 * g + 2)];  // one negative per group
  }
  std::vector<uint8_t> q(98);
  quantize_iq3_xxs(x.data(), q.data(), 1, 256, nullptr);
  std::vector<float> y(256);
  dequantize_iq3_xxs(q.data(), y.data(), 256);
  for (int g = 0; g < 32; ++g) {
    int wrong = 0, wrong_at = -1;
    for (int i = 8 * g; i < 8 * g + 8; ++i) {
      if ((x[static_cast<size_t>(i)] < 0) != (y[static_cast<size_t>(i)] < 0)) {
        ++wrong;
        wrong_at = i;
      }
    }
    EXPECT_EQ(1, wrong) << "group " << g;
    EXPECT_EQ(8 * g + g % 8, wrong_at) << "group " << g;
  }
}

TEST(Iq3, ZeroBlocksAreStoredAsZeroBytes) {
  std::vector<float> x(512, 0.0f);
  for (QuantizeFn quantize : {quantize_iq3_xxs, quantize_iq3_s}) {
    std::vector<uint8_t> q(220, 0xaa);
    quantize(x.data(), q.data(), 2, 256, nullptr);
    const size_t bytes = quantize == quantize_iq3_xxs ? 196 : 220;
    for (size_t i = 0; i < bytes; ++i) EXPECT_EQ(0, q[i]) << i;
  }
}

}  // namespace
}  // namespace qs::iq3_test
