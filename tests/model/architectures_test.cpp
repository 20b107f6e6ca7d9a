// The architecture table against llama.cpp's naming (gguf-py TENSOR_NAMES / tensor_mapping.py,
// convert_hf_to_gguf.py) and its loader's hparam keys (llama-arch.cpp LLM_KV_NAMES), written out
// by hand here.
#include "model/architectures.h"

#include <gtest/gtest.h>

#include <variant>

#include "core/error.h"
#include "test_support.h"

namespace qs::architectures_test {
namespace {

using test::expect_error_containing;

ModelConfig config_of(const std::string &architecture, const std::string &model_type, const std::string &extra = "") {
  return parse_model_config(R"({"architectures": [")" + architecture + R"("], "model_type": ")" + model_type +
                                R"(", "hidden_size": 256, "num_hidden_layers": 8, "num_attention_heads": 4,
      "num_key_value_heads": 2, "head_dim": 64, "intermediate_size": 768, "vocab_size": 4096,
      "max_position_embeddings": 512, "rms_norm_eps": 1e-06, "rope_theta": 10000.0)" +
                                    extra + "}",
                                "test/config.json");
}

ModelConfig moe_config_of(const std::string &architecture, const std::string &model_type, const std::string &extra = "") {
  return config_of(architecture, model_type,
                   R"(, "num_local_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 96, "norm_topk_prob": true)" +
                       extra);
}

TEST(Architectures, TableRowsMatchLlamaCpp) {
  struct Row {
    const char *hf_class, *model_type, *gguf_arch;
    RopeStyle rope;
    bool moe;
  };
  // convert_hf_to_gguf.py: LlamaModel (MODEL_ARCH.LLAMA, undo_permute) serves Llama, Mistral and
  // Mixtral; Qwen2Model / Qwen3Model / Qwen3MoeModel are qwen2 / qwen3 / qwen3moe with NeoX rope
  // (llama_model_rope_type returns LLAMA_ROPE_TYPE_NEOX for them).
  const Row expected[] = {
      {"LlamaForCausalLM", "llama", "llama", RopeStyle::Normal, false},
      {"MistralForCausalLM", "mistral", "llama", RopeStyle::Normal, false},
      {"MixtralForCausalLM", "mixtral", "llama", RopeStyle::Normal, true},
      {"Qwen2ForCausalLM", "qwen2", "qwen2", RopeStyle::NeoX, false},
      {"Qwen3ForCausalLM", "qwen3", "qwen3", RopeStyle::NeoX, false},
      {"Qwen3MoeForCausalLM", "qwen3_moe", "qwen3moe", RopeStyle::NeoX, true},
  };
  ASSERT_EQ(all_architectures().size(), std::size(expected));
  for (const auto &row : expected) {
    SCOPED_TRACE(row.hf_class);
    const ModelConfig config = row.moe ? moe_config_of(row.hf_class, row.model_type) : config_of(row.hf_class, row.model_type);
    const Architecture &arch = architecture_for(config);
    EXPECT_STREQ(arch.hf_class, row.hf_class);
    EXPECT_STREQ(arch.model_type, row.model_type);
    EXPECT_STREQ(arch.gguf_arch, row.gguf_arch);
    EXPECT_EQ(arch.rope_style, row.rope);
    EXPECT_EQ(arch.moe, row.moe);
  }
}

TEST(Architectures, LookupByModelTypeWhenArchitecturesIsAbsent) {
  const ModelConfig config = parse_model_config(R"({"model_type": "qwen3", "hidden_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 1000})",
                                                "config.json");
  EXPECT_STREQ(architecture_for(config).hf_class, "Qwen3ForCausalLM");
}

