// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K: hand-made super-blocks decode to the values the format defines, the
// packed scale layouts round-trip every value through the decoding ggml uses, values on a type's
// grid survive quantization exactly, and one super-block at a time by the scalar references (the
// GPU's way) gives the row quantizers' bytes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/block_errors.h"
#include "quant/importance.h"
#include "quant/kquants.h"
#include "quant/kquants_common.h"
#include "quant/q2_k_blocks.h"
#include "quant/q4_k_q5_k_blocks.h"
#include "quant/types.h"

namespace qs::kquants_test {
namespace {

using Dequantize = void (*)(const void *, float *, int64_t);
using Quantize = void (*)(const float *, void *, int64_t, int64_t, const float *);

template <class Block>
void expect_decodes_to(GgmlType id, const Block &block, const std::vector<float> &expected) {
  const QuantType &type = quant_type(id);
  ASSERT_EQ(sizeof(Block), type.block_bytes);
  for (Dequantize dequantize : {type.dequantize, type.dequantize_ref}) {
    std::vector<float> y(256);
    dequantize(&block, y.data(), 256);
    for (int v = 0; v < 256; ++v) ASSERT_EQ(y[v], expected[v]) << type.name << " value " << v;
  }
}

TEST(KQuantGolden, Q2_K) {
  // d = 0x3C00 = 1, dmin = 0x3800 = 0.5; sub-block s has scale s and min 15 - s (byte s | (15-s) << 4);
  // every qs byte is 0xE4 = 0b11'10'01'00, so value 128h + 32k + l has q = k.
  // value v = 1·(v/16)·k - 0.5·(15 - v/16): e.g. v = 0 → -7.5, v = 100 (s 6, k 3) → 18 - 4.5 = 13.5.
  BlockQ2_K b;
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<uint8_t>(s | ((15 - s) << 4));
  std::memset(b.qs, 0xE4, sizeof(b.qs));
  b.d = 0x3C00;
  b.dmin = 0x3800;
  std::vector<float> expected(256);
  for (int v = 0; v < 256; ++v) expected[v] = static_cast<float>((v / 16) * ((v % 128) / 32)) - 0.5f * static_cast<float>(15 - v / 16);
  EXPECT_EQ(expected[100], 13.5f);
  expect_decodes_to(GgmlType::Q2_K, b, expected);
}

TEST(KQuantGolden, Q3_K) {
  // d = 0x3400 = 0.25. Scale bytes 70 61 52 43 34 25 16 07 | 1B 00 FF E4: scale j = (low nibble |
  // top 2 bits << 4) - 32 with the low nibble from byte j (j < 8) or the high half of byte j - 8, the
  // top bits from byte 8 + j%4 at bit 2(j/4). E.g. j = 0: 0 | 3<<4 = 48 → 16; j = 1: 1 | 0 → -31;
  // j = 4: 4 | 2<<4 → 4; j = 8: 7 | 1<<4 → -9; j = 15: 0 | 3<<4 → 16.
  const int scale[16] = {16, -31, 18, -29, 4, -27, 22, -9, -9, -26, 21, 4, -29, -30, 17, 16};
  BlockQ3_K b;
  const uint8_t scale_bytes[12] = {0x70, 0x61, 0x52, 0x43, 0x34, 0x25, 0x16, 0x07, 0x1B, 0x00, 0xFF, 0xE4};
  std::memcpy(b.scales, scale_bytes, 12);
  // qs bytes 0x1B = 0b00'01'10'11: value 128h + 32k + l has low bits 3 - k. hmask byte l is 0x0F for
  // l < 16 and 0xF0 otherwise: value v keeps its high bit iff bit v/32 of hmask[v%32] is set.
  std::memset(b.qs, 0x1B, sizeof(b.qs));
  for (int l = 0; l < 32; ++l) b.hmask[l] = l < 16 ? 0x0F : 0xF0;
  b.d = 0x3400;
  std::vector<float> expected(256);
  for (int v = 0; v < 256; ++v) {
    const int low = 3 - (v % 128) / 32;
    const bool high = (((v % 32) < 16 ? 0x0F : 0xF0) >> (v / 32)) & 1;
    expected[v] = 0.25f * static_cast<float>(scale[v / 16]) * static_cast<float>(low - (high ? 0 : 4));
  }
  // value 0: scale 16, low 3, high bit set → 0.25·16·3 = 12; value 48 (sub-block 3, l 16, k 1):
  // scale -29, low 2, high bit clear → 0.25·-29·(2 - 4) = 14.5.
  EXPECT_EQ(expected[0], 12.0f);
  EXPECT_EQ(expected[48], 14.5f);
  expect_decodes_to(GgmlType::Q3_K, b, expected);
}

// Scale bytes shared by the Q4_K/Q5_K goldens: bytes 0-3 = 01 42 83 C4 (scales 0-3 = 1..4 in the low 6
// bits, top bits 0..3 = high bits of scales 4-7), 4-7 = 05 46 87 C8 (mins 0-3 = 5..8, top bits =
// high bits of mins 4-7), 8-11 = 21 32 43 54 (low nibbles of scales 4-7 = 1..4, mins 4-7 = 2..5).
// scale 5 = 2 | 1<<4 = 18, scale 7 = 4 | 3<<4 = 52, min 6 = 4 | 2<<4 = 36, min 7 = 5 | 3<<4 = 53.
const uint8_t kK4ScaleBytes[12] = {0x01, 0x42, 0x83, 0xC4, 0x05, 0x46, 0x87, 0xC8, 0x21, 0x32, 0x43, 0x54};
const int kK4Scales[8] = {1, 2, 3, 4, 1, 18, 35, 52};
const int kK4Mins[8] = {5, 6, 7, 8, 2, 19, 36, 53};

TEST(KQuantGolden, Q4_K) {
  // d = 0x3800 = 0.5, dmin = 0x3400 = 0.25; byte 32c + l = (l & 15) | (15 - (l & 15)) << 4, so value
  // 64c + l has q = l & 15 and value 64c + 32 + l has q = 15 - (l & 15). value = 0.5·scale·q - 0.25·min.
  // E.g. value 255 (sub-block 7, l 31): 0.5·52·(15 - 15) - 0.25·53 = -13.25.
  BlockQ4_K b;
  b.d = 0x3800;
  b.dmin = 0x3400;
  std::memcpy(b.scales, kK4ScaleBytes, 12);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) b.qs[32 * c + l] = static_cast<uint8_t>((l & 15) | ((15 - (l & 15)) << 4));
  }
  std::vector<float> expected(256);
  for (int v = 0; v < 256; ++v) {
    const int l = v % 32, q = (v % 64) < 32 ? (l & 15) : 15 - (l & 15);
    expected[v] = 0.5f * static_cast<float>(kK4Scales[v / 32]) * static_cast<float>(q) - 0.25f * static_cast<float>(kK4Mins[v / 32]);
  }
  EXPECT_EQ(expected[255], -13.25f);
  expect_decodes_to(GgmlType::Q4_K, b, expected);
}

