// Whole-tensor quantization and dequantization through the type table, rows split over threads.
// Results do not depend on the thread count: every row is quantized on its own.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "quant/types.h"

namespace qs {

// Throws qs::Error naming `tensor_name` and the first offending index if any value is NaN/Inf.
void check_finite(std::string_view tensor_name, const float *values, int64_t n);

// dst must hold n_rows * type.row_bytes(n_per_row) bytes. importance: n_per_row weights or null.
void quantize_rows(const QuantType &type, const float *src, void *dst, int64_t n_rows, int64_t n_per_row,
                   const float *importance, int n_threads = 0);
std::vector<uint8_t> quantize_rows(const QuantType &type, const float *src, int64_t n_rows, int64_t n_per_row,
                                   const float *importance, int n_threads = 0);

// n values (a multiple of the block size) of `type` to f32.
void dequantize_values(const QuantType &type, const void *src, float *dst, int64_t n, int n_threads = 0);

// For callers that hand a tensor's rows out to their own persistent threads instead of starting
// fresh ones as above: rows per task, whole rows of about 4k values, so that even a 32k-value
// tensor makes several tasks per thread (load balance; no tensor too small to split) while a task
// still dwarfs its hand-out. Rows are quantized independently: any split gives the same values.
int64_t rows_per_quantize_task(int64_t n_per_row);

// Quantizes n_rows rows to `type` and restores them to f32 (n_rows * n_per_row values in
// `restored`), on the calling thread: the values a GGUF of that type gives the model.
// scratch holds the quantized bytes in between (resized as needed; reuse it across calls).
void quantize_restore_rows(const QuantType &type, const float *src, float *restored, int64_t n_rows,
                           int64_t n_per_row, const float *importance, std::vector<uint8_t> &scratch);

}  // namespace qs