TEST(Architectures, UnknownArchitecturesAreRefusedNotGuessed) {
  expect_error_containing([] { architecture_for(config_of("GPT2LMHeadModel", "gpt2")); },
                          {"test/config.json", "GPT2LMHeadModel", "not supported", "LlamaForCausalLM (llama)",
                           "Qwen3MoeForCausalLM (qwen3_moe)"});
  // A known model_type does not rescue an unknown class.
  expect_error_containing([] { architecture_for(config_of("LlamaForSequenceClassification", "llama")); },
                          {"LlamaForSequenceClassification", "not supported"});
  const ModelConfig no_class = parse_model_config(R"({"model_type": "falcon", "hidden_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 1000})",
                                                  "config.json");
  expect_error_containing([&] { architecture_for(no_class); }, {"model_type \"falcon\"", "not supported"});
  expect_error_containing([] { architecture_for(config_of("LlamaForCausalLM", "qwen2")); },
                          {"LlamaForCausalLM", "\"llama\"", "\"qwen2\""});
}

struct NameCase {
  const char *hf;
  const char *gguf;  // nullptr: must not map
  int layer = -1;
  std::optional<int> expert = std::nullopt;
  RowPermutation permutation = RowPermutation::None;
  const char *up = "";
};

void check_names(const Architecture &arch, const std::vector<NameCase> &cases) {
  for (const auto &c : cases) {
    SCOPED_TRACE(std::string(arch.hf_class) + ": " + c.hf);
    const auto mapped = map_tensor_name(arch, c.hf);
    if (c.gguf == nullptr) {
      EXPECT_FALSE(mapped.has_value()) << mapped->name;
      continue;
    }
    ASSERT_TRUE(mapped.has_value());
    EXPECT_EQ(mapped->name, c.gguf);
    EXPECT_EQ(mapped->layer, c.layer);
    EXPECT_EQ(mapped->expert, c.expert);
    EXPECT_EQ(mapped->permutation, c.permutation);
    EXPECT_EQ(mapped->up_name, c.up);
    EXPECT_EQ(mapped->is_fused_gate_up(), std::string(c.up).size() > 0);
  }
}

// The names every architecture shares; q/k permuted only for llama-family (normal rope) ones.
std::vector<NameCase> decoder_cases(bool permuted) {
  const RowPermutation q = permuted ? RowPermutation::Query : RowPermutation::None;
  const RowPermutation k = permuted ? RowPermutation::Key : RowPermutation::None;
  return {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
      {"model.layers.0.input_layernorm.weight", "blk.0.attn_norm.weight", 0},
      {"model.layers.7.post_attention_layernorm.weight", "blk.7.ffn_norm.weight", 7},
      {"model.layers.3.self_attn.q_proj.weight", "blk.3.attn_q.weight", 3, std::nullopt, q},
      {"model.layers.3.self_attn.q_proj.bias", "blk.3.attn_q.bias", 3, std::nullopt, q},
      {"model.layers.12.self_attn.k_proj.weight", "blk.12.attn_k.weight", 12, std::nullopt, k},
      {"model.layers.12.self_attn.k_proj.bias", "blk.12.attn_k.bias", 12, std::nullopt, k},
      {"model.layers.1.self_attn.v_proj.weight", "blk.1.attn_v.weight", 1},
      {"model.layers.1.self_attn.v_proj.bias", "blk.1.attn_v.bias", 1},
      {"model.layers.105.self_attn.o_proj.weight", "blk.105.attn_output.weight", 105},
      {"model.layers.105.self_attn.o_proj.bias", "blk.105.attn_output.bias", 105},
      // Not weights of these models, or malformed.
      {"model.norm.bias", nullptr},
      {"model.layers.0.input_layernorm.bias", nullptr},
      {"model.layers.x.self_attn.q_proj.weight", nullptr},
      {"model.layers..self_attn.q_proj.weight", nullptr},
      {"model.layers.0.self_attn.q_proj.weight.extra", nullptr},
      {"model.layers.0.self_attn.q_proj", nullptr},
      {"layers.0.self_attn.q_proj.weight", nullptr},
      {"model.layers.0.self_attn.rotary_emb.inv_freq", nullptr},
      {"model.layers.1234567890.self_attn.q_proj.weight", nullptr},
  };
}

