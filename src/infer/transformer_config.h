// The hyperparameters the forward pass needs, resolved to plain numbers: what kind of rope, which
// scaling, how many heads and experts. Filled from a ModelSource (config.json or GGUF metadata) by
// transformer_config_from(); tests fill it by hand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/architectures.h"

namespace qs {

enum class RopeScalingKind { None, Linear, Llama3, Yarn };

struct RopeConfig {
  // Normal: pairs (2i, 2i+1), for llama-family GGUF layouts whose Q/K rows are permuted for it;
  // NeoX: pairs (i, i + n_rot/2), HF's rotate_half on unpermuted rows (qwen2/qwen3).
  RopeStyle style = RopeStyle::NeoX;
  float theta = 10000.0f;
  int64_t n_rot = 0;  // rotated dimensions per head (head_dim unless partial rotary)
  RopeScalingKind scaling = RopeScalingKind::None;
  float factor = 1.0f;             // linear, llama3, yarn
  float low_freq_factor = 1.0f;    // llama3
  float high_freq_factor = 4.0f;   // llama3
  int64_t original_context = 0;    // llama3 and yarn: the pre-training context length
  float beta_fast = 32.0f;         // yarn
  float beta_slow = 1.0f;          // yarn
  bool yarn_truncate = true;       // yarn: round the correction range to whole dimensions
  float attention_factor = 1.0f;   // multiplies cos and sin (yarn's mscale); 1 otherwise
  // Per-pair divisors of the frequencies, from a GGUF's rope_freqs.weight (how llama.cpp stores
  // llama3 scaling); empty when absent. Applied after `scaling`.
  std::vector<float> freq_factors;
};

struct TransformerConfig {
  std::string architecture;  // for messages: "llama", "qwen3moe", ...
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_ff = 0;             // dense FFN width (0 when every layer is MoE)
  int64_t n_expert = 0;         // 0: dense model
  int64_t n_expert_used = 0;
  int64_t n_ff_expert = 0;
  bool norm_topk_prob = true;   // renormalise the top-k routing weights to sum to 1 (mixtral: always)
  float rms_norm_eps = 1e-6f;
  int64_t sliding_window = 0;   // 0: full causal attention
  RopeConfig rope;

  // Throws qs::Error naming the field when something is missing or inconsistent.
  void validate() const;
};

}  // namespace qs

namespace qs {

// The forward-pass config of a parsed config.json (or GGUF metadata read into one). The rope
// pairing is the architecture's (model/architectures.h): interleaved for llama-family GGUF
// layouts, NEOX for qwen. Throws qs::Error for a rope scaling the forward pass does not implement.
TransformerConfig transformer_config_from(const ModelConfig &model, RopeStyle rope_style);

}  // namespace qs
