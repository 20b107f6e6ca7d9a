// config.json parsing against configs as transformers 4.x and 5.x write them (copied from real
// checkpoints, trimmed), the defaults of transformers' config classes, and malformed input.
#include "formats/hf_config.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace qs::hf_config_test {
namespace {

using test::expect_error_containing;

// meta-llama/Llama-3.2-1B, written by transformers 4.45.
const char *kLlama32Config4x = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "head_dim": 64,
  "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192,
  "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
  "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8, "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.45.0.dev0", "use_cache": true, "vocab_size": 128256})";

TEST(HfConfig, ParsesATransformers4LlamaWithLlama3Rope) {
  const ModelConfig c = parse_model_config(kLlama32Config4x, "config.json");
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.hidden_size, 2048);
  EXPECT_EQ(c.num_hidden_layers, 16);
  EXPECT_EQ(c.num_attention_heads, 32);
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.intermediate_size, 8192);
  EXPECT_EQ(c.vocab_size, 128256);
  EXPECT_EQ(c.max_position_embeddings, 131072);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::Llama3);
  EXPECT_EQ(c.rope_scaling.type_name, "llama3");
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_FALSE(c.original_max_position_embeddings.has_value());
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.is_moe());
  EXPECT_EQ(c.dtype, "bfloat16");
  EXPECT_EQ(c.bos_token_ids, (std::vector<int64_t>{128000}));
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
}

// The shape of the shipped model's config as transformers 5.x writes it: rope_parameters, dtype.
const char *kSmallLlamaConfig5x = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 1, "dtype": "bfloat16", "eos_token_id": 2, "head_dim": 64, "hidden_act": "silu",
  "hidden_size": 256, "initializer_range": 0.02, "intermediate_size": 768,
  "max_position_embeddings": 512, "mlp_bias": false, "model_type": "llama",
  "num_attention_heads": 4, "num_hidden_layers": 8, "num_key_value_heads": 2, "pad_token_id": null,
  "pretraining_tp": 1, "rms_norm_eps": 1e-06,
  "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"},
  "tie_word_embeddings": false, "transformers_version": "5.0.0", "use_cache": true, "vocab_size": 4096})";

TEST(HfConfig, ParsesATransformers5Llama) {
  const ModelConfig c = parse_model_config(kSmallLlamaConfig5x, "models/kjv/config.json");
  EXPECT_EQ(c.source, "models/kjv/config.json");
  EXPECT_EQ(c.hidden_size, 256);
  EXPECT_EQ(c.num_hidden_layers, 8);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::None);
  EXPECT_EQ(c.dtype, "bfloat16");
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_ids, (std::vector<int64_t>{1}));
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{2}));
}

// Qwen/Qwen2.5-0.5B (4.x): no head_dim (896 / 14 = 64), no attention_bias field (Qwen2's q/k/v
// always have biases), tied embeddings.
TEST(HfConfig, ParsesQwen2WithItsImplicitDefaults) {
  const ModelConfig c = parse_model_config(R"({
    "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
    "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02,
    "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 24,
    "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24,
    "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
    "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
    "transformers_version": "4.43.1", "use_cache": true, "use_sliding_window": false,
    "vocab_size": 151936})",
                                           "config.json");
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_TRUE(c.attention_bias);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(c.sliding_window.has_value());  // sliding_window 32768 but use_sliding_window false
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::None);
}

// Qwen/Qwen3-30B-A3B (4.x) with the YaRN block its model card suggests.
TEST(HfConfig, ParsesQwen3MoeWithYarn4x) {
  const ModelConfig c = parse_model_config(R"({
    "architectures": ["Qwen3MoeForCausalLM"], "attention_bias": false, "bos_token_id": 151643,
    "decoder_sparse_step": 1, "eos_token_id": 151645, "head_dim": 128, "hidden_size": 2048,
    "intermediate_size": 6144, "max_position_embeddings": 40960, "mlp_only_layers": [],
    "model_type": "qwen3_moe", "moe_intermediate_size": 768, "norm_topk_prob": true,
    "num_attention_heads": 32, "num_experts": 128, "num_experts_per_tok": 8,
    "num_hidden_layers": 48, "num_key_value_heads": 4, "rms_norm_eps": 1e-06,
    "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768},
    "rope_theta": 1000000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
    "vocab_size": 151936})",
                                           "config.json");
  EXPECT_TRUE(c.is_moe());
  EXPECT_EQ(c.num_experts, 128);
  EXPECT_EQ(c.num_experts_per_tok, 8);
  EXPECT_EQ(c.moe_intermediate_size, 768);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_EQ(c.decoder_sparse_step, 1);
  EXPECT_TRUE(c.mlp_only_layers.empty());
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::Yarn);
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 32768);
  EXPECT_FALSE(c.rope_scaling.beta_fast.has_value());
  EXPECT_FALSE(c.rope_scaling.attention_factor.has_value());
}

