// Proxy metrics against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>

#include "measure/proxy_metrics.h"

namespace qs {
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

}  // namespace
}  // namespace qs
