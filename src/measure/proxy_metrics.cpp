// Error sums in double precision: tensors have millions of values and f32 sums would drift.
#include "measure/proxy_metrics.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "quant/quantize_tensor.h"

namespace qs {
namespace {

// Error sums of one block of rows.
struct BlockSums {
  double sq_error = 0, sq_value = 0, weighted_sq_error = 0, weighted_sq_value = 0, max_abs_error = 0;
};

// About 8k values per block: enough blocks for two threads even on a 32k-value tensor, few enough
// that handing them out costs nothing. Only the shape decides it, never the thread count.
int64_t rows_per_block(int64_t n_cols) {
  constexpr int64_t kValuesPerBlock = 1 << 13;
  return std::max<int64_t>(1, kValuesPerBlock / std::max<int64_t>(1, n_cols));
}

// Columns go round kLanes independent partial sums (combined in lane order at the end), so the
// compiler can keep them in one vector register instead of one serial chain per sum.
constexpr int kLanes = 8;

template <bool kWeighted>
BlockSums block_sums(const float *original, const float *restored, int64_t n_rows, int64_t n_cols,
                     const float *importance) {
  double sq_error[kLanes] = {}, sq_value[kLanes] = {}, w_sq_error[kLanes] = {}, w_sq_value[kLanes] = {};
  double max_abs[kLanes] = {};
  auto add_value = [&](int lane, float x, float y, float weight) {
    const double v = x;
    const double e = v - static_cast<double>(y);
    sq_error[lane] += e * e;
    sq_value[lane] += v * v;
    if constexpr (kWeighted) {
      const double w = weight;
      w_sq_error[lane] += w * e * e;
      w_sq_value[lane] += w * v * v;
    }
    max_abs[lane] = std::max(max_abs[lane], std::abs(e));
  };
  for (int64_t r = 0; r < n_rows; ++r) {
    const float *x = original + r * n_cols;
    const float *y = restored + r * n_cols;
    int64_t c = 0;
    for (; c + kLanes <= n_cols; c += kLanes) {
      for (int j = 0; j < kLanes; ++j) add_value(j, x[c + j], y[c + j], kWeighted ? importance[c + j] : 1.0f);
    }
    for (int j = 0; c < n_cols; ++c, ++j) add_value(j, x[c], y[c], kWeighted ? importance[c] : 1.0f);
  }
  BlockSums sums;
  for (int j = 0; j < kLanes; ++j) {
    sums.sq_error += sq_error[j];
    sums.sq_value += sq_value[j];
    sums.weighted_sq_error += w_sq_error[j];
    sums.weighted_sq_value += w_sq_value[j];
    sums.max_abs_error = std::max(sums.max_abs_error, max_abs[j]);
  }
  if constexpr (!kWeighted) {
    // Weight 1 everywhere: w * e * e is e * e exactly.
    sums.weighted_sq_error = sums.sq_error;
    sums.weighted_sq_value = sums.sq_value;
  }
  return sums;
}

}  // namespace

void ProxyAccumulator::add(const float *original, const float *restored, int64_t n_rows, int64_t n_cols,
                           const float *importance, ThreadPool *pool) {
  if (n_rows <= 0 || n_cols <= 0) return;
  const int64_t block_rows = rows_per_block(n_cols);
  const int64_t n_blocks = (n_rows + block_rows - 1) / block_rows;
  std::vector<BlockSums> blocks(static_cast<size_t>(n_blocks));
  auto sum_block = [&](int64_t b) {
    const int64_t r0 = b * block_rows, rows = std::min(block_rows, n_rows - r0);
    const float *x = original + r0 * n_cols, *y = restored + r0 * n_cols;
    blocks[static_cast<size_t>(b)] = importance ? block_sums<true>(x, y, rows, n_cols, importance)
                                                : block_sums<false>(x, y, rows, n_cols, nullptr);
  };
  if (pool) {
    pool->run(n_blocks, [&](int64_t b, int) { sum_block(b); });
  } else {
    for (int64_t b = 0; b < n_blocks; ++b) sum_block(b);
  }
  for (const BlockSums &b : blocks) {
    sum_sq_error_ += b.sq_error;
    sum_sq_value_ += b.sq_value;
    weighted_sq_error_ += b.weighted_sq_error;
    weighted_sq_value_ += b.weighted_sq_value;
    max_abs_error_ = std::max(max_abs_error_, b.max_abs_error);
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

void quantize_restore_matrix(ThreadPool &pool, const QuantType &type, const float *values, float *restored,
                             int64_t n_rows, int64_t n_cols, const float *importance) {
  const int64_t task_rows = rows_per_quantize_task(n_cols);
  const int64_t n_tasks = (n_rows + task_rows - 1) / task_rows;
  std::vector<std::vector<uint8_t>> scratch(static_cast<size_t>(pool.size()));
  pool.run(n_tasks, [&](int64_t task, int thread) {
    const int64_t r0 = task * task_rows, rows = std::min(task_rows, n_rows - r0);
    quantize_restore_rows(type, values + r0 * n_cols, restored + r0 * n_cols, rows, n_cols, importance,
                          scratch[static_cast<size_t>(thread)]);
  });
}

ProxyAccumulator measure_quantization_error(const QuantType &type, const std::vector<float> &values, int64_t n_matrices,
                                        int64_t n_rows, int64_t n_cols,
                                        const std::vector<std::vector<float>> &importance, int n_threads) {
  if (static_cast<int64_t>(values.size()) != n_matrices * n_rows * n_cols) fail("tensor size does not match its shape");
  if (!importance.empty() && static_cast<int64_t>(importance.size()) != n_matrices) {
    fail("need one importance vector per matrix");
  }
  ThreadPool pool(n_threads);
  ProxyAccumulator acc;
  std::vector<float> restored(static_cast<size_t>(n_rows * n_cols));
  for (int64_t m = 0; m < n_matrices; ++m) {
    const float *x = values.data() + m * n_rows * n_cols;
    const float *w = importance.empty() ? nullptr : importance[static_cast<size_t>(m)].data();
    quantize_restore_matrix(pool, type, x, restored.data(), n_rows, n_cols, w);
    acc.add(x, restored.data(), n_rows, n_cols, w, &pool);
  }
  return acc;
}

}  // namespace qs