TEST(KQuantGolden, Q5_K) {
  // As Q4_K, plus qh[l] = l: the fifth bit of value 64c + l is bit 2c of l, of 64c + 32 + l bit 2c + 1.
  // E.g. value 69 (sub-block 2, c 1, l 5 = 0b101): bit 2 of 5 is 1 → q = 5 + 16 = 21 →
  // 0.5·3·21 - 0.25·7 = 29.75.
  BlockQ5_K b;
  b.d = 0x3800;
  b.dmin = 0x3400;
  std::memcpy(b.scales, kK4ScaleBytes, 12);
  for (int l = 0; l < 32; ++l) b.qh[l] = static_cast<uint8_t>(l);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) b.qs[32 * c + l] = static_cast<uint8_t>((l & 15) | ((15 - (l & 15)) << 4));
  }
  std::vector<float> expected(256);
  for (int v = 0; v < 256; ++v) {
    const int c = v / 64, l = v % 32;
    const bool upper = (v % 64) >= 32;
    const int q = (upper ? 15 - (l & 15) : (l & 15)) + 16 * ((l >> (2 * c + (upper ? 1 : 0))) & 1);
    expected[v] = 0.5f * static_cast<float>(kK4Scales[v / 32]) * static_cast<float>(q) - 0.25f * static_cast<float>(kK4Mins[v / 32]);
  }
  EXPECT_EQ(expected[69], 29.75f);
  expect_decodes_to(GgmlType::Q5_K, b, expected);
}