std::vector<NameCase> dense_mlp_cases() {
  return {
      {"model.layers.2.mlp.gate_proj.weight", "blk.2.ffn_gate.weight", 2},
      {"model.layers.2.mlp.up_proj.weight", "blk.2.ffn_up.weight", 2},
      {"model.layers.2.mlp.down_proj.weight", "blk.2.ffn_down.weight", 2},
      {"model.layers.2.mlp.gate_proj.bias", "blk.2.ffn_gate.bias", 2},
      {"model.layers.2.mlp.up_proj.bias", "blk.2.ffn_up.bias", 2},
      {"model.layers.2.mlp.down_proj.bias", "blk.2.ffn_down.bias", 2},
      // Expert tensors do not belong to dense models.
      {"model.layers.2.mlp.gate.weight", nullptr},
      {"model.layers.2.mlp.experts.0.gate_proj.weight", nullptr},
      {"model.layers.2.mlp.experts.gate_up_proj", nullptr},
  };
}

std::vector<NameCase> qk_norm_cases() {
  return {
      {"model.layers.4.self_attn.q_norm.weight", "blk.4.attn_q_norm.weight", 4},
      {"model.layers.4.self_attn.k_norm.weight", "blk.4.attn_k_norm.weight", 4},
  };
}

std::vector<NameCase> fused_expert_cases() {
  return {
      {"model.layers.5.mlp.gate.weight", "blk.5.ffn_gate_inp.weight", 5},
      {"model.layers.5.mlp.experts.gate_up_proj", "blk.5.ffn_gate_exps.weight", 5, std::nullopt, RowPermutation::None,
       "blk.5.ffn_up_exps.weight"},
      {"model.layers.5.mlp.experts.gate_up_proj.weight", "blk.5.ffn_gate_exps.weight", 5, std::nullopt,
       RowPermutation::None, "blk.5.ffn_up_exps.weight"},
      {"model.layers.5.mlp.experts.down_proj", "blk.5.ffn_down_exps.weight", 5},
      {"model.layers.5.mlp.experts.down_proj.weight", "blk.5.ffn_down_exps.weight", 5},
      {"model.layers.5.mlp.experts.down_proj.bias", nullptr},
  };
}

void append(std::vector<NameCase> &to, const std::vector<NameCase> &from) { to.insert(to.end(), from.begin(), from.end()); }

TEST(Architectures, LlamaAndMistralNames) {
  for (const auto &[hf_class, model_type] : {std::pair{"LlamaForCausalLM", "llama"}, {"MistralForCausalLM", "mistral"}}) {
    std::vector<NameCase> cases = decoder_cases(true);
    append(cases, dense_mlp_cases());
    append(cases, {{"model.layers.4.self_attn.q_norm.weight", nullptr}});
    check_names(architecture_for(config_of(hf_class, model_type)), cases);
  }
}

TEST(Architectures, Qwen2Names) {
  std::vector<NameCase> cases = decoder_cases(false);
  append(cases, dense_mlp_cases());
  append(cases, {{"model.layers.4.self_attn.q_norm.weight", nullptr}});
  check_names(architecture_for(config_of("Qwen2ForCausalLM", "qwen2")), cases);
}

TEST(Architectures, Qwen3Names) {
  std::vector<NameCase> cases = decoder_cases(false);
  append(cases, dense_mlp_cases());
  append(cases, qk_norm_cases());
  check_names(architecture_for(config_of("Qwen3ForCausalLM", "qwen3")), cases);
}

TEST(Architectures, MixtralNamesPerExpertAndFused) {
  std::vector<NameCase> cases = decoder_cases(true);
  append(cases, fused_expert_cases());
  // Mixtral's own names: w1 = gate, w2 = down, w3 = up, stacked by expert index.
  append(cases, {
                    {"model.layers.6.block_sparse_moe.gate.weight", "blk.6.ffn_gate_inp.weight", 6},
                    {"model.layers.6.block_sparse_moe.experts.0.w1.weight", "blk.6.ffn_gate_exps.weight", 6, 0},
                    {"model.layers.6.block_sparse_moe.experts.7.w2.weight", "blk.6.ffn_down_exps.weight", 6, 7},
                    {"model.layers.6.block_sparse_moe.experts.3.w3.weight", "blk.6.ffn_up_exps.weight", 6, 3},
                    {"model.layers.6.block_sparse_moe.experts.3.w4.weight", nullptr},
                    {"model.layers.6.block_sparse_moe.experts.w1.weight", nullptr},
                    {"model.layers.6.block_sparse_moe.experts.3.w1.bias", nullptr},
                    {"model.layers.6.mlp.gate_proj.weight", nullptr},
                    {"model.layers.6.mlp.experts.0.gate_proj.weight", nullptr},
                });
  check_names(architecture_for(moe_config_of("MixtralForCausalLM", "mixtral")), cases);
}

