// IQ1_S, IQ1_M: the grid against ggml-common.h, the lattice neighbour tables against a brute-force
// search, hand-built blocks decoded value by value from the format definition, quantized bytes equal
// to ggml's for a fixed input, and the search kernels' fast paths against the scalar ones.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "quant/iq1_blocks.h"
#include "quant/iq1_grids.h"
#include "quant/iq1_search.h"
#include "quant/iq_grid_search.h"
#include "quant/iquants.h"
#include "quant/quantize_tensor.h"
#include "quant/types.h"

namespace qs::iq1_test {
namespace {

using DequantizeFn = void (*)(const void *, float *, int64_t);

// ---- Grid and lattice tables ----------------------------------------------------------------------

TEST(Iq1Grid, SizeValuesAndDeltasAreTheFormats) {
  EXPECT_EQ(iq1s_grid.size(), 2048u);
  EXPECT_EQ(kIq1sDelta, 0.125f);
  EXPECT_EQ(kIq1mDelta, 0.125f);
  std::set<uint64_t> distinct(iq1s_grid.begin(), iq1s_grid.end());
  EXPECT_EQ(distinct.size(), 2048u);
  for (size_t g = 0; g < iq1s_grid.size(); ++g) {
    for (int j = 0; j < 8; ++j) {
      const auto byte = static_cast<uint8_t>(iq1s_grid[g] >> (8 * j));
      ASSERT_TRUE(byte == 0xff || byte == 0x00 || byte == 0x01) << "iq1s_grid[" << g << "] byte " << j;
    }
  }
}

TEST(Iq1Grid, SpotEntriesMatchGgmlCommon) {
  // Values copied from ggml-common.h.
  EXPECT_EQ(iq1s_grid[0], 0xffffffffffffffffu);
  EXPECT_EQ(iq1s_grid[1], 0xffffffffffffff01u);
  EXPECT_EQ(iq1s_grid[2], 0xffffffffffff0000u);
  EXPECT_EQ(iq1s_grid[5], 0xffffffffff00ff00u);
  EXPECT_EQ(iq1s_grid[1000], 0x00000000ffff00ffu);
  EXPECT_EQ(iq1s_grid[1365], 0x00010001010100ffu);
  EXPECT_EQ(iq1s_grid[2047], 0x0101010101010101u);
}

TEST(Iq1Grid, LatticeTablesHoldTheNearestGridPoints) {
  // Brute force: for lattice points off the grid (a sample), the neighbour list must be exactly the
  // grid points at the 3 smallest distinct squared distances, by distance then index.
  const iq::GridSearch &search = iq::iq1s_search();
  auto level = [](uint64_t entry, int j) { return static_cast<int>(static_cast<int8_t>(entry >> (8 * j))) + 1; };
  for (int g = 0; g < 2048; ++g) {
    int8_t levels[8];
    for (int j = 0; j < 8; ++j) levels[j] = static_cast<int8_t>(level(iq1s_grid[g], j));
    ASSERT_EQ(search.map[iq::lattice_key(levels)], g);
  }
  int checked = 0;
  for (int key = 0; key < iq::kLatticeKeys; key += 23) {
    bool valid = true;
    for (int j = 0; j < 8; ++j) valid &= ((key >> (2 * j)) & 3) != 3;
    if (!valid || search.map[key] >= 0) continue;
    std::vector<std::pair<int, int>> by_distance;
    for (int g = 0; g < 2048; ++g) {
      int d2 = 0;
      for (int j = 0; j < 8; ++j) {
        const int diff = level(iq1s_grid[g], j) - ((key >> (2 * j)) & 3);
        d2 += diff * diff;
      }
      by_distance.emplace_back(d2, g);
    }
    std::sort(by_distance.begin(), by_distance.end());
    std::vector<uint16_t> expected;
    std::set<int> shells;
    for (const auto &[d2, g] : by_distance) {
      shells.insert(d2);
      if (shells.size() > 3) break;
      expected.push_back(static_cast<uint16_t>(g));
    }
    const uint16_t *neighbours = search.neighbours_of(static_cast<uint16_t>(key));
    ASSERT_EQ(neighbours[0], expected.size()) << "key " << key;
    for (size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(neighbours[1 + i], expected[i]) << "key " << key;
    ++checked;
  }
  EXPECT_GT(checked, 150);
}

// ---- Golden blocks ------------------------------------------------------------------------------

template <class Block>
void expect_decodes_to(const Block &block, const std::vector<float> &expected, DequantizeFn ref, DequantizeFn fast) {
  ASSERT_EQ(expected.size(), 256u);
  std::vector<uint8_t> bytes(1 + 2 * sizeof(Block));  // from an odd address, and as the second block
  std::memcpy(bytes.data() + 1, &block, sizeof(Block));
  std::memcpy(bytes.data() + 1 + sizeof(Block), &block, sizeof(Block));
  for (DequantizeFn fn : {ref, fast}) {
    std::vector<float> out(512);
    fn(bytes.data() + 1, out.data(), 512);
    for (int i = 0; i < 256; ++i) {
      ASSERT_EQ(out[i], expected[i]) << "value " << i << (fn == ref ? " (reference)" : " (fast path)");
      ASSERT_EQ(out[256 + i], expected[i]) << "second block, value " << i;
    }
  }
}

void fill(std::vector<float> &v, int first, std::initializer_list<float> values) {
  std::copy(values.begin(), values.end(), v.begin() + first);
}

TEST(Iq1sGolden, HandBuiltBlockDecodes) {
  BlockIq1s block{};
  block.d = 0x3c00;  // f16 1.0
  // Sub-block 0: scale 2 (dl = 1 * (2 * 2 + 1) = 5), +delta; grid indices 0, 1, 1365, 2047:
  // low bytes in qs, high 3 bits at qh bits 3k: 1365 = 5 << 8 | 0x55, 2047 = 7 << 8 | 0xff.
  block.qs[0] = 0x00;
  block.qs[1] = 0x01;
  block.qs[2] = 0x55;
  block.qs[3] = 0xff;
  block.qh[0] = 2 << 12 | 5 << 6 | 7 << 9;  // 0x2f40
  // Sub-block 1: scale 0 (dl = 1), -delta (bit 15); group 0 grid index 1000 = 3 << 8 | 0xe8.
  block.qs[4] = 0xe8;
  block.qh[1] = 0x8000 | 3;
  // Sub-blocks 2..7: all bits zero: dl = 1, +delta, grid 0 (all -1): -1 + 0.125 = -0.875.
  std::vector<float> expected(256, -0.875f);
  // dl = 5, delta = +0.125: -1 -> 5 * -0.875 = -4.375, 0 -> 0.625, +1 -> 5.625.
  fill(expected, 0, {-4.375f, -4.375f, -4.375f, -4.375f, -4.375f, -4.375f, -4.375f, -4.375f});  // grid 0
  fill(expected, 8, {5.625f, -4.375f, -4.375f, -4.375f, -4.375f, -4.375f, -4.375f, -4.375f});   // 0xffffffffffffff01
  // grid 1365 = 0x00010001010100ff: -1, 0, 1, 1, 1, 0, 1, 0.
  fill(expected, 16, {-4.375f, 0.625f, 5.625f, 5.625f, 5.625f, 0.625f, 5.625f, 0.625f});
  fill(expected, 24, {5.625f, 5.625f, 5.625f, 5.625f, 5.625f, 5.625f, 5.625f, 5.625f});  // grid 2047: all +1
  // dl = 1, delta = -0.125: -1 -> -1.125, 0 -> -0.125. grid 1000 = 0x00000000ffff00ff: -1, 0, -1, -1, 0, 0, 0, 0.
  fill(expected, 32, {-1.125f, -0.125f, -1.125f, -1.125f, -0.125f, -0.125f, -0.125f, -0.125f});
  for (int i = 40; i < 64; ++i) expected[i] = -1.125f;  // groups 1..3: grid 0
  expect_decodes_to(block, expected, dequantize_iq1_s_ref, dequantize_iq1_s);
}

TEST(Iq1mGolden, HandBuiltBlockDecodes) {
  BlockIq1m block{};
  // Scale words (little-endian uint16): 3-bit sub-block scales in bits 0..11, the f16 d = 0.5 = 0x3800
  // split over the top nibbles: word 0 gets bits 0..3 (0), word 1 bits 4..7 (0), word 2 bits 8..11
  // (8), word 3 bits 12..15 (3). Sub-block 0 scale 1 (dl = 0.5 * 3 = 1.5), sub-block 1 scale 7
  // (dl = 0.5 * 15 = 7.5): word 0 = 1 | 7 << 3 = 0x0039.
  const uint16_t words[4] = {0x0039, 0x0000, 0x8000, 0x3000};
  std::memcpy(block.scales, words, sizeof(words));
  // Group 0: grid 1365 (0x55, high bits 5), -delta (bit 3); group 1: grid 2, +delta.
  block.qs[0] = 0x55;
  block.qs[1] = 0x02;
  block.qh[0] = 5 | 0x08;
  // Group 2: grid 2047 (0xff, high bits 7), +delta; group 3: grid 5, -delta (bit 7).
  block.qs[2] = 0xff;
  block.qs[3] = 0x05;
  block.qh[1] = 7 | 0x80;
  // Everything else zero: dl = 0.5 * 1, +delta, grid 0 (all -1): 0.5 * -0.875 = -0.4375.
  std::vector<float> expected(256, -0.4375f);
  // dl 1.5, -delta: -1 -> -1.6875, 0 -> -0.1875, +1 -> 1.3125. grid 1365: -1, 0, 1, 1, 1, 0, 1, 0.
  fill(expected, 0, {-1.6875f, -0.1875f, 1.3125f, 1.3125f, 1.3125f, -0.1875f, 1.3125f, -0.1875f});
  // dl 1.5, +delta: 0 -> 0.1875, -1 -> -1.3125. grid 2 = 0xffffffffffff0000: 0, 0, then -1.
  fill(expected, 8, {0.1875f, 0.1875f, -1.3125f, -1.3125f, -1.3125f, -1.3125f, -1.3125f, -1.3125f});
  // dl 7.5, +delta: +1 -> 8.4375.
  fill(expected, 16, {8.4375f, 8.4375f, 8.4375f, 8.4375f, 8.4375f, 8.4375f, 8.4375f, 8.4375f});
  // dl 7.5, -delta: 0 -> -0.9375, -1 -> -8.4375. grid 5 = 0xffffffffff00ff00: 0, -1, 0, -1, -1, -1, -1, -1.
  fill(expected, 24, {-0.9375f, -8.4375f, -0.9375f, -8.4375f, -8.4375f, -8.4375f, -8.4375f, -8.4375f});
  expect_decodes_to(block, expected, dequantize_iq1_m_ref, dequantize_iq1_m);
}

// ---- Quantization -------------------------------------------------------------------------------

// A fixed input from integer arithmetic only (same floats on every platform): values in
// [-0.02, 0.02], every 37th five times larger; importance 0.25 .. 8.
std::vector<float> hashed_values(int64_t n) {
  std::vector<float> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    uint32_t h = static_cast<uint32_t>(i) * 2654435761u;
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    const int v = static_cast<int>(h % 2001u) - 1000;
    x[static_cast<size_t>(i)] = static_cast<float>(v) * 0.00002f * (i % 37 == 5 ? 5.0f : 1.0f);
  }
  return x;
}

std::vector<float> hashed_importance(int64_t n) {
  std::vector<float> w(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) w[static_cast<size_t>(i)] = 0.25f * static_cast<float>(1 + (i * 7 + i / 5) % 32);
  return w;
}

std::string hex(const std::vector<uint8_t> &bytes) {
  std::string s;
  char buf[3];
  for (uint8_t b : bytes) {
    std::snprintf(buf, sizeof(buf), "%02x", b);
    s += buf;
  }
  return s;
}

TEST(Iq1Quantize, BytesEqualGgmls) {
  // Two rows of 256 of hashed_values(512), importance hashed_importance(256); expected bytes from
  // ggml's ggml_quantize_chunk on the same input.
  struct Case {
    const char *name;
    bool with_importance;
    const char *ggml_bytes;
  };
  const Case cases[] = {
      {"IQ1_S", true,
       "be1d6b5cca919fa887576e6f8a63eb8bb85105050508e2e2051e9dc687e12e22cd25c7910e12b0130d172479124bd41b161aca1c23c7"
       "546530d5e71206a83d4105053d05e9803f247ce79c62943c6a04cb6bb880c410bb1cfcb96478491f1518cb283814"},
      {"IQ1_M", false,
       "8e05ca8cc6a8873a6ebc8a6aea29b554896c05083d16052418c6c4d61a30c234c38f13c0e0a625b11b44be542fe7d4594e82495279e8c9"
       "1244be4c2e53d50c128c93fd059b093d05e94a28f77ce7876fd23c5d2ad36bae809e067b6cfb43c049a9722dc010ff70a849b279aa49d24912"},
      {"IQ1_M", true,
       "8e05ca9d8ca887406e6f8a2f1f8bb854783005083e0c05249dc6879e2e22cd25c30f1fc060a69eb4ab443bd4245726584e5249a279dc49"
       "1223be546553d50c1295b6fd059b1f3d05e98040244fe79c6f943c6bd0cb6bb88094037b6c75430049197d2dc0136e70a84902796a49d24912"},
  };
  const auto x = hashed_values(512);
  const auto importance = hashed_importance(256);
  for (const Case &c : cases) {
    const QuantType &type = quant_type_by_name(c.name);
    for (auto quantize : {type.quantize, type.quantize_ref}) {
      std::vector<uint8_t> q(2 * type.row_bytes(256));
      quantize(x.data(), q.data(), 2, 256, c.with_importance ? importance.data() : nullptr);
      EXPECT_EQ(hex(q), c.ggml_bytes) << c.name << (c.with_importance ? " with" : " without") << " importance"
                                      << (quantize == type.quantize ? " (fast path)" : " (reference)");
    }
  }
}

TEST(Iq1Quantize, Iq1sNeedsImportanceIq1mDoesNot) {
  std::vector<float> x(256, 0.5f);
  std::vector<uint8_t> out(64);
  EXPECT_THROW(quantize_iq1_s(x.data(), out.data(), 1, 256, nullptr), Error);
  EXPECT_THROW(quantize_iq1_s_ref(x.data(), out.data(), 1, 256, nullptr), Error);
  EXPECT_NO_THROW(quantize_iq1_m(x.data(), out.data(), 1, 256, nullptr));
}

TEST(Iq1Quantize, ZerosStayZeros) {
  const std::vector<float> x(512, 0.0f), importance(256, 1.0f);
  for (const char *name : {"IQ1_S", "IQ1_M"}) {
    const QuantType &type = quant_type_by_name(name);
    const auto q = quantize_rows(type, x.data(), 2, 256, importance.data(), 1);
    std::vector<float> y(512, 1.0f);
    type.dequantize(q.data(), y.data(), 512);
    for (float v : y) ASSERT_EQ(v, 0.0f) << name;
  }
}

TEST(Iq1Quantize, NonFiniteInputGivesTheSameBytesOnBothPaths) {
  // Callers check tensors first (check_finite), but a NaN, an Inf or a huge value that slips through
  // must not crash the search, and both paths must still agree.
  for (const char *name : {"IQ1_S", "IQ1_M"}) {
    const QuantType &type = quant_type_by_name(name);
    for (int mode = 0; mode < 4; ++mode) {
      std::vector<float> x(512), importance(256, 1.0f);
      for (size_t i = 0; i < x.size(); ++i) x[i] = 0.01f * static_cast<float>(static_cast<int>(i * 37 % 101) - 50);
      if (mode == 0) x[5] = std::nanf("");
      if (mode == 1) x[300] = INFINITY;
      if (mode == 2) importance[7] = std::nanf("");
      if (mode == 3) x[9] = 1e30f;
      std::vector<uint8_t> fast(2 * type.row_bytes(256)), ref(fast.size());
      type.quantize(x.data(), fast.data(), 2, 256, importance.data());
      type.quantize_ref(x.data(), ref.data(), 2, 256, importance.data());
      EXPECT_EQ(fast, ref) << name << " mode " << mode;
    }
  }
}

// ---- Search kernels -----------------------------------------------------------------------------

TEST(Iq1SearchKernels, FastSplitsEqualTheScalarOnes) {
  std::mt19937 rng(23);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const float xp[3] = {-0.875f, 0.125f, 1.125f}, xm[3] = {-1.125f, -0.125f, 0.875f};
  const iq1::Kernels &scalar = iq1::scalar_kernels(), &fast = iq1::fast_kernels();
  for (int trial = 0; trial < 200; ++trial) {
    // Some trials with repeated values and zero weights, where ties decide.
    float x[32], w[32];
    for (int j = 0; j < 32; ++j) {
      x[j] = trial % 5 == 0 ? static_cast<float>(static_cast<int>(rng() % 3) - 1) : normal(rng);
      w[j] = trial % 7 == 0 && j % 3 == 0 ? 0.0f : std::fabs(normal(rng));
    }
    std::sort(x, x + 32);
    float sum_wx[33] = {}, sum_w[33] = {};
    for (int j = 0; j < 32; ++j) {
      sum_wx[j + 1] = sum_wx[j] + w[j] * x[j];
      sum_w[j + 1] = sum_w[j] + w[j];
    }
    const iq1::Split a = scalar.iq1s_split(sum_wx, sum_w, 32, xp, xm, 1.0f);
    const iq1::Split b = fast.iq1s_split(sum_wx, sum_w, 32, xp, xm, 1.0f);
    ASSERT_EQ(a.i1, b.i1) << "IQ1_S trial " << trial;
    ASSERT_EQ(a.i2, b.i2) << "IQ1_S trial " << trial;
    ASSERT_EQ(a.shift, b.shift) << "IQ1_S trial " << trial;
    ASSERT_EQ(std::memcmp(&a.scale, &b.scale, sizeof(float)), 0) << "IQ1_S trial " << trial;
    bool second_half[16];
    for (int j = 0; j < 16; ++j) second_half[j] = (rng() & 1) != 0;
    const iq1::Split c = scalar.iq1m_split(x + 8, w + 8, second_half, xp, xm, 1.0f);
    const iq1::Split d = fast.iq1m_split(x + 8, w + 8, second_half, xp, xm, 1.0f);
    ASSERT_EQ(c.i1, d.i1) << "IQ1_M trial " << trial;
    ASSERT_EQ(c.i2, d.i2) << "IQ1_M trial " << trial;
    ASSERT_EQ(c.shift, d.shift) << "IQ1_M trial " << trial;
    ASSERT_EQ(std::memcmp(&c.scale, &d.scale, sizeof(float)), 0) << "IQ1_M trial " << trial;
  }
}

TEST(Iq1SearchKernels, FastNeighbourSearchEqualsTheScalarOne) {
  const iq::GridSearch &search = iq::iq1s_search();
  std::mt19937 rng(29);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const float xp[3] = {-0.875f, 0.125f, 1.125f};
  int tested = 0;
  for (int key = 0; key < iq::kLatticeKeys && tested < 300; key += 13) {
    bool valid = true;
    for (int j = 0; j < 8; ++j) valid &= ((key >> (2 * j)) & 3) != 3;
    if (!valid || search.map[key] >= 0) continue;
    float x[8], w[8];
    for (int j = 0; j < 8; ++j) {
      x[j] = normal(rng);
      w[j] = tested % 10 == 0 ? 1.0f : std::fabs(normal(rng));  // equal weights: ties
    }
    int8_t la[8], lb[8];
    const int a = iq1::scalar_kernels().best_neighbour(search, static_cast<uint16_t>(key), x, w, 0.7f, xp, la);
    const int b = iq1::fast_kernels().best_neighbour(search, static_cast<uint16_t>(key), x, w, 0.7f, xp, lb);
    ASSERT_EQ(a, b) << "key " << key;
    ASSERT_EQ(0, std::memcmp(la, lb, 8));
    ++tested;
  }
  EXPECT_GT(tested, 100);
}

}  // namespace
}  // namespace qs::iq1_test
