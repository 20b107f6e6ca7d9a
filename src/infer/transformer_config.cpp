// ModelConfig (config.json / GGUF metadata) -> TransformerConfig. Rope scaling values follow
// transformers 5's modeling_rope_utils defaults, the code the reference logits come from.
#include "infer/transformer_config.h"

#include <cmath>

#include "core/error.h"
#include "formats/hf_config.h"

namespace qs {

TransformerConfig transformer_config_from(const ModelConfig &m, RopeStyle rope_style) {
  TransformerConfig c;
  c.architecture = m.model_type.empty() ? m.architecture : m.model_type;
  c.n_vocab = m.vocab_size;
  c.n_embd = m.hidden_size;
  c.n_layer = m.num_hidden_layers;
  c.n_head = m.num_attention_heads;
  c.n_head_kv = m.num_key_value_heads > 0 ? m.num_key_value_heads : m.num_attention_heads;
  c.head_dim = m.head_dim > 0 ? m.head_dim : (m.num_attention_heads > 0 ? m.hidden_size / m.num_attention_heads : 0);
  c.n_ff = m.intermediate_size;
  if (m.is_moe()) {
    c.n_expert = m.num_experts;
    c.n_expert_used = m.num_experts_per_tok;
    // Mixtral's experts are intermediate_size wide; Qwen MoE names the expert width separately.
    c.n_ff_expert = m.moe_intermediate_size > 0 ? m.moe_intermediate_size : m.intermediate_size;
    c.norm_topk_prob = m.norm_topk_prob;
  }
  c.rms_norm_eps = static_cast<float>(m.rms_norm_eps);

  RopeConfig &rope = c.rope;
  rope.style = rope_style;
  rope.theta = static_cast<float>(m.rope_theta);
  rope.n_rot = c.head_dim;
  const auto &s = m.rope_scaling;
  const int64_t original_context = s.original_max_position_embeddings.value_or(
      m.original_max_position_embeddings.value_or(m.max_position_embeddings));
  switch (s.type) {
    case RopeScalingType::None:
      break;
    case RopeScalingType::Linear:
      rope.scaling = RopeScalingKind::Linear;
      rope.factor = static_cast<float>(s.factor);
      break;
    case RopeScalingType::Llama3:
      rope.scaling = RopeScalingKind::Llama3;
      rope.factor = static_cast<float>(s.factor);
      rope.low_freq_factor = static_cast<float>(s.low_freq_factor);
      rope.high_freq_factor = static_cast<float>(s.high_freq_factor);
      rope.original_context = original_context;
      break;
    case RopeScalingType::Yarn:
      rope.scaling = RopeScalingKind::Yarn;
      rope.factor = static_cast<float>(s.factor);
      rope.original_context = original_context;
      rope.beta_fast = static_cast<float>(s.beta_fast.value_or(32.0));
      rope.beta_slow = static_cast<float>(s.beta_slow.value_or(1.0));
      // transformers: attention_factor, else 0.1 ln(factor) + 1 (1 when factor <= 1).
      rope.attention_factor = static_cast<float>(
          s.attention_factor.value_or(s.factor <= 1.0 ? 1.0 : 0.1 * std::log(s.factor) + 1.0));
      break;
    case RopeScalingType::Unsupported:
      fail(m.source, ": rope scaling \"", s.type_name, "\" is not supported by the forward pass (supported: linear, llama3, yarn)");
  }
  c.validate();
  return c;
}

}  // namespace qs