TEST(Architectures, Qwen3MoeNamesPerExpertAndFused) {
  std::vector<NameCase> cases = decoder_cases(false);
  append(cases, qk_norm_cases());
  append(cases, fused_expert_cases());
  append(cases, {
                    {"model.layers.9.mlp.experts.127.gate_proj.weight", "blk.9.ffn_gate_exps.weight", 9, 127},
                    {"model.layers.9.mlp.experts.0.up_proj.weight", "blk.9.ffn_up_exps.weight", 9, 0},
                    {"model.layers.9.mlp.experts.5.down_proj.weight", "blk.9.ffn_down_exps.weight", 9, 5},
                    {"model.layers.9.mlp.gate_proj.weight", nullptr},
                    {"model.layers.9.block_sparse_moe.experts.0.w1.weight", nullptr},
                    {"model.layers.9.mlp.shared_expert.gate_proj.weight", nullptr},
                });
  check_names(architecture_for(moe_config_of("Qwen3MoeForCausalLM", "qwen3_moe")), cases);
}

TEST(Architectures, IgnoredBuffersAndHelpers) {
  EXPECT_TRUE(is_ignored_hf_tensor("model.layers.0.self_attn.rotary_emb.inv_freq"));
  EXPECT_FALSE(is_ignored_hf_tensor("model.layers.0.self_attn.q_proj.weight"));
  const ModelConfig config = moe_config_of("Qwen3MoeForCausalLM", "qwen3_moe");
  EXPECT_EQ(permutation_head_count(config, RowPermutation::Query), 4);
  EXPECT_EQ(permutation_head_count(config, RowPermutation::Key), 2);
  EXPECT_EQ(permutation_head_count(config, RowPermutation::None), 0);
  EXPECT_EQ(expert_feed_forward_length(config), 96);
  // Mixtral has no moe_intermediate_size: its experts are intermediate_size wide.
  EXPECT_EQ(expert_feed_forward_length(config_of("MixtralForCausalLM", "mixtral", R"(, "num_local_experts": 4)")), 768);
}

// One expected key: name, and the exact GGUF type and value.
using Expected = std::variant<uint32_t, float, std::string>;

void check_hparams(const std::vector<gguf::KeyValue> &actual, const std::vector<std::pair<std::string, Expected>> &expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].first);
    EXPECT_EQ(actual[i].key, expected[i].first);
    const auto &storage = actual[i].value.storage;
    if (const auto *u = std::get_if<uint32_t>(&expected[i].second)) {
      ASSERT_TRUE(std::holds_alternative<uint32_t>(storage));
      EXPECT_EQ(std::get<uint32_t>(storage), *u);
    } else if (const auto *f = std::get_if<float>(&expected[i].second)) {
      ASSERT_TRUE(std::holds_alternative<float>(storage));
      EXPECT_EQ(std::get<float>(storage), *f);
    } else {
      ASSERT_TRUE(std::holds_alternative<std::string>(storage));
      EXPECT_EQ(std::get<std::string>(storage), std::get<std::string>(expected[i].second));
    }
  }
}

TEST(Architectures, LlamaHparams) {
  // The shipped model's shape: hidden 256, 8 layers, 4 heads / 2 KV heads of 64.
  check_hparams(gguf_hparams(config_of("LlamaForCausalLM", "llama")),
                {
                    {"general.architecture", std::string("llama")},
                    {"llama.block_count", 8u},
                    {"llama.context_length", 512u},
                    {"llama.embedding_length", 256u},
                    {"llama.feed_forward_length", 768u},
                    {"llama.attention.head_count", 4u},
                    {"llama.attention.head_count_kv", 2u},
                    {"llama.rope.freq_base", 10000.0f},
                    {"llama.attention.layer_norm_rms_epsilon", 1e-6f},
                    {"llama.attention.key_length", 64u},
                    {"llama.attention.value_length", 64u},
                    {"llama.vocab_size", 4096u},
                    {"llama.rope.dimension_count", 64u},
                });
}

