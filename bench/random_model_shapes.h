// Random models of real shapes, for benchmarks only (never shipped, never in a test's
// expectations): Llama-3-8B, Qwen2.5-7B and Qwen3-30B-A3B (MoE) hyperparameters, and the uniform
// random values their weights get. random_models.h builds them straight onto the GPU;
// write_random_model.cpp writes them as Hugging Face directories.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "infer/transformer_config.h"

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

}  // namespace qs::bench
