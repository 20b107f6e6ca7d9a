// Which tensors get quantized and what happens when a tensor's row length does not fit the wanted
// type: llama.cpp's rules (src/llama-quant.cpp, tensor_allows_quantization and
// tensor_type_fallback), so our files match what llama-quantize would write.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "quant/types.h"

namespace qs {

// True for 2-D/3-D weights other than norms and MoE router weights. 1-D tensors, norms
// (*_norm.weight) and ffn_gate_inp stay in full precision.
bool tensor_allows_quantization(std::string_view gguf_name, std::span<const int64_t> ggml_shape);

struct TypeChoice {
  GgmlType type;
  bool fell_back;  // the requested type did not fit the row length
};

// The type to use for a tensor whose rows have n_cols values, when `wanted` is requested.
// 256-block types fall back to a 32-block type of similar size (IQ* -> IQ4_NL, Q2_K/Q3_K/TQ* ->
// Q4_0, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0); if that does not fit either, F16.
TypeChoice fallback_type(GgmlType wanted, int64_t n_cols);

// Every type the tensor's row length allows (for `inspect`): float types always, quantized types
// only when the tensor may be quantized and the row length is a multiple of the block size.
std::vector<const QuantType *> allowed_quant_types(std::string_view gguf_name, std::span<const int64_t> ggml_shape);

}  // namespace qs
