// Error sums in double precision: tensors have millions of values and f32 sums would drift.
#include "measure/proxy_metrics.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "quant/quantize_tensor.h"

namespace qs {

void ProxyAccumulator::add(const float *original, const float *restored, int64_t n_rows, int64_t n_cols,
                           const float *importance) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float *x = original + r * n_cols;
    const float *y = restored + r * n_cols;
    for (int64_t c = 0; c < n_cols; ++c) {
      const double v = x[c];
      const double e = v - static_cast<double>(y[c]);
      const double w = importance ? static_cast<double>(importance[c]) : 1.0;
      sum_sq_error_ += e * e;
      sum_sq_value_ += v * v;
      weighted_sq_error_ += w * e * e;
      weighted_sq_value_ += w * v * v;
      max_abs_error_ = std::max(max_abs_error_, std::abs(e));
    }
  }
  n_values_ += n_rows * n_cols;
}

void ProxyAccumulator::merge(const ProxyAccumulator &other) {
  sum_sq_error_ += other.sum_sq_error_;
  sum_sq_value_ += other.sum_sq_value_;
  weighted_sq_error_ += other.weighted_sq_error_;
  weighted_sq_value_ += other.weighted_sq_value_;
  max_abs_error_ = std::max(max_abs_error_, other.max_abs_error_);
  n_values_ += other.n_values_;
}

ProxyMetrics ProxyAccumulator::result() const {
  ProxyMetrics m;
  m.n_values = n_values_;
  if (n_values_ == 0) return m;
  m.rmse = std::sqrt(sum_sq_error_ / static_cast<double>(n_values_));
  m.max_abs_error = max_abs_error_;
  m.relative_mse = sum_sq_value_ > 0 ? sum_sq_error_ / sum_sq_value_ : 0.0;
  m.weighted_relative_mse = weighted_sq_value_ > 0 ? weighted_sq_error_ / weighted_sq_value_ : m.relative_mse;
  return m;
}

ProxyAccumulator measure_quantization_error(const QuantType &type, const std::vector<float> &values, int64_t n_matrices,
                                        int64_t n_rows, int64_t n_cols,
                                        const std::vector<std::vector<float>> &importance, int n_threads) {
  if (static_cast<int64_t>(values.size()) != n_matrices * n_rows * n_cols) fail("tensor size does not match its shape");
  if (!importance.empty() && static_cast<int64_t>(importance.size()) != n_matrices) {
    fail("need one importance vector per matrix");
  }
  ProxyAccumulator acc;
  std::vector<float> restored(static_cast<size_t>(n_rows * n_cols));
  for (int64_t m = 0; m < n_matrices; ++m) {
    const float *x = values.data() + m * n_rows * n_cols;
    const float *w = importance.empty() ? nullptr : importance[static_cast<size_t>(m)].data();
    const auto q = quantize_rows(type, x, n_rows, n_cols, w, n_threads);
    dequantize_values(type, q.data(), restored.data(), n_rows * n_cols, n_threads);
    acc.add(x, restored.data(), n_rows, n_cols, w);
  }
  return acc;
}

}  // namespace qs
