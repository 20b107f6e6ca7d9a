// Points inside a layer where a pass can start when only one of the layer's weights changed, and
// the intermediates of an earlier run of that layer that such a pass takes instead of computing
// them: a measurement that quantizes attn_output does not need the layer's Q, K, V or attention
// again, one that quantizes ffn_down not even the feed-forward products before it.
#pragma once

#include <cstdint>
#include <vector>

namespace qs {

enum class LayerStage {
  input,        // the whole layer
  attn_q,       // from the Q product (K and V kept)
  attn_k,       // from the K product (Q and V kept)
  attn_v,       // from the V product (Q and K kept)
  attn_output,  // from the output projection (the attention kept)
  ffn_input,    // from the feed-forward block (the attention block kept)
  ffn_gate,     // from the gate product (x Wu^T kept)
  ffn_up,       // from the up product (silu(x Wg^T) kept)
  ffn_down,     // from the down product (both kept)
};

inline bool in_ffn_block(LayerStage stage) { return stage >= LayerStage::ffn_input; }

// What one run of one layer over a batch computed on the way, as Transformer::run_layer_keeping
// keeps it. Rows: the attention block's inputs and Q/K/V have every row of the batch; the
// attention output and everything in the feed-forward block only the rows that went past
// attention (all, or in a last layer trimmed for logits the selected ones).
struct LayerIntermediates {
  int layer = -1;
  std::vector<float> attn_normed;  // RMSNorm of the layer input
  std::vector<float> q, k, v;      // after bias, per-head norm and rope
  std::vector<float> attn;         // attention output, before the output projection
  std::vector<float> ffn_input;    // the state after the attention block (every row)
  std::vector<float> ffn_normed;   // RMSNorm of it
  std::vector<float> gate_act;     // silu(x Wg^T) (dense feed-forward only)
  std::vector<float> up;           // x Wu^T (dense feed-forward only)
  std::vector<float> output;       // the state leaving the layer (rows as ffn_input)
};

}  // namespace qs