TEST(KQuantGolden, Q6_K) {
  // d = 0x3800 = 0.5; scale s = 9s - 70 (int8); ql byte i = i, qh byte i = 3i + 1 (mod 256).
  // Value 128h + 32k + l: low nibble of ql[64h + 32(k&1) + l] (high half for k >= 2), top bits
  // 2k..2k+1 of qh[32h + l]; value = 0.5·scale·(q - 32). E.g. value 0: ql 0 → 0, qh 1 → 1 → q = 16,
  // scale -70 → 0.5·-70·-16 = 560; value 200 (h 1, k 2, l 8): ql[72] = 0x48 → 4, qh[40] = 121 =
  // 0b01'11'10'01 → bits 4-5 = 3 → q = 52, scale 9·12 - 70 = 38 → 0.5·38·20 = 380.
  BlockQ6_K b;
  for (int i = 0; i < 128; ++i) b.ql[i] = static_cast<uint8_t>(i);
  for (int i = 0; i < 64; ++i) b.qh[i] = static_cast<uint8_t>(3 * i + 1);
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<int8_t>(9 * s - 70);
  b.d = 0x3800;
  std::vector<float> expected(256);
  for (int v = 0; v < 256; ++v) {
    const int h = v / 128, k = (v % 128) / 32, l = v % 32;
    const int low = (b.ql[64 * h + 32 * (k & 1) + l] >> (k >= 2 ? 4 : 0)) & 0xF;
    const int top = (b.qh[32 * h + l] >> (2 * k)) & 3;
    expected[v] = 0.5f * static_cast<float>(9 * (v / 16) - 70) * static_cast<float>((low | (top << 4)) - 32);
  }
  EXPECT_EQ(expected[0], 560.0f);
  EXPECT_EQ(expected[200], 380.0f);
  expect_decodes_to(GgmlType::Q6_K, b, expected);
}

// ggml's get_scale_min_k4, transcribed from the format: what every reader of Q4_K/Q5_K does.
void ggml_scale_min_k4(int j, const uint8_t *q, int &d, int &m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
  }
}

TEST(KQuantScales, ScalesAndMinsK4RoundTripEveryValueAtEveryPosition) {
  for (int j = 0; j < 8; ++j) {
    for (int scale = 0; scale < 64; ++scale) {
      for (int min = 0; min < 64; ++min) {
        uint8_t scales[8], mins[8];
        for (int i = 0; i < 8; ++i) {  // neighbours hold other values, to catch bits leaking across
          scales[i] = static_cast<uint8_t>((scale + 23 * i + 7) & 63);
          mins[i] = static_cast<uint8_t>((min + 41 * i + 3) & 63);
        }
        scales[j] = static_cast<uint8_t>(scale);
        mins[j] = static_cast<uint8_t>(min);
        uint8_t packed[12];
        pack_scales_mins_k4(scales, mins, packed);
        for (int i = 0; i < 8; ++i) {
          int d, m;
          ggml_scale_min_k4(i, packed, d, m);
          ASSERT_EQ(d, scales[i]) << j << " " << scale << " " << min << " at " << i;
          ASSERT_EQ(m, mins[i]) << j << " " << scale << " " << min << " at " << i;
          uint8_t our_d, our_m;
          unpack_scale_min_k4(i, packed, our_d, our_m);
          ASSERT_EQ(our_d, scales[i]);
          ASSERT_EQ(our_m, mins[i]);
        }
      }
    }
  }
}

