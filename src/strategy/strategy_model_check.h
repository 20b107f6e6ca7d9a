// Whether a strategy was made for the model it is about to be applied to: same architecture, and
// exactly the model's quantizable tensors with the same shapes, so that a strategy for another
// model (or another size of the same one) is refused before anything is quantized.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/quantizable_tensors.h"
#include "strategy/strategy.h"

namespace qs {

// quantizable_tensors: the model's (name, ggml shape) pairs that llama.cpp quantizes, in model
// order. Throws qs::Error naming `strategy_name` (the file) and the first mismatch: another
// architecture ("made for a llama model, this is qwen2"), an unknown tensor (in the strategy, not
// in the model), a shape that differs, a missing tensor (in the model, not in the strategy); with
// a count of any further mismatches.
void check_strategy_matches_model(const Strategy &strategy,
                                  const std::vector<TensorShape> &quantizable_tensors,
                                  std::string_view architecture, std::string_view strategy_name = "the strategy");

}  // namespace qs
