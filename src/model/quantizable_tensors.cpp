// llama.cpp's rule for which tensors are quantized, reimplemented from its documented behaviour.
#include "model/quantizable_tensors.h"

#include "model/model_source.h"

namespace qs {

bool tensor_allows_quantization(std::string_view name, std::span<const int64_t> shape) {
  size_t n_dims = shape.size();
  while (n_dims > 1 && shape[n_dims - 1] == 1) --n_dims;  // ggml_n_dims ignores trailing 1s
  if (n_dims < 2) return false;
  if (name.size() < 6 || name.substr(name.size() - 6) != "weight") return false;
  if (name.find("_norm.weight") != std::string_view::npos) return false;
  if (name.find("ffn_gate_inp.weight") != std::string_view::npos) return false;
  return true;
}

std::vector<const QuantType *> allowed_quant_types(std::string_view name, std::span<const int64_t> shape) {
  const bool quantizable = tensor_allows_quantization(name, shape);
  const int64_t n_cols = shape.empty() ? 1 : shape[0];
  std::vector<const QuantType *> allowed;
  for (const auto &t : all_quant_types()) {
    if (!t.is_quantized() || (quantizable && n_cols % t.block_size == 0)) allowed.push_back(&t);
  }
  return allowed;
}

std::vector<TensorShape> quantizable_tensor_shapes(const ModelSource &model) {
  std::vector<TensorShape> out;
  for (const auto &t : model.tensors())
    if (tensor_allows_quantization(t.name, t.shape)) out.push_back({t.name, t.shape});
  return out;
}

}  // namespace qs
