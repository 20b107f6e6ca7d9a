// What the forward pass can show a caller while it runs: the input of every matmul (for the
// imatrix and activation statistics) and the hidden state entering every layer (for measurements
// that restart mid-model). Calls come from the thread that called forward, one at a time, in
// execution order.
#pragma once

#include <cstdint>
#include <string_view>

namespace qs {

class ActivationSink {
 public:
  virtual ~ActivationSink() = default;

  // The rows multiplied by weight `weight_name` (its GGUF name): n_rows tokens x n_cols, where
  // n_cols is the weight's row length. For a stacked expert tensor ([n_expert, rows, cols]),
  // `expert` is the expert index and the rows are only the tokens routed to it (possibly none:
  // then there is no call); for every other weight `expert` is -1. Weights sharing one input
  // (q/k/v, gate/up) get one call each. The pointer is valid only during the call.
  virtual void matmul_input(std::string_view weight_name, int expert, const float *x, int64_t n_rows,
                            int64_t n_cols) = 0;

  // The residual stream entering layer `layer` (n_tokens x n_embd); layer == n_layer is the
  // input of the final norm. Default: ignored.
  virtual void layer_input(int layer, const float *hidden, int64_t n_tokens, int64_t n_embd) {}
};

}  // namespace qs
