// Allowed storage types per tensor shape (a quantized row must be whole blocks: ggml refuses
// ne[0] % block_size != 0).
#include "model/allowed_quant_types.h"

namespace qs {

std::vector<const QuantType *> allowed_quant_types(std::span<const int64_t> ggml_shape) {
  size_t n_dims = 1;  // ggml_n_dims: 1 + the index of the last extent other than 1
  for (size_t i = 0; i < ggml_shape.size(); ++i)
    if (ggml_shape[i] != 1) n_dims = i + 1;
  const int64_t row_length = ggml_shape.empty() ? 1 : ggml_shape[0];
  std::vector<const QuantType *> allowed;
  for (const QuantType &type : all_quant_types()) {
    if (n_dims <= 1 && type.is_quantized()) continue;
    if (row_length % type.block_size != 0) continue;
    allowed.push_back(&type);
  }
  return allowed;
}

}  // namespace qs
