// A quantization plan: the type each tensor of a model is stored as. Built from one type for the
// whole model (llama-quantize --pure style), later from a strategy file or a stock preset.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/model_source.h"
#include "quant/types.h"
#include "strategy/strategy.h"

namespace qs {

struct PlannedTensor {
  std::string name;
  GgmlType requested;  // what the plan asked for
  GgmlType type;       // what will be written (after llama.cpp's row-length fallback)
  bool fell_back = false;
};

struct QuantPlan {
  std::vector<PlannedTensor> tensors;  // in the model's tensor order
  const PlannedTensor *find(const std::string &name) const;
  int n_fallbacks() const;
};

// Every tensor llama.cpp would quantize gets `type` (or its fallback); the rest (norms, 1-D,
// router weights) stay F32, as convert_hf_to_gguf.py writes them.
QuantPlan uniform_plan(const ModelSource &model, GgmlType type);

// The strategy's type for each quantizable tensor (the rest F32). The strategy must have been made
// for this model: the same architecture and exactly its quantizable tensors with their shapes
// (strategy/strategy_model_check.h); `strategy_name` names the file in those errors. Its types are
// already ones the shapes allow (checked when the strategy was read), so nothing falls back.
QuantPlan strategy_plan(const ModelSource &model, const Strategy &strategy, std::string_view strategy_name);

// The type holding most of the plan's quantized parameters: what general.file_type describes.
GgmlType dominant_type(const ModelSource &model, const QuantPlan &plan);

// llama-quantize's --tensor-type PATTERN=TYPE: quantizable tensors whose GGUF name the regex
// PATTERN matches (searched, not anchored) get TYPE instead of the plan's type.
struct TensorTypeOverride {
  std::string pattern;
  GgmlType type;
};
// Parses "PATTERN=TYPE"; throws qs::Error naming the text for a missing '=', a bad regex or type.
TensorTypeOverride parse_tensor_type_override(const std::string &text);
// Applies the overrides (the first matching one wins, as in llama-quantize), with the usual
// row-length fallback. Returns how many tensors they changed; an override that matches no
// quantizable tensor is an error naming it.
int apply_tensor_type_overrides(QuantPlan &plan, const ModelSource &model,
                                const std::vector<TensorTypeOverride> &overrides);

// Bytes the planned model occupies and its average bits per weight over all tensors.
struct PlanSize {
  uint64_t bytes = 0;
  int64_t params = 0;
  double bits_per_weight() const { return params ? 8.0 * static_cast<double>(bytes) / static_cast<double>(params) : 0; }
};
PlanSize plan_size(const ModelSource &model, const QuantPlan &plan);

}  // namespace qs
