// Weight-space error of a quantized tensor (the "proxy" metric level, llama.cpp quantize-stats'
// figures): RMSE, max |error|, relative MSE ||W - Q||^2 / ||W||^2, and with an imatrix the
// importance-weighted relative MSE sum_j w_j (W - Q)_ij^2 / sum_j w_j W_ij^2.
#pragma once

#include <cstdint>
#include <vector>

#include "infer/thread_pool.h"
#include "quant/types.h"

namespace qs {

struct ProxyMetrics {
  double rmse = 0;
  double max_abs_error = 0;
  double relative_mse = 0;
  double weighted_relative_mse = 0;  // NaN-free; equals relative_mse when no importance is given
  int64_t n_values = 0;
};

// Accumulates errors of one tensor, slice by slice (experts may have their own importance).
class ProxyAccumulator {
 public:
  // original/restored: n_rows x n_cols row-major; importance: n_cols weights or nullptr.
  // The rows are summed in fixed blocks (decided by the shape alone) and the block sums added in
  // block order, so the result has the same bits with or without a pool and for any thread
  // count; `pool`, if given, spreads the blocks over its threads.
  void add(const float *original, const float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
           ThreadPool *pool = nullptr);
  void merge(const ProxyAccumulator &other);  // totals over several tensors
  ProxyMetrics result() const;

 private:
  double sum_sq_error_ = 0, sum_sq_value_ = 0;
  double weighted_sq_error_ = 0, weighted_sq_value_ = 0;
  double max_abs_error_ = 0;
  int64_t n_values_ = 0;
};

// Quantizes one n_rows x n_cols matrix to `type` and restores it to f32 into `restored`, rows
// handed out over `pool` in tasks of quant/quantize_tensor.h's rows_per_quantize_task (the
// values do not depend on the split). importance: n_cols weights or nullptr.
void quantize_restore_matrix(ThreadPool &pool, const QuantType &type, const float *values, float *restored,
                             int64_t n_rows, int64_t n_cols, const float *importance);

// Quantizes `values` (n_matrices stacked n_rows x n_cols matrices) to `type` and back and measures
// the error. importance: one vector of n_cols per matrix, or empty.
ProxyAccumulator measure_quantization_error(const QuantType &type, const std::vector<float> &values, int64_t n_matrices,
                                        int64_t n_rows, int64_t n_cols,
                                        const std::vector<std::vector<float>> &importance, int n_threads = 0);

}  // namespace qs