TEST(Architectures, Qwen3MoeHparamsWithYarn) {
  const ModelConfig config = parse_model_config(R"({"architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe",
    "hidden_size": 128, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 48,
    "intermediate_size": 512, "vocab_size": 1000, "max_position_embeddings": 4096, "rms_norm_eps": 1e-06,
    "num_experts": 8, "num_experts_per_tok": 2, "moe_intermediate_size": 64, "norm_topk_prob": true,
    "rope_parameters": {"rope_type": "yarn", "rope_theta": 1000000.0, "factor": 4.0,
                        "original_max_position_embeddings": 1024, "beta_fast": 32.0, "beta_slow": 1.0,
                        "attention_factor": 1.25, "extrapolation_factor": 0.5}})",
                                                "config.json");
  check_hparams(gguf_hparams(config), {
                                          {"general.architecture", std::string("qwen3moe")},
                                          {"qwen3moe.block_count", 3u},
                                          {"qwen3moe.context_length", 4096u},
                                          {"qwen3moe.embedding_length", 128u},
                                          {"qwen3moe.feed_forward_length", 512u},
                                          {"qwen3moe.attention.head_count", 4u},
                                          {"qwen3moe.attention.head_count_kv", 2u},
                                          {"qwen3moe.rope.scaling.type", std::string("yarn")},
                                          {"qwen3moe.rope.scaling.factor", 4.0f},
                                          {"qwen3moe.rope.scaling.original_context_length", 1024u},
                                          {"qwen3moe.rope.scaling.yarn_ext_factor", 0.5f},
                                          {"qwen3moe.rope.scaling.yarn_attn_factor", 1.25f},
                                          {"qwen3moe.rope.scaling.yarn_beta_fast", 32.0f},
                                          {"qwen3moe.rope.scaling.yarn_beta_slow", 1.0f},
                                          {"qwen3moe.rope.freq_base", 1e6f},
                                          {"qwen3moe.attention.layer_norm_rms_epsilon", 1e-6f},
                                          {"qwen3moe.expert_count", 8u},
                                          {"qwen3moe.expert_used_count", 2u},
                                          {"qwen3moe.attention.key_length", 48u},
                                          {"qwen3moe.attention.value_length", 48u},
                                          {"qwen3moe.vocab_size", 1000u},
                                          {"qwen3moe.rope.dimension_count", 48u},
                                          {"qwen3moe.expert_feed_forward_length", 64u},
                                      });
  EXPECT_TRUE(conversion_warnings(config).empty());
}

TEST(Architectures, MixtralAndQwen2HparamsWithLinearRope) {
  const auto mixtral = gguf_hparams(moe_config_of("MixtralForCausalLM", "mixtral",
                                                  R"(, "rope_scaling": {"type": "linear", "factor": 2.0})"));
  // Mixtral is GGUF "llama" with expert keys and no expert_feed_forward_length (llama.cpp sizes
  // its experts by feed_forward_length).
  std::vector<std::string> keys;
  for (const auto &kv : mixtral) keys.push_back(kv.key);
  const std::vector<std::string> expected_keys = {
      "general.architecture", "llama.block_count", "llama.context_length", "llama.embedding_length",
      "llama.feed_forward_length", "llama.attention.head_count", "llama.attention.head_count_kv",
      "llama.rope.scaling.type", "llama.rope.scaling.factor", "llama.rope.freq_base",
      "llama.attention.layer_norm_rms_epsilon", "llama.expert_count", "llama.expert_used_count",
      "llama.attention.key_length", "llama.attention.value_length", "llama.vocab_size", "llama.rope.dimension_count"};
  EXPECT_EQ(keys, expected_keys);
  EXPECT_EQ(std::get<std::string>(mixtral[7].value.storage), "linear");
  EXPECT_EQ(std::get<float>(mixtral[8].value.storage), 2.0f);
  EXPECT_EQ(std::get<uint32_t>(mixtral[11].value.storage), 4u);
  EXPECT_EQ(std::get<uint32_t>(mixtral[12].value.storage), 2u);

  const auto qwen2 = gguf_hparams(config_of("Qwen2ForCausalLM", "qwen2"));
  EXPECT_EQ(std::get<std::string>(qwen2[0].value.storage), "qwen2");
  EXPECT_EQ(qwen2[1].key, "qwen2.block_count");
  EXPECT_EQ(qwen2.size(), 13u);
}