// ggml's dequantize_row_q3_K unpacks the 12 scale bytes as 32-bit words; transcribed here.
void ggml_q3_K_scales(const uint8_t packed[12], int out[16]) {
  uint32_t aux[4];
  std::memcpy(aux, packed, 12);
  const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f, tmp = aux[2];
  aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
  aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
  aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
  aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
  const auto *bytes = reinterpret_cast<const int8_t *>(aux);
  for (int j = 0; j < 16; ++j) out[j] = bytes[j] - 32;
}

TEST(KQuantScales, Q3_KScalesRoundTripEveryValueAtEveryPosition) {
  for (int j = 0; j < 16; ++j) {
    for (int value = -32; value < 32; ++value) {
      int8_t scales[16];
      for (int i = 0; i < 16; ++i) scales[i] = static_cast<int8_t>(((value + 32 + 29 * i + 5) & 63) - 32);
      scales[j] = static_cast<int8_t>(value);
      uint8_t packed[12];
      pack_scales_q3_K(scales, packed);
      int decoded[16];
      ggml_q3_K_scales(packed, decoded);
      for (int i = 0; i < 16; ++i) {
        ASSERT_EQ(decoded[i], scales[i]) << j << " " << value << " at " << i;
        ASSERT_EQ(unpack_scale_q3_K(i, packed), scales[i]);
      }
    }
  }
}

// Builds a row of super-blocks whose values lie exactly on the type's grid: power-of-two super
// scales, integer sub-block scales including the largest one the search aims for, every level's
// extremes present in every sub-block. Quantizing must give them back exactly.
std::vector<float> grid_row(GgmlType type, int n_super, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> x(256 * n_super);
  const float d = 1.0f / 1024.0f, dmin = 1.0f / 2048.0f;
  for (int sb = 0; sb < n_super; ++sb) {
    float *y = x.data() + 256 * sb;
    switch (type) {
      case GgmlType::Q6_K:
      case GgmlType::Q3_K: {
        const bool six = type == GgmlType::Q6_K;
        const int smin = six ? -128 : -32, smax = six ? 127 : 31, lo = six ? -32 : -4, hi = six ? 31 : 3;
        for (int s = 0; s < 16; ++s) {
          int scale = s == 3 ? smin : smin / 2 + static_cast<int>(rng() % static_cast<unsigned>(smax - smin / 2));
          if (scale == 0) scale = 1;
          for (int j = 0; j < 16; ++j) {
            const int level = j == 0 ? lo : j == 1 ? hi : lo + static_cast<int>(rng() % static_cast<unsigned>(hi - lo + 1));
            y[16 * s + j] = d * static_cast<float>(scale) * static_cast<float>(level);
          }
        }
        break;
      }
      case GgmlType::Q2_K:
      case GgmlType::Q4_K:
      case GgmlType::Q5_K: {
        const int sub = type == GgmlType::Q2_K ? 16 : 32;
        const int smax = type == GgmlType::Q2_K ? 15 : 63;
        const int nmax = type == GgmlType::Q2_K ? 3 : type == GgmlType::Q4_K ? 15 : 31;
        for (int s = 0; s < 256 / sub; ++s) {
          const int scale = s == 1 ? smax : 1 + static_cast<int>(rng() % static_cast<unsigned>(smax));
          const int min = s == 2 ? smax : static_cast<int>(rng() % static_cast<unsigned>(smax + 1));
          for (int j = 0; j < sub; ++j) {
            const int q = j == 0 ? 0 : j == 1 ? nmax : static_cast<int>(rng() % static_cast<unsigned>(nmax + 1));
            y[sub * s + j] = d * static_cast<float>(scale) * static_cast<float>(q) - dmin * static_cast<float>(min);
          }
        }
        break;
      }
      default:
        ADD_FAILURE();
    }
  }
  return x;
}

