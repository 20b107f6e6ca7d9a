// Row-parallel drivers over the per-type kernels in the type table.
#include "quant/quantize_tensor.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"

namespace qs {
namespace {
constexpr int64_t kMinValuesPerThread = 1 << 16;
}  // namespace

void check_finite(std::string_view tensor_name, const float *values, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(values[i])) {
      fail("tensor '", tensor_name, "' has a non-finite value (", values[i], ") at index ", i);
    }
  }
}

void quantize_rows(const QuantType &type, const float *src, void *dst, int64_t n_rows, int64_t n_per_row,
                   const float *importance, int n_threads) {
  if (n_per_row % type.block_size != 0) {
    fail(type.name, ": row length ", n_per_row, " is not a multiple of the block size ", type.block_size);
  }
  if (type.needs_imatrix && importance == nullptr) {
    fail(type.name, " needs an importance matrix (--imatrix): without one its error is far too large");
  }
  const size_t row_bytes = type.row_bytes(n_per_row);
  // Small tensors are not worth a thread start-up.
  if (n_rows * n_per_row < kMinValuesPerThread) n_threads = 1;
  parallel_for(
      n_rows,
      [&](int64_t begin, int64_t end) {
        type.quantize(src + begin * n_per_row, static_cast<uint8_t *>(dst) + static_cast<size_t>(begin) * row_bytes,
                      end - begin, n_per_row, importance);
      },
      n_threads);
}

std::vector<uint8_t> quantize_rows(const QuantType &type, const float *src, int64_t n_rows, int64_t n_per_row,
                                   const float *importance, int n_threads) {
  std::vector<uint8_t> out(static_cast<size_t>(n_rows) * type.row_bytes(n_per_row));
  quantize_rows(type, src, out.data(), n_rows, n_per_row, importance, n_threads);
  return out;
}

void dequantize_values(const QuantType &type, const void *src, float *dst, int64_t n, int n_threads) {
  if (n % type.block_size != 0) fail(type.name, ": ", n, " values is not a whole number of blocks");
  const int64_t n_blocks = n / type.block_size;
  if (n < kMinValuesPerThread) n_threads = 1;
  parallel_for(
      n_blocks,
      [&](int64_t begin, int64_t end) {
        type.dequantize(static_cast<const uint8_t *>(src) + static_cast<size_t>(begin) * type.block_bytes,
                        dst + begin * type.block_size, (end - begin) * type.block_size);
      },
      n_threads);
}

int64_t rows_per_quantize_task(int64_t n_per_row) {
  constexpr int64_t kValuesPerTask = 1 << 12;
  return std::max<int64_t>(1, kValuesPerTask / std::max<int64_t>(1, n_per_row));
}

void quantize_restore_rows(const QuantType &type, const float *src, float *restored, int64_t n_rows,
                           int64_t n_per_row, const float *importance, std::vector<uint8_t> &scratch) {
  scratch.resize(static_cast<size_t>(n_rows) * type.row_bytes(n_per_row));
  quantize_rows(type, src, scratch.data(), n_rows, n_per_row, importance, 1);
  dequantize_values(type, scratch.data(), restored, n_rows * n_per_row, 1);
}

}  // namespace qs
