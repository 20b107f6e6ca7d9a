// Where a weight acts in the forward pass, from its GGUF name: the measurement orders its units by
// it and starts each unit's pass there.
#pragma once

#include <optional>
#include <string>

#include "infer/layer_stage.h"

namespace qs {

// Where a tensor first acts in the forward pass: -1 for the token embedding, n_layer for the
// output matrix, else its block number; nullopt for a tensor outside them (the output norm, rope
// frequencies). tensor_first_layer throws qs::Error for those instead.
std::optional<int> tensor_block(const std::string &gguf_name, int n_layer);
int tensor_first_layer(const std::string &gguf_name, int n_layer);
// The product a layer's weight is in, where a pass measuring it can start (see
// infer/layer_stage.h): the attention and dense feed-forward weights each at their own product,
// a MoE block's weights (router, experts) at the block. input for anything else.
LayerStage tensor_layer_stage(const std::string &gguf_name);

}  // namespace qs
