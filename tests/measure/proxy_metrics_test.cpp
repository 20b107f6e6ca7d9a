// Proxy metrics against hand-computed values and plain serial double loops; the threaded paths
// give the same bits for every thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "measure/proxy_metrics.h"
#include "quant/quantize_tensor.h"

namespace qs::proxy_metrics_test {
namespace {

TEST(ProxyMetrics, HandComputedErrors) {
  // Two rows of two: errors (0.5, 0, 0, -1); ||W||^2 = 1 + 4 + 9 + 16 = 30.
  const float original[] = {1, 2, 3, 4};
  const float restored[] = {0.5f, 2, 3, 5};
  ProxyAccumulator acc;
  acc.add(original, restored, 2, 2, nullptr);
  const ProxyMetrics m = acc.result();
  EXPECT_DOUBLE_EQ(m.rmse, std::sqrt(1.25 / 4));
  EXPECT_DOUBLE_EQ(m.max_abs_error, 1.0);
  EXPECT_DOUBLE_EQ(m.relative_mse, 1.25 / 30);
  EXPECT_DOUBLE_EQ(m.weighted_relative_mse, 1.25 / 30);
  EXPECT_EQ(m.n_values, 4);
}

TEST(ProxyMetrics, ImportanceWeighsColumns) {
  // Column weights (3, 1): weighted error 3*0.25 + 1*1 = 1.75; weighted norm 3*(1+9) + (4+16) = 50.
  const float original[] = {1, 2, 3, 4};
  const float restored[] = {0.5f, 2, 3, 5};
  const float importance[] = {3, 1};
  ProxyAccumulator acc;
  acc.add(original, restored, 2, 2, importance);
  EXPECT_DOUBLE_EQ(acc.result().weighted_relative_mse, 1.75 / 50);
  EXPECT_DOUBLE_EQ(acc.result().relative_mse, 1.25 / 30);
}

TEST(ProxyMetrics, LosslessTypeHasNoError) {
  std::vector<float> values(64);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) - 20.5f;
  const ProxyMetrics m = measure_quantization_error(quant_type(GgmlType::F32), values, 2, 4, 8, {}, 1).result();
  EXPECT_EQ(m.rmse, 0.0);
  EXPECT_EQ(m.max_abs_error, 0.0);
  EXPECT_EQ(m.n_values, 64);
}

TEST(ProxyMetrics, F16ErrorIsTheRoundingOfEachValue) {
  // 1 + 2^-11 lies exactly between two f16 values and rounds to even (1.0): error 2^-11.
  std::vector<float> values = {1.0f + std::ldexp(1.0f, -11), 1.0f};
  const ProxyMetrics m = measure_quantization_error(quant_type(GgmlType::F16), values, 1, 1, 2, {}, 1).result();
  EXPECT_DOUBLE_EQ(m.max_abs_error, std::ldexp(1.0, -11));
}

TEST(ProxyMetrics, MergedTotalsWeighEveryValueEqually) {
  // Tensor A: error 1 on value 2; tensor B: error 0 on values 1 and 1. Total relative MSE 1 / 6.
  const float a[] = {2}, a_restored[] = {1}, b[] = {1, 1};
  ProxyAccumulator first, second;
  first.add(a, a_restored, 1, 1, nullptr);
  second.add(b, b, 1, 2, nullptr);
  first.merge(second);
  EXPECT_DOUBLE_EQ(first.result().relative_mse, 1.0 / 6.0);
  EXPECT_DOUBLE_EQ(first.result().rmse, std::sqrt(1.0 / 3.0));
  EXPECT_EQ(first.result().n_values, 3);
}

// The errors of an n_rows x n_cols matrix the obvious way: one pass, one running sum each.
ProxyMetrics plain_double_loops(const std::vector<float> &x, const std::vector<float> &y, int64_t n_rows,
                                int64_t n_cols, const std::vector<float> &importance) {
  double sq_error = 0, sq_value = 0, w_sq_error = 0, w_sq_value = 0, max_abs = 0;
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t c = 0; c < n_cols; ++c) {
      const double v = x[static_cast<size_t>(r * n_cols + c)], e = v - y[static_cast<size_t>(r * n_cols + c)];
      const double w = importance.empty() ? 1.0 : importance[static_cast<size_t>(c)];
      sq_error += e * e;
      sq_value += v * v;
      w_sq_error += w * e * e;
      w_sq_value += w * v * v;
      max_abs = std::max(max_abs, std::abs(e));
    }
  }
  ProxyMetrics m;
  m.n_values = n_rows * n_cols;
  m.rmse = std::sqrt(sq_error / static_cast<double>(m.n_values));
  m.max_abs_error = max_abs;
  m.relative_mse = sq_error / sq_value;
  m.weighted_relative_mse = w_sq_error / w_sq_value;
  return m;
}

void expect_same_bits(const ProxyMetrics &a, const ProxyMetrics &b, const std::string &what) {
  EXPECT_EQ(a.rmse, b.rmse) << what;
  EXPECT_EQ(a.max_abs_error, b.max_abs_error) << what;
  EXPECT_EQ(a.relative_mse, b.relative_mse) << what;
  EXPECT_EQ(a.weighted_relative_mse, b.weighted_relative_mse) << what;
  EXPECT_EQ(a.n_values, b.n_values) << what;
}

