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

}  // namespace qs
