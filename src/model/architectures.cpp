// The architecture rows, their tensor-name patterns and the GGUF hparam keys. HF names are those
// transformers writes (4.x per-expert names and the 5.x fused expert parameters from
// conversion_mapping.py); GGUF names are gguf-py's TENSOR_NAMES / llama-arch.cpp's.
#include "model/architectures.h"

#include <algorithm>

#include "core/error.h"

namespace qs {
namespace {

using enum TensorSuffix;
using enum RowPermutation;

// Every supported architecture: embeddings, final norm, head, attention and its norms.
constexpr TensorNamePattern kDecoderPatterns[] = {
    {"model.embed_tokens", "token_embd", Weight, None},
    {"model.norm", "output_norm", Weight, None},
    {"lm_head", "output", Weight, None},
    {"model.layers.{L}.input_layernorm", "blk.{L}.attn_norm", Weight, None},
    {"model.layers.{L}.post_attention_layernorm", "blk.{L}.ffn_norm", Weight, None},
    {"model.layers.{L}.self_attn.q_proj", "blk.{L}.attn_q", WeightOrBias, Query},
    {"model.layers.{L}.self_attn.k_proj", "blk.{L}.attn_k", WeightOrBias, Key},
    {"model.layers.{L}.self_attn.v_proj", "blk.{L}.attn_v", WeightOrBias, None},
    {"model.layers.{L}.self_attn.o_proj", "blk.{L}.attn_output", WeightOrBias, None},
};

constexpr TensorNamePattern kDenseMlpPatterns[] = {
    {"model.layers.{L}.mlp.gate_proj", "blk.{L}.ffn_gate", WeightOrBias, None},
    {"model.layers.{L}.mlp.up_proj", "blk.{L}.ffn_up", WeightOrBias, None},
    {"model.layers.{L}.mlp.down_proj", "blk.{L}.ffn_down", WeightOrBias, None},
};

// Qwen3's per-head RMS norms on q and k.
constexpr TensorNamePattern kQkNormPatterns[] = {
    {"model.layers.{L}.self_attn.q_norm", "blk.{L}.attn_q_norm", Weight, None},
    {"model.layers.{L}.self_attn.k_norm", "blk.{L}.attn_k_norm", Weight, None},
};

// Mixtral as transformers 4.x and Mistral's checkpoints store it: w1 = gate, w2 = down, w3 = up.
constexpr TensorNamePattern kMixtralExpertPatterns[] = {
    {"model.layers.{L}.block_sparse_moe.gate", "blk.{L}.ffn_gate_inp", Weight, None},
    {"model.layers.{L}.block_sparse_moe.experts.{E}.w1", "blk.{L}.ffn_gate_exps", Weight, None},
    {"model.layers.{L}.block_sparse_moe.experts.{E}.w2", "blk.{L}.ffn_down_exps", Weight, None},
    {"model.layers.{L}.block_sparse_moe.experts.{E}.w3", "blk.{L}.ffn_up_exps", Weight, None},
};

// Qwen MoE per-expert modules (transformers 4.x).
constexpr TensorNamePattern kQwenExpertPatterns[] = {
    {"model.layers.{L}.mlp.experts.{E}.gate_proj", "blk.{L}.ffn_gate_exps", Weight, None},
    {"model.layers.{L}.mlp.experts.{E}.up_proj", "blk.{L}.ffn_up_exps", Weight, None},
    {"model.layers.{L}.mlp.experts.{E}.down_proj", "blk.{L}.ffn_down_exps", Weight, None},
};

// transformers 5.x: the router is mlp.gate (mixtral's block_sparse_moe.gate renamed) and the
// experts are two fused parameters, gate_up_proj [E, 2*I, H] (gate rows, then up rows, per
// expert) and down_proj [E, H, I]; see fused_experts.h for splitting them.
constexpr TensorNamePattern kFusedExpertPatterns[] = {
    {"model.layers.{L}.mlp.gate", "blk.{L}.ffn_gate_inp", Weight, None},
    {"model.layers.{L}.mlp.experts.gate_up_proj", "blk.{L}.ffn_gate_exps", BareParameter, None, "blk.{L}.ffn_up_exps"},
    {"model.layers.{L}.mlp.experts.down_proj", "blk.{L}.ffn_down_exps", BareParameter, None},
};

// convert_hf_to_gguf.py registers Llama, Mistral and Mixtral all as LlamaModel (GGUF "llama",
// undo_permute = True); Qwen2/Qwen3/Qwen3Moe use NeoX rope and keep their q/k rows.
constexpr Architecture kArchitectures[] = {
    {"LlamaForCausalLM", "llama", "llama", RopeStyle::Normal, false, false, true,
     {kDecoderPatterns, kDenseMlpPatterns, {}, {}}},
    {"MistralForCausalLM", "mistral", "llama", RopeStyle::Normal, false, false, true,
     {kDecoderPatterns, kDenseMlpPatterns, {}, {}}},
    {"MixtralForCausalLM", "mixtral", "llama", RopeStyle::Normal, true, false, true,
     {kDecoderPatterns, kMixtralExpertPatterns, kFusedExpertPatterns, {}}},
    {"Qwen2ForCausalLM", "qwen2", "qwen2", RopeStyle::NeoX, false, false, false,
     {kDecoderPatterns, kDenseMlpPatterns, {}, {}}},
    {"Qwen3ForCausalLM", "qwen3", "qwen3", RopeStyle::NeoX, false, false, false,
     {kDecoderPatterns, kQkNormPatterns, kDenseMlpPatterns, {}}},
    {"Qwen3MoeForCausalLM", "qwen3_moe", "qwen3moe", RopeStyle::NeoX, true, true, false,
     {kDecoderPatterns, kQkNormPatterns, kQwenExpertPatterns, kFusedExpertPatterns}},
};

std::string supported_list() {
  std::string list;
  for (const auto &arch : kArchitectures)
    list += cat(list.empty() ? "" : ", ", arch.hf_class, " (", arch.model_type, ")");
  return list;
}

// Matches `text` against `pattern`, where "{L}" / "{E}" match 1-9 decimal digits.
bool match_pattern(std::string_view pattern, std::string_view text, int &layer, std::optional<int> &expert) {
  size_t p = 0;
  size_t t = 0;
  while (p < pattern.size()) {
    if (pattern.substr(p, 3) == "{L}" || pattern.substr(p, 3) == "{E}") {
      const bool is_layer = pattern[p + 1] == 'L';
      size_t digits = 0;
      int value = 0;
      while (t + digits < text.size() && text[t + digits] >= '0' && text[t + digits] <= '9' && digits < 9) {
        value = value * 10 + (text[t + digits] - '0');
        ++digits;
      }
      if (digits == 0 || (t + digits < text.size() && text[t + digits] >= '0' && text[t + digits] <= '9'))
        return false;
      if (is_layer) layer = value;
      else expert = value;
      t += digits;
      p += 3;
      continue;
    }
    if (t >= text.size() || text[t] != pattern[p]) return false;
    ++p;
    ++t;
  }
  return t == text.size();
}

std::span<const std::string_view> hf_suffixes(TensorSuffix suffix) {
  static constexpr std::string_view kWeight[] = {".weight"};
  static constexpr std::string_view kWeightOrBias[] = {".weight", ".bias"};
  static constexpr std::string_view kBare[] = {"", ".weight"};
  switch (suffix) {
    case Weight:
      return kWeight;
    case WeightOrBias:
      return kWeightOrBias;
    default:
      return kBare;
  }
}

std::string expand(std::string_view pattern, int layer) {
  std::string out(pattern);
  if (const size_t at = out.find("{L}"); at != std::string::npos) out.replace(at, 3, std::to_string(layer));
  return out;
}

void check_representable(const Architecture &arch, const ModelConfig &config) {
  const RopeScaling &rope = config.rope_scaling;
  if (rope.type == RopeScalingType::Unsupported)
    fail(config.source, ": rope scaling type \"", rope.type_name,
         "\" has no llama.cpp equivalent here (supported: default, linear, yarn, and llama3 for llama-family models)");
  if (rope.type == RopeScalingType::Llama3 && !arch.supports_llama3_rope)
    fail(config.source, ": llama3 rope scaling needs rope_freqs.weight, which llama.cpp's ", arch.gguf_arch,
         " architecture does not load");
  if (arch.moe && !config.is_moe())
    fail(config.source, ": ", arch.hf_class, " needs num_local_experts / num_experts");
  if (!arch.moe && config.is_moe())
    fail(config.source, ": ", arch.hf_class, " is a dense architecture but config.json declares ", config.num_experts,
         " experts");
  if (config.is_moe() && (!config.mlp_only_layers.empty() || config.decoder_sparse_step != 1))
    fail(config.source, ": llama.cpp's ", arch.gguf_arch,
         " has experts in every layer; mlp_only_layers / decoder_sparse_step make some layers dense");
  if (config.shared_expert_intermediate_size > 0)
    fail(config.source, ": shared experts (shared_expert_intermediate_size) are not part of ", arch.hf_class);
}

}  // namespace

std::span<const Architecture> all_architectures() { return kArchitectures; }

const Architecture &architecture_for(const ModelConfig &config) {
  if (!config.architecture.empty()) {
    for (const auto &arch : kArchitectures) {
      if (config.architecture != arch.hf_class) continue;
      if (!config.model_type.empty() && config.model_type != arch.model_type)
        fail(config.source, ": architecture ", config.architecture, " comes with model_type \"", arch.model_type,
             "\", but config.json says \"", config.model_type, "\"");
      return arch;
    }
    fail(config.source, ": architecture ", config.architecture, " (model_type \"", config.model_type,
         "\") is not supported; supported: ", supported_list());
  }
  for (const auto &arch : kArchitectures)
    if (config.model_type == arch.model_type) return arch;
  fail(config.source, ": model_type \"", config.model_type, "\" is not supported; supported: ", supported_list());
}

std::optional<GgufTensorName> map_tensor_name(const Architecture &arch, std::string_view hf_name) {
  for (const auto &group : arch.pattern_groups) {
    for (const auto &pattern : group) {
      for (const std::string_view suffix : hf_suffixes(pattern.suffix)) {
        if (!hf_name.ends_with(suffix)) continue;
        GgufTensorName out;
        if (!match_pattern(pattern.hf, hf_name.substr(0, hf_name.size() - suffix.size()), out.layer, out.expert))
          continue;
        const std::string gguf_suffix = pattern.suffix == WeightOrBias ? std::string(suffix) : ".weight";
        out.name = expand(pattern.gguf, out.layer) + gguf_suffix;
        if (pattern.gguf_up != nullptr) out.up_name = expand(pattern.gguf_up, out.layer) + gguf_suffix;
        out.permutation = arch.rope_style == RopeStyle::Normal ? pattern.permutation : None;
        return out;
      }
    }
  }
  return std::nullopt;
}

bool is_ignored_hf_tensor(std::string_view hf_name) {
  // convert_hf_to_gguf.py's prepare_tensors skips exactly these suffixes.
  for (const std::string_view suffix : {".attention.masked_bias", ".attention.bias", ".rotary_emb.inv_freq"})
    if (hf_name.ends_with(suffix)) return true;
  return false;
}

int64_t permutation_head_count(const ModelConfig &config, RowPermutation permutation) {
  switch (permutation) {
    case Query:
      return config.num_attention_heads;
    case Key:
      return config.num_key_value_heads;
    default:
      return 0;
  }
}

int64_t expert_feed_forward_length(const ModelConfig &config) {
  return config.moe_intermediate_size > 0 ? config.moe_intermediate_size : config.intermediate_size;
}

std::vector<gguf::KeyValue> gguf_hparams(const ModelConfig &config) {
  const Architecture &arch = architecture_for(config);
  check_representable(arch, config);

  std::vector<gguf::KeyValue> kv;
  const std::string prefix = std::string(arch.gguf_arch) + ".";
  auto u32 = [&](const char *key, int64_t value) {
    kv.push_back({prefix + key, gguf::Value(static_cast<uint32_t>(value))});  // validated <= INT32_MAX
  };
  auto f32 = [&](const char *key, double value) { kv.push_back({prefix + key, gguf::Value(static_cast<float>(value))}); };
  auto str = [&](const char *key, const char *value) { kv.push_back({prefix + key, gguf::Value(std::string(value))}); };

  // The order of TextModel.set_gguf_parameters, then the architecture-specific keys.
  kv.push_back({"general.architecture", gguf::Value(std::string(arch.gguf_arch))});
  u32("block_count", config.num_hidden_layers);
  u32("context_length", config.max_position_embeddings);
  u32("embedding_length", config.hidden_size);
  u32("feed_forward_length", config.intermediate_size);
  u32("attention.head_count", config.num_attention_heads);
  u32("attention.head_count_kv", config.num_key_value_heads);

  const RopeScaling &rope = config.rope_scaling;
  if (rope.type == RopeScalingType::Linear) {
    str("rope.scaling.type", "linear");
    f32("rope.scaling.factor", rope.factor);
  } else if (rope.type == RopeScalingType::Yarn) {
    str("rope.scaling.type", "yarn");
    f32("rope.scaling.factor", rope.factor);
    // Without it llama.cpp falls back to context_length, as transformers does.
    if (rope.original_max_position_embeddings)
      u32("rope.scaling.original_context_length", *rope.original_max_position_embeddings);
    if (rope.extrapolation_factor) f32("rope.scaling.yarn_ext_factor", *rope.extrapolation_factor);
    if (rope.attention_factor) f32("rope.scaling.yarn_attn_factor", *rope.attention_factor);
    if (rope.beta_fast) f32("rope.scaling.yarn_beta_fast", *rope.beta_fast);
    if (rope.beta_slow) f32("rope.scaling.yarn_beta_slow", *rope.beta_slow);
  }
  // llama3 scaling has no key: it travels as the rope_freqs.weight tensor (llama3_rope.h).
  f32("rope.freq_base", config.rope_theta);
  f32("attention.layer_norm_rms_epsilon", config.rms_norm_eps);
  if (config.is_moe()) {
    u32("expert_count", config.num_experts);
    u32("expert_used_count", config.num_experts_per_tok);
  }
  // convert writes these only when config.json has head_dim, and rope.dimension_count only for
  // llama; llama.cpp's defaults (hidden / heads, and key_length) give the same numbers when they
  // are absent, so writing them always is equivalent and explicit.
  u32("attention.key_length", config.head_dim);
  u32("attention.value_length", config.head_dim);
  u32("vocab_size", config.vocab_size);
  u32("rope.dimension_count", config.head_dim);
  if (arch.expert_feed_forward_length_key) u32("expert_feed_forward_length", expert_feed_forward_length(config));
  return kv;
}

std::vector<std::string> conversion_warnings(const ModelConfig &config) {
  const Architecture &arch = architecture_for(config);
  std::vector<std::string> warnings;
  // llama.cpp's llama (mixtral) and qwen3moe graphs call build_moe_ffn with norm_w = true.
  if (config.is_moe() && !config.norm_topk_prob)
    warnings.push_back(cat(config.source, ": norm_topk_prob is false, but llama.cpp's ", arch.gguf_arch,
                           " always renormalises the chosen experts' weights; its outputs will differ from transformers'"));
  // None of these llama.cpp graphs masks attention to a window.
  if (config.sliding_window && *config.sliding_window < config.max_position_embeddings)
    warnings.push_back(cat(config.source, ": transformers limits attention to a sliding window of ", *config.sliding_window,
                           " tokens, but llama.cpp's ", arch.gguf_arch, " attends to the whole context; outputs differ beyond ",
                           *config.sliding_window, " tokens"));
  return warnings;
}

}  // namespace qs
