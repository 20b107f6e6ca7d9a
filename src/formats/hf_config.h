// The parts of a Hugging Face config.json that describe a decoder-only transformer, filled in
// with the defaults transformers' config classes use when a field is absent. Both spellings are
// read: transformers 4.x (`rope_theta` + `rope_scaling`, `torch_dtype`) and 5.x
// (`rope_parameters` {rope_type, rope_theta, ...}, `dtype`).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qs {

enum class RopeScalingType {
  None,         // "default" or no scaling dict
  Linear,       // positions divided by factor
  Llama3,       // Llama 3.1 frequency-dependent factors
  Yarn,
  Unsupported,  // anything else ("dynamic", "longrope", ...): see type_name
};

struct RopeScaling {
  RopeScalingType type = RopeScalingType::None;
  std::string type_name = "default";  // as config.json spells it
  double factor = 1.0;
  // llama3 (defaults: convert_hf_to_gguf.py's, which are Meta's Llama 3.1 values)
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  // llama3 and yarn: the context length the model was pretrained with, when the dict gives it
  std::optional<int64_t> original_max_position_embeddings;
  // yarn: only what the dict gives (llama.cpp applies its own defaults to the rest)
  std::optional<double> beta_fast;
  std::optional<double> beta_slow;
  std::optional<double> attention_factor;
  std::optional<double> extrapolation_factor;
};

struct ModelConfig {
  std::string source;        // the config.json path, for messages
  std::string architecture;  // architectures[0]; empty when the list is absent
  std::string model_type;
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;
  int64_t intermediate_size = 0;
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 0.0;
  double rope_theta = 0.0;
  RopeScaling rope_scaling;
  // A top-level "original_max_position_embeddings" (some configs carry one beside the rope dict).
  std::optional<int64_t> original_max_position_embeddings;
  // Attention limited to this many past tokens (mistral's sliding_window; qwen's only with
  // use_sliding_window); absent when attention sees the whole context.
  std::optional<int64_t> sliding_window;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q/k/v/o biases (qwen2: q/k/v always)
  bool mlp_bias = false;
  // Mixture of experts; num_experts == 0 for a dense model.
  int64_t num_experts = 0;
  int64_t num_experts_per_tok = 0;
  bool norm_topk_prob = false;
  int64_t moe_intermediate_size = 0;
  int64_t shared_expert_intermediate_size = 0;
  int64_t decoder_sparse_step = 1;
  std::vector<int64_t> mlp_only_layers;
  std::string dtype;  // "bfloat16", "float32", ...; empty when not given
  std::vector<int64_t> bos_token_ids;
  std::vector<int64_t> eos_token_ids;

  bool is_moe() const { return num_experts > 0; }
};

// Parses config.json text; `source` names the file in errors. Missing required fields, values of
// the wrong JSON type and impossible values (zero heads, heads not divisible by KV heads, ...)
// throw qs::Error naming the source and the field.
ModelConfig parse_model_config(std::string_view json_text, const std::string &source);
// Reads <path>/config.json when path is a directory, else the file itself.
ModelConfig read_model_config(const std::filesystem::path &path);

}  // namespace qs
