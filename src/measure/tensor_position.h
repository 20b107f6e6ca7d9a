// Where a weight acts in the forward pass, from its GGUF name: the measurement orders its units by
// it and starts each unit's pass there.
#pragma once

#include <string>

namespace qs {

// Where a tensor first acts in the forward pass: -1 for the token embedding, n_layer for the
// output matrix, else its block number. Throws qs::Error for a tensor the pass does not read.
int tensor_first_layer(const std::string &gguf_name, int n_layer);
// True for the weights of a layer's feed-forward block (dense or experts): a pass measuring them
// can start after that layer's attention.
bool tensor_in_ffn_block(const std::string &gguf_name);

}  // namespace qs
