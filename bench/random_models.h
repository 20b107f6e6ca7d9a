// Random models of real shapes, for benchmarks only (never shipped, never in a test's
// expectations): Llama-3-8B, Qwen2.5-7B and Qwen3-30B-A3B (MoE) hyperparameters with uniform random
// weights, built straight onto the GPU one tensor at a time (host memory: the largest tensor).
// The first `n_layer` layers of the real depth are built; every layer does the same work, so
// per-layer figures scale to the whole model (`full_layers`).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gpu/gpu_transformer.h"

namespace qs::bench {

struct ModelShape {
  std::string name;
  TransformerConfig config;  // n_layer: the layers built
  int64_t full_layers = 0;   // the real model's depth
  bool qkv_bias = false;
  // Quantizable tensors of the real model: 7 per layer (q, k, v, o and the three feed-forward or
  // expert tensors) plus the embedding and the output.
  int64_t quantizable_tensors() const { return 7 * full_layers + 2; }
};

inline ModelShape llama3_8b(int64_t n_layer) {
  ModelShape s{"Llama-3-8B", {}, 32};
  TransformerConfig &c = s.config;
  c.architecture = "llama (Llama-3-8B shape, random weights)";
  c.n_vocab = 128256, c.n_embd = 4096, c.n_layer = n_layer, c.n_head = 32, c.n_head_kv = 8, c.head_dim = 128;
  c.n_ff = 14336, c.rms_norm_eps = 1e-5f;
  c.rope.style = RopeStyle::Normal, c.rope.theta = 500000.0f, c.rope.n_rot = 128;
  return s;
}

inline ModelShape qwen2_5_7b(int64_t n_layer) {
  ModelShape s{"Qwen2.5-7B", {}, 28, true};
  TransformerConfig &c = s.config;
  c.architecture = "qwen2 (Qwen2.5-7B shape, random weights)";
  c.n_vocab = 152064, c.n_embd = 3584, c.n_layer = n_layer, c.n_head = 28, c.n_head_kv = 4, c.head_dim = 128;
  c.n_ff = 18944, c.rms_norm_eps = 1e-6f;
  c.rope.style = RopeStyle::NeoX, c.rope.theta = 1000000.0f, c.rope.n_rot = 128;
  return s;
}

inline ModelShape qwen3_30b_a3b(int64_t n_layer) {
  ModelShape s{"Qwen3-30B-A3B", {}, 48};
  TransformerConfig &c = s.config;
  c.architecture = "qwen3moe (Qwen3-30B-A3B shape, random weights)";
  c.n_vocab = 151936, c.n_embd = 2048, c.n_layer = n_layer, c.n_head = 32, c.n_head_kv = 4, c.head_dim = 128;
  c.n_ff = 0, c.n_expert = 128, c.n_expert_used = 8, c.n_ff_expert = 768, c.norm_topk_prob = true;
  c.rms_norm_eps = 1e-6f;
  c.rope.style = RopeStyle::NeoX, c.rope.theta = 1000000.0f, c.rope.n_rot = 128;
  return s;
}

// Uniform values in offset ± spread/2, filled by all cores (xorshift per thread).
inline void fill_random(std::vector<float> &values, float spread, uint32_t seed, float offset = 0.0f) {
  const unsigned n_threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  const size_t per = (values.size() + n_threads - 1) / n_threads;
  for (unsigned t = 0; t < n_threads; ++t)
    threads.emplace_back([&, t] {
      uint64_t state = (uint64_t{seed} << 32) ^ (t * 0x9E3779B97F4A7C15ull) ^ 1;
      const size_t end = std::min(values.size(), (t + 1) * per);
      for (size_t i = t * per; i < end; ++i) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        values[i] = offset + spread * (static_cast<float>(state >> 40) / 16777216.0f - 0.5f);
      }
    });
  for (auto &th : threads) th.join();
}

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