// Row counts that do not divide into the accumulator's blocks (about 8k values each): a block and a
// short tail, a single row wider than a block, a narrow matrix of many rows, a tail of columns
// past the last full group of eight.
const std::vector<std::pair<int64_t, int64_t>> kOddShapes = {{37, 300}, {3, 8195}, {1001, 9}, {1, 7}, {257, 33}};

TEST(ProxyMetrics, ThreadedBlocksEqualPlainDoubleLoopsOnOddShapes) {
  // Multiples of 1/64 and errors in multiples of 1/256 with small integer weights: every product
  // and every partial sum is exact in double, so any order of summation gives exactly the plain
  // loop's totals, and a row summed twice or left out cannot hide in rounding.
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> value(-64, 64), error(-8, 8), weight(1, 4);
  for (const auto &[n_rows, n_cols] : kOddShapes) {
    std::vector<float> x(static_cast<size_t>(n_rows * n_cols)), y(x.size()), importance(static_cast<size_t>(n_cols));
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = static_cast<float>(value(rng)) / 64;
      y[i] = x[i] + static_cast<float>(error(rng)) / 256;
    }
    for (float &w : importance) w = static_cast<float>(weight(rng));
    for (const bool weighted : {false, true}) {
      const std::vector<float> w = weighted ? importance : std::vector<float>{};
      const ProxyMetrics expected = plain_double_loops(x, y, n_rows, n_cols, w);
      const std::string shape = std::to_string(n_rows) + " x " + std::to_string(n_cols) + (weighted ? " weighted" : "");
      ProxyAccumulator serial;
      serial.add(x.data(), y.data(), n_rows, n_cols, weighted ? importance.data() : nullptr);
      expect_same_bits(serial.result(), expected, shape + ", no pool");
      for (const int n_threads : {1, 2}) {
        ThreadPool pool(n_threads);
        ProxyAccumulator threaded;
        threaded.add(x.data(), y.data(), n_rows, n_cols, weighted ? importance.data() : nullptr, &pool);
        expect_same_bits(threaded.result(), expected, shape + ", " + std::to_string(n_threads) + " threads");
      }
    }
  }
}

TEST(ProxyMetrics, ThreadCountChangesNoBitOnRandomValues) {
  // Arbitrary floats: the blocked sums round differently from one running sum (so only close to
  // the plain loop) but identically for every thread count.
  std::mt19937 rng(12);
  std::normal_distribution<float> normal;
  for (const auto &[n_rows, n_cols] : kOddShapes) {
    std::vector<float> x(static_cast<size_t>(n_rows * n_cols)), y(x.size()), importance(static_cast<size_t>(n_cols));
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = normal(rng);
      y[i] = x[i] + 0.01f * normal(rng);
    }
    for (float &w : importance) w = std::abs(normal(rng)) + 0.1f;
    const std::string shape = std::to_string(n_rows) + " x " + std::to_string(n_cols);
    ProxyAccumulator serial;
    serial.add(x.data(), y.data(), n_rows, n_cols, importance.data());
    const ProxyMetrics expected = plain_double_loops(x, y, n_rows, n_cols, importance);
    const ProxyMetrics got = serial.result();
    EXPECT_NEAR(got.rmse, expected.rmse, 1e-12 * expected.rmse) << shape;
    EXPECT_EQ(got.max_abs_error, expected.max_abs_error) << shape;
    EXPECT_NEAR(got.relative_mse, expected.relative_mse, 1e-12 * expected.relative_mse) << shape;
    EXPECT_NEAR(got.weighted_relative_mse, expected.weighted_relative_mse, 1e-12 * expected.weighted_relative_mse)
        << shape;
    for (const int n_threads : {1, 2, 3}) {
      ThreadPool pool(n_threads);
      ProxyAccumulator threaded;
      threaded.add(x.data(), y.data(), n_rows, n_cols, importance.data(), &pool);
      expect_same_bits(threaded.result(), got, shape + ", " + std::to_string(n_threads) + " threads");
    }
  }
}

TEST(ProxyMetrics, PooledQuantizationRestoresWhatTheWholeTensorDriversDo) {
  // Rows handed out in tasks over a pool against quantize_rows + dequantize_values over the whole
  // matrix on one thread; 37 rows of 256 split into tasks of 16 with a tail of 5.
  std::mt19937 rng(13);
  std::normal_distribution<float> normal;
  const int64_t n_rows = 37, n_cols = 256;
  std::vector<float> x(static_cast<size_t>(n_rows * n_cols));
  for (float &v : x) v = normal(rng);
  for (const GgmlType t : {GgmlType::Q4_0, GgmlType::Q3_K, GgmlType::IQ4_XS, GgmlType::F16}) {
    const QuantType &type = quant_type(t);
    std::vector<float> expected(x.size());
    const auto q = quantize_rows(type, x.data(), n_rows, n_cols, nullptr, 1);
    dequantize_values(type, q.data(), expected.data(), n_rows * n_cols, 1);
    for (const int n_threads : {1, 2}) {
      ThreadPool pool(n_threads);
      std::vector<float> restored(x.size());
      quantize_restore_matrix(pool, type, x.data(), restored.data(), n_rows, n_cols, nullptr);
      EXPECT_EQ(restored, expected) << type.name << ", " << n_threads << " threads";
    }
    expect_same_bits(measure_quantization_error(type, x, 1, n_rows, n_cols, {}, 1).result(),
                     measure_quantization_error(type, x, 1, n_rows, n_cols, {}, 2).result(), type.name);
  }
}

}  // namespace
}  // namespace qs::proxy_metrics_test
