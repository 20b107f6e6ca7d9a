// Which GGUF tensor types a tensor of a given shape can be stored as.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quant/types.h"

namespace qs {

// ggml_shape is in ggml order (shape[0] = row length). A tensor with one dimension as ggml counts
// them (ggml_n_dims: trailing extents of 1 do not count, so {4096, 1} is 1-D) — norms, biases,
// rope_freqs — may only be F32, F16 or BF16: llama.cpp quantizes only 2-D and 3-D tensors and
// convert_hf_to_gguf.py keeps 1-D ones in F32. Otherwise every type whose block size divides the
// row length, in the type table's order.
std::vector<const QuantType *> allowed_quant_types(std::span<const int64_t> ggml_shape);

}  // namespace qs
