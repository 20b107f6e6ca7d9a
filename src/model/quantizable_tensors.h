// Which tensors of a model llama.cpp quantizes, and which storage types a tensor's shape allows
// (src/llama-quant.cpp's tensor_allows_quantization; a quantized row must be whole blocks, as ggml
// refuses ne[0] % block_size != 0). Conversion, inspection and measurement all ask here.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quant/types.h"

namespace qs {

// True for 2-D/3-D weights other than norms and MoE router weights: 1-D tensors as ggml counts
// them (ggml_n_dims ignores trailing extents of 1, so {4096, 1} is 1-D), biases, norms
// (*_norm.weight) and ffn_gate_inp stay in full precision.
bool tensor_allows_quantization(std::string_view gguf_name, std::span<const int64_t> ggml_shape);

class ModelSource;

// A tensor's name and ggml shape (shape[0] is the row length).
struct TensorShape {
  std::string name;
  std::vector<int64_t> shape;
};

// The model's tensors llama.cpp quantizes, in model order: what a strategy chooses types for.
std::vector<TensorShape> quantizable_tensor_shapes(const ModelSource &model);

// Every type the tensor may be stored as, in the type table's order: the float types always,
// quantized types when the tensor may be quantized and its row length is whole blocks.
std::vector<const QuantType *> allowed_quant_types(std::string_view gguf_name, std::span<const int64_t> ggml_shape);

}  // namespace qs
