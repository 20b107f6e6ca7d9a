// The quant type table: the single place where a GGUF tensor type is described (ggml's
// type_traits is the model). Ids, block sizes and block bytes are ggml's, so a tensor we write
// means the same thing to llama.cpp. Adding a type is one row in types.cpp and one family file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace qs {

// ggml_type ids (ggml.h). Gaps are ids ggml retired.
enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
};

// Quantizes n_rows rows of n_per_row floats (n_per_row a multiple of the block size) into dst,
// rows packed back to back. importance: n_per_row non-negative weights (an imatrix column
// vector) or nullptr. Throws qs::Error if the type needs importance and none is given.
using QuantizeRowsFn = void (*)(const float *src, void *dst, int64_t n_rows, int64_t n_per_row,
                                const float *importance);
// Dequantizes n values (a multiple of the block size) from src into dst.
using DequantizeFn = void (*)(const void *src, float *dst, int64_t n);

struct QuantType {
  GgmlType id;
  const char *name;          // ggml_type_name: "q4_K" style is ggml's; we print upper case names
  int64_t block_size;        // values per block
  size_t block_bytes;        // bytes per block
  bool needs_imatrix;        // quantizing without importance weights is refused
  bool storage_candidate;    // on the default measurement ladder (useful for weight storage)
  QuantizeRowsFn quantize;   // fast path (may be the reference itself)
  QuantizeRowsFn quantize_ref;
  DequantizeFn dequantize;   // fast path
  DequantizeFn dequantize_ref;

  double bits_per_weight() const { return 8.0 * static_cast<double>(block_bytes) / static_cast<double>(block_size); }
  bool is_quantized() const { return block_size > 1; }
  // Bytes of one row of n_per_row values; n_per_row must be a multiple of block_size.
  size_t row_bytes(int64_t n_per_row) const {
    return static_cast<size_t>(n_per_row / block_size) * block_bytes;
  }
};

// Every type quantscope can read and write, in ggml id order.
std::span<const QuantType> all_quant_types();
// The row for an id; nullptr if quantscope does not know the id.
const QuantType *find_quant_type(GgmlType id);
const QuantType *find_quant_type(uint32_t raw_id);
// By name, case-insensitive ("q4_k", "Q4_K", "iq2_xxs"); nullptr if unknown.
const QuantType *find_quant_type(std::string_view name);
// Like find_quant_type(name) but throws qs::Error listing the known names.
const QuantType &quant_type_by_name(std::string_view name);
const QuantType &quant_type(GgmlType id);

}  // namespace qs
