// q/k row reordering: one index function, applied forwards (HF -> GGUF) or backwards.
#include "model/qk_permutation.h"

#include <cstring>

#include "core/error.h"

namespace qs {
namespace {

void check_shape(int64_t n_head, int64_t n_rows) {
  if (n_head <= 0 || n_rows < 0 || n_rows % (2 * n_head) != 0)
    fail("q/k row permutation: ", n_rows, " rows do not split into ", n_head, " heads of an even number of rows");
}

}  // namespace

int64_t permuted_qk_source_row(int64_t row, int64_t n_head, int64_t n_rows) {
  const int64_t head_rows = n_rows / n_head;
  const int64_t half = head_rows / 2;
  const int64_t head = row / head_rows;
  const int64_t within = row % head_rows;
  // Output (head, j, s) of shape (n_head, half, 2) reads input (head, s, j) of (n_head, 2, half).
  const int64_t j = within / 2;
  const int64_t s = within % 2;
  return head * head_rows + s * half + j;
}

void permute_qk_rows_bytes(const void *in, void *out, int64_t n_head, int64_t n_rows, size_t row_bytes) {
  check_shape(n_head, n_rows);
  const auto *src = static_cast<const uint8_t *>(in);
  auto *dst = static_cast<uint8_t *>(out);
  for (int64_t row = 0; row < n_rows; ++row)
    std::memcpy(dst + static_cast<size_t>(row) * row_bytes,
                src + static_cast<size_t>(permuted_qk_source_row(row, n_head, n_rows)) * row_bytes, row_bytes);
}

void unpermute_qk_rows_bytes(const void *in, void *out, int64_t n_head, int64_t n_rows, size_t row_bytes) {
  check_shape(n_head, n_rows);
  const auto *src = static_cast<const uint8_t *>(in);
  auto *dst = static_cast<uint8_t *>(out);
  for (int64_t row = 0; row < n_rows; ++row)
    std::memcpy(dst + static_cast<size_t>(permuted_qk_source_row(row, n_head, n_rows)) * row_bytes,
                src + static_cast<size_t>(row) * row_bytes, row_bytes);
}

void permute_qk_rows(const float *in, float *out, int64_t n_head, int64_t n_rows, int64_t n_cols) {
  if (n_cols < 0) fail("q/k row permutation: negative row length ", n_cols);
  permute_qk_rows_bytes(in, out, n_head, n_rows, static_cast<size_t>(n_cols) * sizeof(float));
}

void unpermute_qk_rows(const float *in, float *out, int64_t n_head, int64_t n_rows, int64_t n_cols) {
  if (n_cols < 0) fail("q/k row permutation: negative row length ", n_cols);
  unpermute_qk_rows_bytes(in, out, n_head, n_rows, static_cast<size_t>(n_cols) * sizeof(float));
}

}  // namespace qs