TEST(KQuantQuantize, ValuesOnTheGridComeBackExactly) {
  std::vector<float> importance(512);
  for (int i = 0; i < 512; ++i) importance[i] = 0.5f + static_cast<float>((i * 37) % 11);
  for (GgmlType id : {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K}) {
    const QuantType &type = quant_type(id);
    const auto x = grid_row(id, 2, 11);
    for (Quantize quantize : {type.quantize, type.quantize_ref}) {
      for (const float *w : {static_cast<const float *>(nullptr), static_cast<const float *>(importance.data())}) {
        std::vector<uint8_t> q(type.row_bytes(512));
        quantize(x.data(), q.data(), 1, 512, w);
        std::vector<float> y(512);
        type.dequantize_ref(q.data(), y.data(), 512);
        for (int i = 0; i < 512; ++i) ASSERT_EQ(y[i], x[i]) << type.name << " value " << i << (w ? " weighted" : "");
      }
    }
  }
}

TEST(KQuantQuantize, AllZeroSuperBlockDecodesToZero) {
  std::vector<float> x(256, 0.0f);
  for (GgmlType id : {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K}) {
    const QuantType &type = quant_type(id);
    std::vector<uint8_t> q(type.block_bytes);
    type.quantize(x.data(), q.data(), 1, 256, nullptr);
    std::vector<float> y(256, 1.0f);
    type.dequantize(q.data(), y.data(), 256);
    for (int i = 0; i < 256; ++i) ASSERT_EQ(y[i], 0.0f) << type.name << " " << i;
  }
}

// The GPU quantizes a k-quant one super-block at a time with the scalar references alone
// (encode_block_ref, on the row's floored importance); the CPU searches a row's sub-blocks in
// batches of 16 super-blocks and may take the AVX-512 forms. Rows of 40 super-blocks (two whole
// batches and a part) must give the same bytes either way.
template <class Block, class Encode>
void expect_blocks_equal_rows(GgmlType id, Encode encode_block_ref) {
  constexpr int64_t kCols = 40 * 256, kRows = 3;
  std::mt19937 rng(17);
  std::student_t_distribution<float> heavy(3.0f);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  std::vector<float> x(kRows * kCols), importance(kCols);
  for (float &v : x) v = 0.02f * heavy(rng);
  for (int64_t j = 0; j < 300; ++j) x[kCols + j] = 0.0f;  // an all-zero super-block and a part
  for (int64_t j = 0; j < kCols; ++j) importance[j] = j % 37 == 0 ? 0.0f : std::exp(normal(rng));
  const QuantType &type = quant_type(id);
  for (const float *imatrix : {static_cast<const float *>(nullptr), static_cast<const float *>(importance.data())}) {
    const std::vector<float> weights =
        imatrix ? floored_importance(imatrix, kCols, kKQuantImportanceFloor) : std::vector<float>();
    std::vector<Block> blocks(kRows * kCols / 256);
    for (int64_t i = 0; i < static_cast<int64_t>(blocks.size()); ++i) {
      const int64_t column = (i % (kCols / 256)) * 256;
      encode_block_ref(x.data() + i * 256, imatrix ? weights.data() + column : nullptr, blocks[i]);
    }
    for (Quantize quantize : {type.quantize, type.quantize_ref}) {
      std::vector<uint8_t> rows(blocks.size() * sizeof(Block));
      quantize(x.data(), rows.data(), kRows, kCols, imatrix);
      EXPECT_EQ(0, std::memcmp(rows.data(), blocks.data(), rows.size())) << type.name << (imatrix ? " weighted" : "");
    }
  }
}

TEST(KQuantQuantize, OneSuperBlockAtATimeEqualsTheRowQuantizer) {
  expect_blocks_equal_rows<BlockQ2_K>(GgmlType::Q2_K, [](const float *x, const float *w, BlockQ2_K &b) {
    q2_k::encode_block_ref(x, w, b);
  });
  expect_blocks_equal_rows<BlockQ4_K>(GgmlType::Q4_K, [](const float *x, const float *w, BlockQ4_K &b) {
    q4_k_q5_k::encode_block_ref<4>(x, w, b);
  });
  expect_blocks_equal_rows<BlockQ5_K>(GgmlType::Q5_K, [](const float *x, const float *w, BlockQ5_K &b) {
    q4_k_q5_k::encode_block_ref<5>(x, w, b);
  });
}