TEST(HfConfig, ParsesYarnFromRopeParameters5x) {
  const ModelConfig c = parse_model_config(R"({
    "model_type": "qwen3", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 128, "vocab_size": 1000,
    "rope_theta": 1.0,
    "rope_parameters": {"rope_type": "yarn", "rope_theta": 1000000.0, "factor": 4.0,
                        "original_max_position_embeddings": 32768, "beta_fast": 32.0,
                        "beta_slow": 1, "attention_factor": 1.25, "extrapolation_factor": 0.5}})",
                                           "config.json");
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);  // rope_parameters wins over a stray top-level value
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::Yarn);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 32768);
  EXPECT_EQ(c.rope_scaling.beta_fast, 32.0);
  EXPECT_EQ(c.rope_scaling.beta_slow, 1.0);
  EXPECT_EQ(c.rope_scaling.attention_factor, 1.25);
  EXPECT_EQ(c.rope_scaling.extrapolation_factor, 0.5);
}

TEST(HfConfig, ParsesLinearAndUnsupportedRopeAndNestedRopeParameters) {
  const std::string base = R"("model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 1000)";
  const ModelConfig linear = parse_model_config(
      "{" + base + R"(, "rope_theta": 20000.0, "rope_scaling": {"type": "linear", "factor": 2.0}})", "config.json");
  EXPECT_EQ(linear.rope_scaling.type, RopeScalingType::Linear);
  EXPECT_DOUBLE_EQ(linear.rope_scaling.factor, 2.0);
  EXPECT_DOUBLE_EQ(linear.rope_theta, 20000.0);

  const ModelConfig dynamic = parse_model_config(
      "{" + base + R"(, "rope_parameters": {"rope_type": "dynamic", "factor": 2.0, "rope_theta": 1e4}})", "config.json");
  EXPECT_EQ(dynamic.rope_scaling.type, RopeScalingType::Unsupported);
  EXPECT_EQ(dynamic.rope_scaling.type_name, "dynamic");

  // Models mixing attention kinds nest the dict per layer type; full attention is the one used.
  const ModelConfig nested = parse_model_config(
      "{" + base + R"(, "rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 3.0, "rope_theta": 5e5},
                                            "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}}})",
      "config.json");
  EXPECT_EQ(nested.rope_scaling.type, RopeScalingType::Linear);
  EXPECT_DOUBLE_EQ(nested.rope_scaling.factor, 3.0);
  EXPECT_DOUBLE_EQ(nested.rope_theta, 5e5);

  const ModelConfig null_scaling = parse_model_config("{" + base + R"(, "rope_scaling": null})", "config.json");
  EXPECT_EQ(null_scaling.rope_scaling.type, RopeScalingType::None);
  EXPECT_DOUBLE_EQ(null_scaling.rope_theta, 10000.0);  // LlamaConfig's default
}

TEST(HfConfig, AbsentFieldsTakeTheConfigClassDefaults) {
  // MixtralConfig: rope_theta 1e6, rms_norm_eps 1e-5, 8 KV heads, 8 experts, 2 per token,
  // max_position_embeddings 4096 * 32.
  const ModelConfig mixtral = parse_model_config(R"({"architectures": ["MixtralForCausalLM"], "model_type": "mixtral",
    "hidden_size": 4096, "num_hidden_layers": 32, "num_attention_heads": 32, "intermediate_size": 14336,
    "vocab_size": 32000})",
                                                 "config.json");
  EXPECT_DOUBLE_EQ(mixtral.rope_theta, 1e6);
  EXPECT_DOUBLE_EQ(mixtral.rms_norm_eps, 1e-5);
  EXPECT_EQ(mixtral.num_key_value_heads, 8);
  EXPECT_EQ(mixtral.head_dim, 128);
  EXPECT_EQ(mixtral.num_experts, 8);
  EXPECT_EQ(mixtral.num_experts_per_tok, 2);
  EXPECT_TRUE(mixtral.norm_topk_prob);
  EXPECT_EQ(mixtral.max_position_embeddings, 131072);
  EXPECT_FALSE(mixtral.tie_word_embeddings);

  // LlamaConfig: KV heads default to the head count, 2048 positions, eps 1e-6.
  const ModelConfig llama = parse_model_config(R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 1000})",
                                               "config.json");
  EXPECT_EQ(llama.num_key_value_heads, 4);
  EXPECT_EQ(llama.head_dim, 16);
  EXPECT_EQ(llama.max_position_embeddings, 2048);
  EXPECT_DOUBLE_EQ(llama.rms_norm_eps, 1e-6);
  EXPECT_EQ(llama.architecture, "");

  // Qwen3Config: head_dim 128 regardless of hidden_size / heads. Qwen3MoeConfig's newer
  // num_local_experts spelling is read too.
  const ModelConfig qwen3 = parse_model_config(R"({"model_type": "qwen3", "hidden_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 1000})",
                                               "config.json");
  EXPECT_EQ(qwen3.head_dim, 128);
  const ModelConfig qwen3_moe = parse_model_config(R"({"model_type": "qwen3_moe", "hidden_size": 64,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128,
    "vocab_size": 1000, "num_local_experts": 4, "num_experts_per_tok": 2})",
                                                   "config.json");
  EXPECT_EQ(qwen3_moe.num_experts, 4);
  EXPECT_EQ(qwen3_moe.moe_intermediate_size, 768);
  EXPECT_FALSE(qwen3_moe.norm_topk_prob);
}