TEST(Architectures, Llama3RopeHasNoKeysButQwenRefusesIt) {
  const std::string llama3 = R"(, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
      "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})";
  for (const auto &kv : gguf_hparams(config_of("LlamaForCausalLM", "llama", llama3)))
    EXPECT_EQ(kv.key.find("rope.scaling"), std::string::npos) << kv.key;
  expect_error_containing([&] { gguf_hparams(config_of("Qwen2ForCausalLM", "qwen2", llama3)); },
                          {"test/config.json", "llama3", "qwen2"});
}

TEST(Architectures, HparamsRefuseWhatLlamaCppCannotLoad) {
  expect_error_containing(
      [] { gguf_hparams(config_of("LlamaForCausalLM", "llama", R"(, "rope_scaling": {"type": "dynamic", "factor": 2.0})")); },
      {"test/config.json", "\"dynamic\""});
  expect_error_containing(
      [] { gguf_hparams(moe_config_of("Qwen3MoeForCausalLM", "qwen3_moe", R"(, "mlp_only_layers": [0, 3])")); },
      {"test/config.json", "mlp_only_layers", "qwen3moe"});
  expect_error_containing(
      [] { gguf_hparams(moe_config_of("Qwen3MoeForCausalLM", "qwen3_moe", R"(, "decoder_sparse_step": 2)")); },
      {"decoder_sparse_step"});
  expect_error_containing([] { gguf_hparams(config_of("LlamaForCausalLM", "llama", R"(, "num_local_experts": 4, "num_experts_per_tok": 2)")); },
                          {"dense", "4 experts"});
  expect_error_containing([] { gguf_hparams(config_of("GPT2LMHeadModel", "gpt2")); }, {"GPT2LMHeadModel"});
}

TEST(Architectures, WarnsWhenLlamaCppRenormalisesExpertWeights) {
  const auto warnings = conversion_warnings(
      config_of("Qwen3MoeForCausalLM", "qwen3_moe", R"(, "num_experts": 4, "num_experts_per_tok": 2)"));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("norm_topk_prob"), std::string::npos);
  EXPECT_TRUE(conversion_warnings(config_of("LlamaForCausalLM", "llama")).empty());
  EXPECT_TRUE(conversion_warnings(moe_config_of("MixtralForCausalLM", "mixtral")).empty());
}

TEST(Architectures, WarnsAboutSlidingWindowsShorterThanTheContext) {
  // Like Mistral v0.1 (a 4096-token window in a 32768-token context): 16 of 512 here.
  const auto warnings = conversion_warnings(config_of("MistralForCausalLM", "mistral",
                                                      R"(, "sliding_window": 16)"));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("sliding window of 16"), std::string::npos);
  // A window as long as the context, a null one, or qwen's without use_sliding_window: nothing.
  EXPECT_TRUE(conversion_warnings(config_of("MistralForCausalLM", "mistral", R"(, "sliding_window": 512)")).empty());
  EXPECT_TRUE(conversion_warnings(config_of("MistralForCausalLM", "mistral", R"(, "sliding_window": null)")).empty());
  EXPECT_TRUE(conversion_warnings(config_of("Qwen2ForCausalLM", "qwen2",
                                            R"(, "sliding_window": 16, "use_sliding_window": false)"))
                  .empty());
  EXPECT_EQ(conversion_warnings(config_of("Qwen2ForCausalLM", "qwen2", R"(, "sliding_window": 16, "use_sliding_window": true)"))
                .size(),
            1u);
}

}  // namespace
}  // namespace qs::architectures_test
