// IQ2_XXS, IQ2_XS, IQ2_S: the grids against ggml-common.h, hand-built blocks decoded value by value
// from the format definition, exactly representable rows recovered exactly, the search kernels' fast
// path against the scalar one, and error against the figures ggml reaches on the same matrices.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "quant/iq2_blocks.h"
#include "quant/iq2_grids.h"
#include "quant/iq2_search.h"
#include "quant/iquant_signs.h"
#include "quant/iquants.h"
#include "quant/quant_test_data.h"
#include "quant/quantize_tensor.h"
#include "quant/types.h"

namespace qs::iq2_test {
namespace {

using DequantizeFn = void (*)(const void *, float *, int64_t);

// ---- Grids ------------------------------------------------------------------------------------

template <size_t N>
void expect_iq2_grid_invariants(const std::array<uint64_t, N> &grid, const char *name) {
  std::set<uint64_t> distinct(grid.begin(), grid.end());
  EXPECT_EQ(distinct.size(), N) << name << " has repeated entries";
  for (size_t g = 0; g < N; ++g) {
    for (int j = 0; j < 8; ++j) {
      const auto byte = static_cast<uint8_t>(grid[g] >> (8 * j));
      ASSERT_TRUE(byte == 0x08 || byte == 0x19 || byte == 0x2b) << name << "[" << g << "] byte " << j;
    }
  }
}

TEST(Iq2Grids, SizesAndValuesAreTheFormats) {
  EXPECT_EQ(iq2xxs_grid.size(), 256u);
  EXPECT_EQ(iq2xs_grid.size(), 512u);
  EXPECT_EQ(iq2s_grid.size(), 1024u);
  expect_iq2_grid_invariants(iq2xxs_grid, "iq2xxs_grid");
  expect_iq2_grid_invariants(iq2xs_grid, "iq2xs_grid");
  expect_iq2_grid_invariants(iq2s_grid, "iq2s_grid");
}

TEST(Iq2Grids, SpotEntriesMatchGgmlCommon) {
  // Values copied from ggml-common.h.
  EXPECT_EQ(iq2xxs_grid[0], 0x0808080808080808u);
  EXPECT_EQ(iq2xxs_grid[1], 0x080808080808082bu);
  EXPECT_EQ(iq2xxs_grid[2], 0x0808080808081919u);
  EXPECT_EQ(iq2xxs_grid[100], 0x08192b0808081908u);
  EXPECT_EQ(iq2xxs_grid[255], 0x2b2b2b1908081908u);
  EXPECT_EQ(iq2xs_grid[0], 0x0808080808080808u);
  EXPECT_EQ(iq2xs_grid[256], 0x190808080808192bu);
  EXPECT_EQ(iq2xs_grid[300], 0x1908190808191908u);
  EXPECT_EQ(iq2xs_grid[511], 0x2b2b2b2b2b2b2b2bu);
  EXPECT_EQ(iq2s_grid[1], 0x080808080808082bu);
  EXPECT_EQ(iq2s_grid[512], 0x19080819082b1919u);
  EXPECT_EQ(iq2s_grid[700], 0x1919082b2b080808u);
  EXPECT_EQ(iq2s_grid[1023], 0x2b2b2b2b2b2b2b2bu);
}

TEST(Iq2Grids, SignTableAddsTheEvenParityBit) {
  EXPECT_EQ(kSignsIq2xs[0], 0x00);
  EXPECT_EQ(kSignsIq2xs[1], 0x81);    // one sign set: the 8th makes two
  EXPECT_EQ(kSignsIq2xs[3], 0x03);    // two already
  EXPECT_EQ(kSignsIq2xs[64], 0xc0);
  EXPECT_EQ(kSignsIq2xs[127], 0xff);  // seven: all eight negative
}

// ---- Golden blocks ------------------------------------------------------------------------------

// Decodes `block` with both paths, from an odd address and as the second block of two, and compares
// with the expected values.
template <class Block>
void expect_decodes_to(const Block &block, const std::vector<float> &expected, DequantizeFn ref, DequantizeFn fast) {
  ASSERT_EQ(expected.size(), 256u);
  std::vector<uint8_t> bytes(1 + 2 * sizeof(Block));
  std::memcpy(bytes.data() + 1 + sizeof(Block), &block, sizeof(Block));
  std::memcpy(bytes.data() + 1, &block, sizeof(Block));
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

TEST(Iq2xxsGolden, HandBuiltBlockDecodes) {
  BlockIq2xxs block{};
  block.d = 0x3800;  // f16 0.5
  // Sub-block 0: grid indices 0, 1, 2, 3 (one byte each); 7-bit signs 0, 1, 3, 127 at bits 0, 7, 14, 21;
  // scale 5 in bits 28..31: 0 | 1 << 7 | 3 << 14 | 127 << 21 | 5 << 28 = 0x5fe0c080.
  block.qs[0] = 0x0100;
  block.qs[1] = 0x0302;
  block.qs[2] = 0xc080;
  block.qs[3] = 0x5fe0;
  // Sub-block 7: grid index 255 for group 0 (others 0), signs 64 for group 0, scale 15.
  block.qs[28] = 0x00ff;
  block.qs[29] = 0x0000;
  block.qs[30] = 0x0040;
  block.qs[31] = 0xf000;
  // Sub-blocks 1..6 are all zero bits: grid 0 (all 8), no signs, scale 0: db = 0.5 * 0.5 / 4 = 0.0625,
  // every value 8 * 0.0625 = 0.5.
  std::vector<float> expected(256, 0.5f);
  // Sub-block 0: db = 0.5 * (0.5 + 5) / 4 = 0.6875; grid bytes 8 -> 5.5, 25 -> 17.1875, 43 -> 29.5625.
  fill(expected, 0, {5.5f, 5.5f, 5.5f, 5.5f, 5.5f, 5.5f, 5.5f, 5.5f});  // grid 0, signs 0x00
  // grid 1 = 0x080808080808082b (byte 0 = 43); signs 1 -> 0x81: values 0 and 7 negative.
  fill(expected, 8, {-29.5625f, 5.5f, 5.5f, 5.5f, 5.5f, 5.5f, 5.5f, -5.5f});
  // grid 2 = 0x0808080808081919 (bytes 0, 1 = 25); signs 3 -> 0x03: values 0 and 1 negative.
  fill(expected, 16, {-17.1875f, -17.1875f, 5.5f, 5.5f, 5.5f, 5.5f, 5.5f, 5.5f});
  // grid 3 = 0x0808080808082b08 (byte 1 = 43); signs 127 -> 0xff: all negative.
  fill(expected, 24, {-5.5f, -29.5625f, -5.5f, -5.5f, -5.5f, -5.5f, -5.5f, -5.5f});
  // Sub-block 7: db = 0.5 * 15.5 / 4 = 1.9375; 8 -> 15.5, 25 -> 48.4375, 43 -> 83.3125.
  // grid 255 = 0x2b2b2b1908081908: bytes 8, 25, 8, 8, 25, 43, 43, 43; signs 64 -> 0xc0: values 6, 7.
  fill(expected, 224, {15.5f, 48.4375f, 15.5f, 15.5f, 48.4375f, 83.3125f, -83.3125f, -83.3125f});
  for (int i = 232; i < 256; ++i) expected[i] = 15.5f;  // groups 1..3: grid 0
  expect_decodes_to(block, expected, dequantize_iq2_xxs_ref, dequantize_iq2_xxs);
}

TEST(Iq2xsGolden, HandBuiltBlockDecodes) {
  BlockIq2xs block{};
  block.d = 0x3c00;      // f16 1.0
  block.scales[0] = 0x31;  // groups 0-1: scale 1, db = 1.5 / 4 = 0.375; groups 2-3: scale 3, db = 3.5 / 4 = 0.875
  block.qs[0] = 511;                 // grid 511: all 43; signs 0
  block.qs[1] = 256 | 5 << 9;        // grid 256; signs 5 -> 0x05 (two set, parity bit clear)
  block.qs[2] = 300 | 64 << 9;       // grid 300; signs 64 -> 0xc0
  block.qs[3] = static_cast<uint16_t>(1 | 127 << 9);  // grid 1; signs 127 -> 0xff
  // Everything else zero: grid 0, scale 0, db = 0.125: every value 8 * 0.125 = 1.
  std::vector<float> expected(256, 1.0f);
  fill(expected, 0, {16.125f, 16.125f, 16.125f, 16.125f, 16.125f, 16.125f, 16.125f, 16.125f});  // 43 * 0.375
  // grid 256 = 0x190808080808192b: bytes 43, 25, 8, 8, 8, 8, 8, 25 (* 0.375 = 16.125, 9.375, 3); values 0, 2 negative.
  fill(expected, 8, {-16.125f, 9.375f, -3.0f, 3.0f, 3.0f, 3.0f, 3.0f, 9.375f});
  // grid 300 = 0x1908190808191908: bytes 8, 25, 25, 8, 8, 25, 8, 25 (* 0.875 = 7, 21.875); values 6, 7 negative.
  fill(expected, 16, {7.0f, 21.875f, 21.875f, 7.0f, 7.0f, 21.875f, -7.0f, -21.875f});
  // grid 1: bytes 43, 8, ... (* 0.875 = 37.625, 7); all negative.
  fill(expected, 24, {-37.625f, -7.0f, -7.0f, -7.0f, -7.0f, -7.0f, -7.0f, -7.0f});
  expect_decodes_to(block, expected, dequantize_iq2_xs_ref, dequantize_iq2_xs);
}

TEST(Iq2sGolden, HandBuiltBlockDecodes) {
  BlockIq2s block{};
  block.d = 0x3c00;        // f16 1.0
  block.scales[0] = 0x20;  // groups 0-1: scale 0, db = 0.125; groups 2-3: scale 2, db = 2.5 / 4 = 0.625
  // Grid indices 1023, 512, 700, 1: low bytes in qs[0..3], high 2 bits in qh[0] (2 bits per group):
  // 1023 = 3 << 8 | 0xff, 512 = 2 << 8 | 0x00, 700 = 2 << 8 | 0xbc, 1 = 0 << 8 | 0x01.
  block.qs[0] = 0xff;
  block.qs[1] = 0x00;
  block.qs[2] = 0xbc;
  block.qs[3] = 0x01;
  block.qh[0] = 3 | 2 << 2 | 2 << 4 | 0 << 6;  // 0x2b
  // 8 explicit sign bits per group (no parity rule): an odd count is allowed.
  block.qs[32] = 0x01;
  block.qs[33] = 0x80;
  block.qs[34] = 0xff;
  block.qs[35] = 0x00;
  std::vector<float> expected(256, 1.0f);  // the rest: grid 0 (all 8) * 0.125
  fill(expected, 0, {-5.375f, 5.375f, 5.375f, 5.375f, 5.375f, 5.375f, 5.375f, 5.375f});  // 43 * 0.125
  // grid 512 = 0x19080819082b1919: bytes 25, 25, 43, 8, 25, 8, 8, 25 (* 0.125); value 7 negative.
  fill(expected, 8, {3.125f, 3.125f, 5.375f, 1.0f, 3.125f, 1.0f, 1.0f, -3.125f});
  // grid 700 = 0x1919082b2b080808: bytes 8, 8, 8, 43, 43, 8, 25, 25 (* 0.625 = 5, 26.875, 15.625); all negative.
  fill(expected, 16, {-5.0f, -5.0f, -5.0f, -26.875f, -26.875f, -5.0f, -15.625f, -15.625f});
  // grid 1: bytes 43, 8, ... (* 0.625 = 26.875, 5).
  fill(expected, 24, {26.875f, 5.0f, 5.0f, 5.0f, 5.0f, 5.0f, 5.0f, 5.0f});
  expect_decodes_to(block, expected, dequantize_iq2_s_ref, dequantize_iq2_s);
}

TEST(Iq2Golden, ZeroScaleDecodesToZeros) {
  BlockIq2xxs block{};
  std::memset(&block, 0xa5, sizeof(block));
  block.d = 0;  // d = +0: every value is +0 or -0
  std::vector<float> out(256);
  dequantize_iq2_xxs(&block, out.data(), 256);
  for (float v : out) EXPECT_EQ(v, 0.0f);
}

// ---- Quantization -------------------------------------------------------------------------------

TEST(Iq2Quantize, TypesThatNeedImportanceThrowWithoutIt) {
  std::vector<float> x(256, 0.5f);
  std::vector<uint8_t> out(128);
  EXPECT_THROW(quantize_iq2_xxs(x.data(), out.data(), 1, 256, nullptr), Error);
  EXPECT_THROW(quantize_iq2_xxs_ref(x.data(), out.data(), 1, 256, nullptr), Error);
  EXPECT_THROW(quantize_iq2_xs(x.data(), out.data(), 1, 256, nullptr), Error);
  EXPECT_THROW(quantize_iq2_xs_ref(x.data(), out.data(), 1, 256, nullptr), Error);
  EXPECT_NO_THROW(quantize_iq2_s(x.data(), out.data(), 1, 256, nullptr));
}

TEST(Iq2Quantize, ZerosStayZeros) {
  const std::vector<float> x(512, 0.0f), importance(256, 1.0f);
  for (const char *name : {"IQ2_XXS", "IQ2_XS", "IQ2_S"}) {
    const QuantType &type = quant_type_by_name(name);
    const auto q = quantize_rows(type, x.data(), 2, 256, importance.data(), 1);
    std::vector<float> y(512, 1.0f);
    type.dequantize(q.data(), y.data(), 512);
    for (float v : y) ASSERT_EQ(v, 0.0f) << name;
  }
}

// A row the format represents exactly: d = 1/64, sub-block codes l (the first sub-block's 15, so it
// fixes d), random grid entries and signs (even count for the types with the parity rule). With equal
// importance the weighted error of the exact answer is 0, so the search must find it.
std::vector<float> representable_row(const uint64_t *grid, int grid_size, int sub_block_size, bool even_parity,
                                     uint32_t seed) {
  std::mt19937 rng(seed);
  const float d = 1.0f / 64;
  std::vector<float> x(256);
  for (int ib = 0; ib < 256 / sub_block_size; ++ib) {
    const int l = ib == 0 ? 15 : static_cast<int>(rng() % 16);
    const float db = d * (0.5f + static_cast<float>(l)) * 0.25f;
    for (int k = 0; k < sub_block_size / 8; ++k) {
      const uint64_t entry = grid[rng() % static_cast<uint32_t>(grid_size)];
      unsigned signs = rng() & 255;
      if (even_parity && std::popcount(signs) % 2) signs ^= 128;
      for (int j = 0; j < 8; ++j) {
        const float v = db * static_cast<float>((entry >> (8 * j)) & 0xff);
        x[sub_block_size * ib + 8 * k + j] = (signs >> j) & 1 ? -v : v;
      }
    }
  }
  return x;
}

TEST(Iq2Quantize, ExactlyRepresentableRowsComeBackExactly) {
  const std::vector<float> importance(256, 1.0f);
  struct Case {
    const char *name;
    const uint64_t *grid;
    int grid_size, sub_block_size;
    bool even_parity;
  };
  for (const Case &c : {Case{"IQ2_XXS", iq2xxs_grid.data(), 256, 32, true}, Case{"IQ2_XS", iq2xs_grid.data(), 512, 16, true},
                        Case{"IQ2_S", iq2s_grid.data(), 1024, 16, false}}) {
    const QuantType &type = quant_type_by_name(c.name);
    for (uint32_t seed = 1; seed <= 3; ++seed) {
      const auto x = representable_row(c.grid, c.grid_size, c.sub_block_size, c.even_parity, seed);
      for (auto quantize : {type.quantize, type.quantize_ref}) {
        std::vector<uint8_t> q(type.row_bytes(256));
        quantize(x.data(), q.data(), 1, 256, importance.data());
        std::vector<float> y(256);
        type.dequantize(q.data(), y.data(), 256);
        for (int i = 0; i < 256; ++i) ASSERT_EQ(y[i], x[i]) << c.name << " seed " << seed << " value " << i;
      }
    }
  }
}

TEST(Iq2Quantize, WeightedErrorIsNoWorseThanGgmls) {
  // ggml's own figures (ggml_quantize_chunk, then the weighted relative MSE of quant_test_data.h with
  // the same importance) on the all-types ladder matrices: 16 x 512, seed 21, importance seed 22.
  struct Figure {
    const char *name;
    bool with_importance;
    double ggml[3];  // Gaussian, Student-t, outlier columns
  };
  const Figure figures[] = {
      {"IQ2_XXS", true, {0.0448899677, 0.0976184866, 0.234182657}},
      {"IQ2_XS", true, {0.0357699546, 0.0642350238, 0.14071235}},
      {"IQ2_S", true, {0.0299390669, 0.0577059438, 0.126352869}},
      // Without an imatrix ggml weighs by the values themselves; compared unweighted.
      {"IQ2_S", false, {0.0686748909, 0.193248858, 0.236597991}},
  };
  const auto importance = test::make_importance(512, 22);
  for (const Figure &f : figures) {
    const QuantType &type = quant_type_by_name(f.name);
    for (int dist = 0; dist < 3; ++dist) {
      const auto x = test::make_matrix(static_cast<test::Distribution>(dist), 16, 512, 21);
      const auto q = quantize_rows(type, x.data(), 16, 512, f.with_importance ? importance.data() : nullptr, 1);
      std::vector<float> y(x.size());
      dequantize_values(type, q.data(), y.data(), static_cast<int64_t>(y.size()), 1);
      const double ours = test::weighted_relative_mse(x, y, 512, f.with_importance ? importance.data() : nullptr);
      EXPECT_LE(ours, f.ggml[dist]) << f.name << (f.with_importance ? " with" : " without") << " importance, distribution "
                                    << dist;
    }
  }
}

TEST(Iq2Quantize, NonFiniteInputGivesTheSameBytesOnBothPaths) {
  // Callers check tensors first (check_finite), but a NaN, an Inf or a huge value that slips through
  // must not crash the search, and both paths must still agree.
  for (const char *name : {"IQ2_XXS", "IQ2_XS", "IQ2_S"}) {
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

TEST(Iq2SearchKernels, FastBuildAndScanEqualTheScalarOnes) {
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  const iq2::Kernels &scalar = iq2::scalar_kernels();
  const iq2::Kernels &fast = iq2::fast_kernels();
  for (const iq2::PairCodedGrid *grid : {&iq2::iq2xxs_pairs(), &iq2::iq2xs_pairs(), &iq2::iq2s_pairs()}) {
    for (int trial = 0; trial < 20; ++trial) {
      float weight[8], abs_x[8];
      for (int j = 0; j < 8; ++j) {
        // Trial 0: all weights zero, so every score ties and the first entry must win.
        weight[j] = trial == 0 ? 0.0f : uniform(rng) * (trial % 3 == 0 ? 100.0f : 1.0f);
        abs_x[j] = trial % 4 == 1 ? 0.0f : uniform(rng);  // some all-zero groups
      }
      const iq2::PairTables pairs = iq2::make_pair_tables(weight, abs_x);
      const bool odd = trial % 2 == 1;
      iq2::GroupTable a, b;
      scalar.build(*grid, pairs, odd, a);
      fast.build(*grid, pairs, odd, b);
      ASSERT_EQ(0, std::memcmp(a.a2, b.a2, sizeof(float) * static_cast<size_t>(grid->size)));
      ASSERT_EQ(0, std::memcmp(a.b, b.b, sizeof(float) * static_cast<size_t>(grid->size)));
      float u[8];
      for (float &v : u) v = 0.001f + uniform(rng) * 0.05f;
      int best_scalar[8], best_fast[8];
      for (int n_u : {8, 5, 1}) {
        scalar.scan(*grid, a, u, n_u, best_scalar);
        fast.scan(*grid, a, u, n_u, best_fast);
        for (int t = 0; t < n_u; ++t) {
          ASSERT_EQ(best_scalar[t], best_fast[t]) << "grid " << grid->size << " trial " << trial << " scale " << t;
          if (trial == 0) {
            ASSERT_EQ(best_fast[t], 0);
          }
        }
      }
    }
  }
}

// The search's contract with its Scorer (iq2_block_search.h): a scorer that computes an entry's sums
// only when asked, scanning entry by entry with the scales inside (as the GPU's does), must give the
// bytes of the CPU's tables, whatever the search asks in whatever order.
struct OnDemandScorer {
  const iq2::PairCodedGrid &grid = iq2::iq2s_pairs();
  iq2::PairTables pairs[4];
  bool odd_parity[4];

  void prepare(int k, const iq2::PairTables &group_pairs, bool odd) {
    pairs[k] = group_pairs;
    odd_parity[k] = odd;
  }
  void sums(int k, int g, float &a2, float &b) const {
    iq2::entry_sums(pairs[k], grid.codes[0][g], grid.codes[1][g], grid.codes[2][g], grid.codes[3][g], odd_parity[k], a2, b);
  }
  void scan(int k, const float *u, int n_u, int *best) const {
    std::vector<float> lowest(static_cast<size_t>(n_u), FLT_MAX);
    std::fill(best, best + n_u, -1);
    for (int g = 0; g < grid.size; ++g) {
      float a2, b;
      sums(k, g, a2, b);
      for (int t = 0; t < n_u; ++t) {
        const float score = iq2::entry_score(a2, b, u[t]);
        if (score < lowest[static_cast<size_t>(t)]) {
          lowest[static_cast<size_t>(t)] = score;
          best[t] = g;
        }
      }
    }
  }
  int best_candidate(const iq2::Candidates &candidates, float u, float *score) const {
    return iq2::best_candidate_ref(candidates, u, score);
  }
  uint64_t grid_entry(int g) const { return iq2s_grid[static_cast<size_t>(g)]; }
};

TEST(Iq2Search, ScoresComputedWhenAskedGiveTheTablesBytes) {
  const std::vector<float> x = test::make_matrix(test::Distribution::OutlierColumns, 6, 512, 31);
  const std::vector<float> importance = test::make_importance(512, 32);
  for (const float *w : {static_cast<const float *>(nullptr), importance.data()}) {
    std::vector<BlockIq2s> expected(12), got(12);
    quantize_iq2_s_ref(x.data(), expected.data(), 6, 512, w);
    OnDemandScorer scorer;
    for (int64_t b = 0; b < 12; ++b) iq2::encode_s_block(x.data() + 256 * b, w ? w + 256 * (b % 2) : nullptr, scorer, got[b]);
    ASSERT_EQ(0, std::memcmp(expected.data(), got.data(), sizeof(BlockIq2s) * expected.size()))
        << (w ? "with" : "without") << " importance";
  }
}

TEST(Iq2SearchKernels, ScanFindsTheExhaustiveMinimum) {
  // Independent of the table layout: the weighted squared error of every entry, directly.
  const float x[8] = {0.3f, -0.1f, 0.05f, 0.7f, -0.2f, 0.0f, 0.15f, -0.4f};
  const float weight[8] = {1.0f, 2.0f, 0.5f, 1.5f, 1.0f, 3.0f, 0.25f, 1.0f};
  float abs_x[8];
  for (int j = 0; j < 8; ++j) abs_x[j] = std::fabs(x[j]);
  const iq2::PairCodedGrid &grid = iq2::iq2s_pairs();
  iq2::GroupTable table;
  iq2::fast_kernels().build(grid, iq2::make_pair_tables(weight, abs_x), false, table);
  for (float u : {0.002f, 0.008f, 0.016f}) {
    int best;
    iq2::fast_kernels().scan(grid, table, &u, 1, &best);
    double lowest = 1e30;
    int expected = -1;
    for (int g = 0; g < 1024; ++g) {
      double err = 0;
      for (int j = 0; j < 8; ++j) {
        const double v = u * static_cast<double>((iq2s_grid[g] >> (8 * j)) & 0xff);
        err += weight[j] * (abs_x[j] - v) * (abs_x[j] - v);
      }
      if (err < lowest) {
        lowest = err;
        expected = g;
      }
    }
    EXPECT_EQ(best, expected) << "u = " << u;
  }
}

}  // namespace
}  // namespace qs::iq2_test