TEST(HfConfig, ReadsConfigJsonFromADirectory) {
  test::ScratchDir dir;
  dir.write_text("config.json", kSmallLlamaConfig5x);
  const ModelConfig c = read_model_config(dir.path());
  EXPECT_EQ(c.hidden_size, 256);
  EXPECT_EQ(c.source, (dir.path() / "config.json").string());
  expect_error_containing([&] { read_model_config(dir.path() / "missing"); }, {"missing"});
}

TEST(HfConfig, BadConfigsNameTheFileAndTheField) {
  const std::string dims = R"("hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 128, "vocab_size": 1000)";
  struct Case {
    std::string json;
    std::vector<std::string> parts;
  };
  const Case cases[] = {
      {R"({"model_type": "llama", "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 10})",
       {"missing required field \"hidden_size\""}},
      {R"({"hidden_size": 64})", {"\"model_type\""}},
      {R"({"model_type": "llama", "hidden_size": "64", "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 10})",
       {"\"hidden_size\"", "must be an integer", "string"}},
      {R"({"model_type": "llama", "hidden_size": 64.0, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 10})",
       {"\"hidden_size\"", "must be an integer"}},
      {"{\"model_type\": \"llama\", " + dims + R"(, "tie_word_embeddings": 1})", {"\"tie_word_embeddings\"", "true or false"}},
      {"{\"model_type\": \"llama\", " + dims + R"(, "rms_norm_eps": "small"})", {"\"rms_norm_eps\"", "number"}},
      {"{\"model_type\": \"llama\", " + dims + R"(, "num_key_value_heads": 3})", {"num_key_value_heads 3"}},
      {"{\"model_type\": \"llama\", " + dims + R"(, "rope_scaling": "yes"})", {"\"rope_scaling\"", "object"}},
      {"{\"model_type\": \"llama\", " + dims + R"(, "rope_scaling": {"type": "linear"}})", {"rope_scaling", "\"factor\""}},
      {"{\"model_type\": \"llama\", " + dims + R"(, "rope_parameters": {"rope_type": "yarn", "factor": -2}})",
       {"rope_parameters", "\"factor\"", "positive"}},
      {"{\"model_type\": \"llama\", " + dims + R"(, "rope_theta": 0})", {"\"rope_theta\"", "positive"}},
      {"{\"model_type\": \"llama\", " + dims + R"(, "eos_token_id": [1, "x"]})", {"\"eos_token_id\""}},
      {"{\"model_type\": \"llama\", " + dims + R"(, "architectures": "LlamaForCausalLM"})", {"\"architectures\""}},
      {R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 0, "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 10})",
       {"\"num_hidden_layers\" is 0"}},
      {R"({"model_type": "llama", "hidden_size": 66, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 10})",
       {"hidden_size 66", "head_dim"}},
      {"{\"model_type\": \"qwen3_moe\", " + dims + R"(, "num_key_value_heads": 2, "num_experts": 4, "num_experts_per_tok": 8})",
       {"num_experts_per_tok 8"}},
      {"{\"model_type\": \"qwen3_moe\", " + dims + R"(, "num_key_value_heads": 2, "num_experts": 4, "num_experts_per_tok": 2, "mlp_only_layers": [5]})",
       {"\"mlp_only_layers\"", "5"}},
      {"{\"model_type\": \"qwen3_moe\", " + dims + R"(, "num_key_value_heads": 2, "num_experts": -1})",
       {"\"num_experts\" is -1"}},
      {R"({"model_type": "llama",)", {"not valid JSON"}},
      {R"([1, 2])", {"JSON object"}},
  };
  for (const auto &c : cases) {
    SCOPED_TRACE(c.json);
    std::vector<std::string> parts = c.parts;
    parts.push_back("some/dir/config.json");
    expect_error_containing([&] { parse_model_config(c.json, "some/dir/config.json"); }, parts);
  }
}

}  // namespace
}  // namespace qs::hf_config_test
