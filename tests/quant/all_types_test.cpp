// Properties every row of the type table must have, checked over the whole table: the fast path
// equals the scalar reference bit for bit, results do not depend on the thread count, error falls
// with bits, importance weights lower the weighted error, and bad input is refused.
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "core/error.h"
#include "quant/quantize_tensor.h"
#include "quant/types.h"
#include "quant/quant_test_data.h"

namespace qs::all_types_test {
namespace {

using test::Distribution;

constexpr int64_t kRows = 16;
constexpr int64_t kCols = 512;  // a multiple of every block size

class EveryType : public ::testing::TestWithParam<const QuantType *> {};

std::string type_name(const ::testing::TestParamInfo<const QuantType *> &info) { return info.param->name; }

TEST_P(EveryType, FastPathEqualsReferenceBitForBit) {
  const QuantType &type = *GetParam();
  for (auto dist : {Distribution::Gaussian, Distribution::StudentT, Distribution::OutlierColumns}) {
    const auto x = test::make_matrix(dist, kRows, kCols, 1234 + static_cast<uint32_t>(dist));
    const auto importance = test::make_importance(kCols, 99);
    const size_t bytes = static_cast<size_t>(kRows) * type.row_bytes(kCols);
    std::vector<uint8_t> fast(bytes), ref(bytes);
    type.quantize(x.data(), fast.data(), kRows, kCols, importance.data());
    type.quantize_ref(x.data(), ref.data(), kRows, kCols, importance.data());
    ASSERT_EQ(0, std::memcmp(fast.data(), ref.data(), bytes)) << type.name << " quantize, distribution " << int(dist);
    if (!type.needs_imatrix) {
      type.quantize(x.data(), fast.data(), kRows, kCols, nullptr);
      type.quantize_ref(x.data(), ref.data(), kRows, kCols, nullptr);
      ASSERT_EQ(0, std::memcmp(fast.data(), ref.data(), bytes)) << type.name << " quantize without imatrix";
    }
    std::vector<float> out_fast(x.size()), out_ref(x.size());
    type.dequantize(fast.data(), out_fast.data(), kRows * kCols);
    type.dequantize_ref(fast.data(), out_ref.data(), kRows * kCols);
    ASSERT_EQ(0, std::memcmp(out_fast.data(), out_ref.data(), x.size() * sizeof(float))) << type.name << " dequantize";
  }
}

TEST_P(EveryType, DequantizeOfArbitraryBytesMatchesReference) {
  // Every bit pattern a file can hold must decode the same way on both paths (NaN patterns in
  // f16 scales included, compared as bits).
  const QuantType &type = *GetParam();
  std::mt19937 rng(7);
  std::vector<uint8_t> blocks(type.block_bytes * 64);
  for (auto &b : blocks) b = static_cast<uint8_t>(rng());
  const int64_t n = 64 * type.block_size;
  std::vector<float> fast(static_cast<size_t>(n)), ref(static_cast<size_t>(n));
  type.dequantize(blocks.data(), fast.data(), n);
  type.dequantize_ref(blocks.data(), ref.data(), n);
  EXPECT_EQ(0, std::memcmp(fast.data(), ref.data(), fast.size() * sizeof(float))) << type.name;
}

TEST_P(EveryType, ResultDoesNotDependOnThreadCount) {
  const QuantType &type = *GetParam();
  const int64_t rows = 64, cols = 1024;  // large enough to be split over threads
  const auto x = test::make_matrix(Distribution::StudentT, rows, cols, 5);
  const auto importance = test::make_importance(cols, 6);
  const auto one = quantize_rows(type, x.data(), rows, cols, importance.data(), 1);
  const auto three = quantize_rows(type, x.data(), rows, cols, importance.data(), 3);
  EXPECT_EQ(one, three) << type.name;
  const auto again = quantize_rows(type, x.data(), rows, cols, importance.data(), 3);
  EXPECT_EQ(three, again) << type.name << " is not deterministic";
}

TEST_P(EveryType, RoundTripErrorIsWithinItsBitBudget) {
  // Relative MSE of a b-bit uniform quantizer on Gaussian data is about 2^(-2b) * (range/sigma)^2/12;
  // we allow a generous 2^(3.2 - 2b) so only a broken format fails, not a mediocre search.
  const QuantType &type = *GetParam();
  const auto x = test::make_matrix(Distribution::Gaussian, kRows, kCols, 11);
  const auto importance = test::make_importance(kCols, 12);
  const auto q = quantize_rows(type, x.data(), kRows, kCols, type.needs_imatrix ? importance.data() : nullptr, 1);
  std::vector<float> y(x.size());
  dequantize_values(type, q.data(), y.data(), kRows * kCols, 1);
  const double rel_mse = test::weighted_relative_mse(x, y, kCols, nullptr);
  double bound;
  if (type.block_size == 1) {
    // Float types: relative error of one rounding is at most 2^-(mantissa bits + 1).
    const int mantissa_bits = type.id == GgmlType::F32 ? 23 : type.id == GgmlType::F16 ? 10 : 7;
    bound = std::pow(2.0, -2.0 * mantissa_bits);
  } else {
    bound = std::pow(2.0, 3.2 - 2.0 * (type.bits_per_weight() - 0.5));
  }
  EXPECT_LE(rel_mse, bound) << type.name;
}

TEST_P(EveryType, RowLengthMustBeAWholeNumberOfBlocks) {
  const QuantType &type = *GetParam();
  std::vector<float> x(static_cast<size_t>(type.block_size + 1), 0.5f);
  if (type.block_size == 1) {
    EXPECT_NO_THROW(quantize_rows(type, x.data(), 1, type.block_size + 1, nullptr)) << type.name;
  } else {
    EXPECT_THROW(quantize_rows(type, x.data(), 1, type.block_size + 1, nullptr), Error) << type.name;
  }
}

std::vector<const QuantType *> table_rows() {
  std::vector<const QuantType *> rows;
  for (const auto &t : all_quant_types()) rows.push_back(&t);
  return rows;
}

INSTANTIATE_TEST_SUITE_P(QuantTable, EveryType, ::testing::ValuesIn(table_rows()), type_name);

TEST(QuantLadder, ErrorFallsMonotonicallyWithBits) {
  // On the same data, each rung of llama.cpp's usual ladder must beat the one below it.
  const char *ladder[] = {"IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ4_XS",
                          "Q4_K",  "Q5_K",  "Q6_K",    "Q8_0"};
  for (auto dist : {Distribution::Gaussian, Distribution::StudentT, Distribution::OutlierColumns}) {
    const auto x = test::make_matrix(dist, kRows, kCols, 21);
    const auto importance = test::make_importance(kCols, 22);
    double previous = 1e30;
    for (const char *name : ladder) {
      const QuantType &type = quant_type_by_name(name);
      const auto q = quantize_rows(type, x.data(), kRows, kCols, importance.data(), 1);
      std::vector<float> y(x.size());
      dequantize_values(type, q.data(), y.data(), kRows * kCols, 1);
      const double err = test::weighted_relative_mse(x, y, kCols, importance.data());
      EXPECT_LT(err, previous) << name << " on distribution " << int(dist);
      previous = err;
    }
  }
}

TEST(QuantImportance, WeightedErrorIsLowerWithTheImatrix) {
  for (const auto &type : all_quant_types()) {
    if (!type.is_quantized() || type.needs_imatrix) continue;
    const auto x = test::make_matrix(Distribution::StudentT, kRows, kCols, 31);
    const auto importance = test::make_importance(kCols, 32);
    std::vector<float> with(x.size()), without(x.size());
    const auto qw = quantize_rows(type, x.data(), kRows, kCols, importance.data(), 1);
    const auto qn = quantize_rows(type, x.data(), kRows, kCols, nullptr, 1);
    dequantize_values(type, qw.data(), with.data(), kRows * kCols, 1);
    dequantize_values(type, qn.data(), without.data(), kRows * kCols, 1);
    EXPECT_LT(test::weighted_relative_mse(x, with, kCols, importance.data()),
              test::weighted_relative_mse(x, without, kCols, importance.data()))
        << type.name;
  }
}

TEST(QuantImportance, TypesThatNeedAnImatrixRefuseToWorkWithout) {
  std::vector<float> x(256, 0.25f);
  for (const char *name : {"IQ2_XXS", "IQ2_XS", "IQ1_S"}) {
    EXPECT_THROW(quantize_rows(quant_type_by_name(name), x.data(), 1, 256, nullptr), Error) << name;
  }
}

TEST(QuantInput, NonFiniteValuesAreNamed) {
  std::vector<float> x(64, 1.0f);
  x[37] = std::nanf("");
  try {
    check_finite("blk.0.attn_q.weight", x.data(), static_cast<int64_t>(x.size()));
    FAIL() << "NaN accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.attn_q.weight"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("37"), std::string::npos);
  }
}

}  // namespace
}  // namespace qs::all_types_test
