// Random models of real shapes built straight onto the GPU one tensor at a time (host memory: the
// largest tensor), for benchmarks only. The first `n_layer` layers of the real depth are built;
// every layer does the same work, so per-layer figures scale to the whole model (`full_layers`).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gpu/gpu_transformer.h"
#include "random_model_shapes.h"

namespace qs::bench {

// The shape's tensors (names and ggml shapes as the converters write them) with random values.
inline std::unique_ptr<GpuTransformer> random_gpu_model(const ModelShape &shape) {
  const TransformerConfig &c = shape.config;
  auto model = std::make_unique<GpuTransformer>(c);
  std::vector<float> host;
  uint32_t seed = 1;
  auto add = [&](const std::string &name, std::vector<int64_t> dims, float spread, float offset = 0.0f) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    host.resize(static_cast<size_t>(n));
    fill_random(host, spread, seed++, offset);
    model->set_weight(name, dims, host);
  };
  const int64_t qw = c.n_head * c.head_dim, kvw = c.n_head_kv * c.head_dim;
  add("token_embd.weight", {c.n_embd, c.n_vocab}, 0.1f);
  add("output_norm.weight", {c.n_embd}, 0.1f, 1.0f);
  add("output.weight", {c.n_embd, c.n_vocab}, 0.05f);
  for (int il = 0; il < c.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    add(p + "attn_norm.weight", {c.n_embd}, 0.1f, 1.0f);
    add(p + "attn_q.weight", {c.n_embd, qw}, 0.03f);
    add(p + "attn_k.weight", {c.n_embd, kvw}, 0.03f);
    add(p + "attn_v.weight", {c.n_embd, kvw}, 0.03f);
    add(p + "attn_output.weight", {qw, c.n_embd}, 0.03f);
    if (shape.qkv_bias) {
      add(p + "attn_q.bias", {qw}, 0.1f);
      add(p + "attn_k.bias", {kvw}, 0.1f);
      add(p + "attn_v.bias", {kvw}, 0.1f);
    }
    if (c.n_expert > 0) {  // qwen3 moe: q/k norms and experts
      add(p + "attn_q_norm.weight", {c.head_dim}, 0.1f, 1.0f);
      add(p + "attn_k_norm.weight", {c.head_dim}, 0.1f, 1.0f);
    }
    add(p + "ffn_norm.weight", {c.n_embd}, 0.1f, 1.0f);
    if (c.n_expert > 0) {
      add(p + "ffn_gate_inp.weight", {c.n_embd, c.n_expert}, 0.1f);
      add(p + "ffn_gate_exps.weight", {c.n_embd, c.n_ff_expert, c.n_expert}, 0.03f);
      add(p + "ffn_up_exps.weight", {c.n_embd, c.n_ff_expert, c.n_expert}, 0.03f);
      add(p + "ffn_down_exps.weight", {c.n_ff_expert, c.n_embd, c.n_expert}, 0.03f);
    } else {
      add(p + "ffn_gate.weight", {c.n_embd, c.n_ff}, 0.03f);
      add(p + "ffn_up.weight", {c.n_embd, c.n_ff}, 0.03f);
      add(p + "ffn_down.weight", {c.n_ff, c.n_embd}, 0.03f);
    }
  }
  model->finish_loading();
  return model;
}

}  // namespace qs::bench
