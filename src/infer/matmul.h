// The one matmul shape of the forward pass: activations [n_rows x n_in] times a weight stored as
// ggml does it, [n_out rows of n_in], i.e. y = x W^T (+ bias). OpenBLAS sgemm does the arithmetic;
// the rows or output columns are split over the pool, each slice on one OpenBLAS thread.
#pragma once

#include <cstdint>

#include "infer/thread_pool.h"

namespace qs {

// y[n_rows x n_out] = x[n_rows x n_in] W^T + bias (bias may be null). x rows are x_stride floats
// apart (>= n_in), y rows y_stride apart (>= n_out).
void matmul(ThreadPool &pool, const float *x, int64_t n_rows, int64_t n_in, int64_t x_stride, const float *weight,
            int64_t n_out, const float *bias, float *y, int64_t y_stride);

// The same product in plain loops with double accumulation: the reference the tests hold
// matmul() to.
void matmul_reference(const float *x, int64_t n_rows, int64_t n_in, const float *weight, int64_t n_out,
                      const float *bias, float *y);

// OpenBLAS runs single-threaded inside our tasks (its own threads would fight ours); called once
// by everything that issues sgemm from pool tasks.
void use_single_threaded_blas();

}  // namespace qs