TEST(BlockErrors, FastEqualsReferenceBitForBit) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (int n : {16, 32}) {
    for (int n_blocks : {8, 16}) {
      std::vector<float> x(n * n_blocks), w(n * n_blocks);
      for (auto &v : x) v = normal(rng);
      for (auto &v : w) v = std::fabs(normal(rng)) * 50.0f;
      for (const float *wp : {static_cast<const float *>(nullptr), static_cast<const float *>(w.data())}) {
        const BlockErrors fast(x.data(), wp, n, n_blocks, true), ref(x.data(), wp, n, n_blocks, false);
        float d[48], m[32];
        for (int i = 0; i < 48; ++i) d[i] = i % 7 == 0 ? 0.0f : 0.002f + 0.0003f * static_cast<float>(i % 13);
        for (int i = 0; i < 32; ++i) m[i] = 0.001f * static_cast<float>(i % 5);
        float e_fast[16], e_ref[16];
        int k_fast[16], k_ref[16], l_fast[16], l_ref[16];
        fast.symmetric(-4.0f, 3.0f, d, e_fast);
        ref.symmetric(-4.0f, 3.0f, d, e_ref);
        EXPECT_EQ(0, std::memcmp(e_fast, e_ref, sizeof e_fast));
        fast.affine(15.0f, d, m, e_fast);
        ref.affine(15.0f, d, m, e_ref);
        EXPECT_EQ(0, std::memcmp(e_fast, e_ref, sizeof e_fast));
        fast.best_symmetric(-32.0f, 31.0f, d, 3, e_fast, k_fast);
        ref.best_symmetric(-32.0f, 31.0f, d, 3, e_ref, k_ref);
        EXPECT_EQ(0, std::memcmp(e_fast, e_ref, sizeof e_fast));
        EXPECT_EQ(0, std::memcmp(k_fast, k_ref, sizeof k_fast));
        fast.best_affine(3.0f, d, 3, m, 2, e_fast, k_fast, l_fast);
        ref.best_affine(3.0f, d, 3, m, 2, e_ref, k_ref, l_ref);
        EXPECT_EQ(0, std::memcmp(e_fast, e_ref, sizeof e_fast));
        EXPECT_EQ(0, std::memcmp(k_fast, k_ref, sizeof k_fast));
        EXPECT_EQ(0, std::memcmp(l_fast, l_ref, sizeof l_fast));
      }
    }
  }
}

TEST(BlockErrors, ErrorIsTheWeightedSquaredRoundingError) {
  // One block of 16 values k/8 (k = -8..7): at scale 1/8 every value is on the grid (error 0); at
  // scale 1/4 with levels -4..3 the odd k land halfway and round to even, each off by 1/8.
  std::vector<float> x(16 * 16);
  for (int b = 0; b < 16; ++b) {
    for (int j = 0; j < 16; ++j) x[16 * b + j] = static_cast<float>(j - 8) / 8.0f;
  }
  for (bool fast : {false, true}) {
    const BlockErrors errors(x.data(), nullptr, 16, 16, fast);
    float d[16], err[16];
    for (int b = 0; b < 16; ++b) d[b] = b < 8 ? 0.125f : 0.25f;
    errors.symmetric(-8.0f, 7.0f, d, err);
    for (int b = 0; b < 8; ++b) EXPECT_EQ(err[b], 0.0f);
    // x/d = k/2: the 8 odd k fall halfway between levels, each off by 1/8 → 8/64 (no clamping).
    for (int b = 8; b < 16; ++b) EXPECT_EQ(err[b], 0.125f);
  }
}

}  // namespace
}  // namespace qs::kquants_test
