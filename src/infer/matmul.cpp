// sgemm wrapper: row-major, x times the transposed weight (ggml's [n_in, n_out] layout is exactly
// a row-major [n_out x n_in] matrix, so no copy is needed).
#include "infer/matmul.h"

#include <cblas.h>

#include <algorithm>

namespace qs {

void use_single_threaded_blas() {
  // openblas_set_num_threads is process-wide and cheap; calling it again is harmless.
  static const bool done = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
}

void matmul(ThreadPool &pool, const float *x, int64_t n_rows, int64_t n_in, int64_t x_stride, const float *weight,
            int64_t n_out, const float *bias, float *y, int64_t y_stride) {
  if (n_rows <= 0 || n_out <= 0) return;
  // One slice per thread, cut along the longer side: every sgemm call packs both of its operands
  // (about (rows + cols) * n_in element copies for rows * cols * n_in multiply-adds), so the
  // fewer and squarer the slices, the smaller that overhead. Cuts fall on multiples of 16.
  // The slicing depends on the thread count, and OpenBLAS's kernel choice on the slice size, so
  // results are deterministic for a given thread count but may differ in the last bits between
  // thread counts.
  constexpr int64_t kAlign = 16;
  const bool split_rows = n_rows >= n_out;
  const int64_t extent = split_rows ? n_rows : n_out;
  const int64_t n_blocks = (extent + kAlign - 1) / kAlign;
  const int64_t n_slices = std::clamp<int64_t>(pool.size(), 1, n_blocks);
  pool.run(n_slices, [&](int64_t slice, int) {
    const int64_t begin = std::min(extent, n_blocks * slice / n_slices * kAlign);
    const int64_t end = std::min(extent, n_blocks * (slice + 1) / n_slices * kAlign);
    if (end <= begin) return;
    const int64_t row0 = split_rows ? begin : 0, row1 = split_rows ? end : n_rows;
    const int64_t col0 = split_rows ? 0 : begin, col1 = split_rows ? n_out : end;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(row1 - row0), static_cast<int>(col1 - col0),
                static_cast<int>(n_in), 1.0f, x + row0 * x_stride, static_cast<int>(x_stride), weight + col0 * n_in,
                static_cast<int>(n_in), 0.0f, y + row0 * y_stride + col0, static_cast<int>(y_stride));
    if (bias) {
      for (int64_t r = row0; r < row1; ++r) {
        float *out = y + r * y_stride;
        for (int64_t c = col0; c < col1; ++c) out[c] += bias[c];
      }
    }
  });
}

void matmul_reference(const float *x, int64_t n_rows, int64_t n_in, const float *weight, int64_t n_out,
                      const float *bias, float *y) {
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t c = 0; c < n_out; ++c) {
      double sum = bias ? bias[c] : 0.0;
      for (int64_t i = 0; i < n_in; ++i) sum += static_cast<double>(x[r * n_in + i]) * weight[c * n_in + i];
      y[r * n_out + c] = static_cast<float>(sum);
    }
  }
}

}  // namespace qs
