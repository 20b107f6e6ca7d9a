// Which tensors a llama-family model's pass reads, by GGUF name and ggml shape: the one list both
// passes (the CPU Transformer and the GPU's) bind their weights by, so they accept and refuse the
// same models. `Find` is the pass's lookup: (name, shape, required) -> its entry or null; it
// throws for a required tensor that is missing and for any tensor of another shape.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "infer/transformer_config.h"

namespace qs {

template <typename Entry>
struct LayerTensors {
  Entry *attn_norm = nullptr, *wq = nullptr, *wk = nullptr, *wv = nullptr, *wo = nullptr;
  Entry *bq = nullptr, *bk = nullptr, *bv = nullptr, *bo = nullptr, *q_norm = nullptr, *k_norm = nullptr;
  Entry *ffn_norm = nullptr, *ffn_gate = nullptr, *ffn_up = nullptr, *ffn_down = nullptr;
  Entry *router = nullptr, *gate_exps = nullptr, *up_exps = nullptr, *down_exps = nullptr;
  bool is_moe() const { return router != nullptr; }
};

// "[4096, 14336]", for messages about a tensor's shape.
inline std::string weight_shape_string(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

inline std::string layer_tensor_name(int il, const char *suffix) { return "blk." + std::to_string(il) + "." + suffix; }

// Layer il's tensors. has_router: the model has this layer's ffn_gate_inp.weight (an MoE layer).
template <typename Entry, typename Find>
LayerTensors<Entry> bind_layer_tensors(const TransformerConfig &c, int il, bool has_router, Find &&find) {
  const int64_t q_width = c.n_head * c.head_dim, kv_width = c.n_head_kv * c.head_dim;
  auto required = [&](const char *suffix, std::vector<int64_t> shape) { return find(layer_tensor_name(il, suffix), shape, true); };
  auto optional = [&](const char *suffix, std::vector<int64_t> shape) { return find(layer_tensor_name(il, suffix), shape, false); };
  LayerTensors<Entry> l;
  l.attn_norm = required("attn_norm.weight", {c.n_embd});
  l.wq = required("attn_q.weight", {c.n_embd, q_width});
  l.wk = required("attn_k.weight", {c.n_embd, kv_width});
  l.wv = required("attn_v.weight", {c.n_embd, kv_width});
  l.wo = required("attn_output.weight", {q_width, c.n_embd});
  l.bq = optional("attn_q.bias", {q_width});
  l.bk = optional("attn_k.bias", {kv_width});
  l.bv = optional("attn_v.bias", {kv_width});
  l.bo = optional("attn_output.bias", {c.n_embd});
  l.q_norm = optional("attn_q_norm.weight", {c.head_dim});
  l.k_norm = optional("attn_k_norm.weight", {c.head_dim});
  l.ffn_norm = required("ffn_norm.weight", {c.n_embd});
  if (c.n_expert > 0 && has_router) {
    l.router = required("ffn_gate_inp.weight", {c.n_embd, c.n_expert});
    l.gate_exps = required("ffn_gate_exps.weight", {c.n_embd, c.n_ff_expert, c.n_expert});
    l.up_exps = required("ffn_up_exps.weight", {c.n_embd, c.n_ff_expert, c.n_expert});
    l.down_exps = required("ffn_down_exps.weight", {c.n_ff_expert, c.n_embd, c.n_expert});
  } else {
    if (c.n_ff <= 0) fail("model (", c.architecture, ") layer ", il, " has no ffn_gate_inp.weight and no dense FFN width");
    l.ffn_gate = required("ffn_gate.weight", {c.n_embd, c.n_ff});
    l.ffn_up = required("ffn_up.weight", {c.n_embd, c.n_ff});
    l.ffn_down = required("ffn_down.weight", {c.n_ff, c.n_embd});
  }
  return l;
}

}  // namespace qs
