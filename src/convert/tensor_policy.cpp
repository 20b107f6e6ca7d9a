// llama.cpp's per-tensor quantization rules, reimplemented from its documented behaviour.
#include "convert/tensor_policy.h"

#include <string>

#include "core/error.h"

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

TypeChoice fallback_type(GgmlType wanted, int64_t n_cols) {
  const QuantType &type = quant_type(wanted);
  if (n_cols % type.block_size == 0) return {wanted, false};
  GgmlType fallback;
  switch (wanted) {
    case GgmlType::IQ1_S:
    case GgmlType::IQ1_M:
    case GgmlType::IQ2_XXS:
    case GgmlType::IQ2_XS:
    case GgmlType::IQ2_S:
    case GgmlType::IQ3_XXS:
    case GgmlType::IQ3_S:
    case GgmlType::IQ4_XS: fallback = GgmlType::IQ4_NL; break;
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::TQ1_0:
    case GgmlType::TQ2_0: fallback = GgmlType::Q4_0; break;
    case GgmlType::Q4_K: fallback = GgmlType::Q5_0; break;
    case GgmlType::Q5_K: fallback = GgmlType::Q5_1; break;
    case GgmlType::Q6_K: fallback = GgmlType::Q8_0; break;
    default: fallback = GgmlType::F16; break;  // 32-block types: only F16 is left
  }
  if (n_cols % quant_type(fallback).block_size != 0) fallback = GgmlType::F16;
  return {fallback, true};
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

}  // namespace qs
