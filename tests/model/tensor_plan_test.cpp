// The conversion plan: GGUF tensor lists and shapes for checkpoints transformers 5.17 wrote
// (shapes worked out by hand from llama.cpp's create_tensor calls), values in GGUF order, fused
// 5.x experts, and every inconsistency refused with the tensor named.
#include "model/tensor_plan.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "formats/safetensors_test_files.h"
#include "model/llama3_rope.h"
#include "model/qk_permutation.h"

namespace qs::tensor_plan_test {
namespace {

using test::expect_error_containing;
using test::F32TensorSpec;

const std::filesystem::path kData = std::filesystem::path(QUANTSCOPE_SOURCE_DIR) / "tests/data/transformers5";

struct Loaded {
  ModelConfig config;
  SafetensorsModel model;
};

Loaded load(const char *directory) {
  return {read_model_config(kData / directory), SafetensorsModel::open(kData / directory)};
}

TEST(TensorPlan, TensorCountsPerArchitecture) {
  // Per block: attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, + ffn_gate/up/down
  // (dense) or ffn_gate_inp + 3 stacks (MoE), + attn_q_norm/attn_k_norm (qwen3), + q/k/v biases
  // (qwen2). Globals: token_embd, output_norm, output unless tied, rope_freqs for llama3.
  const std::pair<const char *, size_t> expected[] = {
      {"llama", 2 * 9 + 3 + 1}, {"mistral", 2 * 9 + 3},  {"qwen2", 2 * 12 + 2},         {"qwen3", 2 * 11 + 2},
      {"mixtral", 1 * 10 + 3},  {"qwen3_moe", 1 * 12 + 3}, {"qwen3_moe_sharded", 2 * 12 + 3},
  };
  for (const auto &[directory, count] : expected) {
    SCOPED_TRACE(directory);
    const Loaded loaded = load(directory);
    const ModelPlan plan = plan_gguf_tensors(loaded.config, loaded.model);
    EXPECT_EQ(plan.tensors.size(), count);
    EXPECT_TRUE(plan.ignored.empty());
  }
}

TEST(TensorPlan, LlamaShapesAndOrder) {
  const Loaded loaded = load("llama");  // hidden 16, 2 heads / 1 KV head of 8, ff 32, vocab 32
  const ModelPlan plan = plan_gguf_tensors(loaded.config, loaded.model);
  EXPECT_STREQ(plan.architecture->gguf_arch, "llama");
  EXPECT_EQ(plan.tensors.front().name, "rope_freqs.weight");
  EXPECT_EQ(plan.tensors[1].name, "token_embd.weight");
  EXPECT_EQ(plan.tensors[2].layer, 0);
  EXPECT_EQ(plan.tensors.back().layer, -1);
  for (size_t i = 1; i < plan.tensors.size(); ++i) {
    if (plan.tensors[i].layer >= 0 && plan.tensors[i - 1].layer >= 0) {
      EXPECT_LE(plan.tensors[i - 1].layer, plan.tensors[i].layer);
    }
  }

  const std::pair<const char *, std::vector<int64_t>> shapes[] = {
      {"rope_freqs.weight", {4}},           {"token_embd.weight", {16, 32}},   {"output.weight", {16, 32}},
      {"output_norm.weight", {16}},         {"blk.0.attn_norm.weight", {16}},  {"blk.1.attn_q.weight", {16, 16}},
      {"blk.1.attn_k.weight", {16, 8}},     {"blk.1.attn_v.weight", {16, 8}},  {"blk.1.attn_output.weight", {16, 16}},
      {"blk.0.ffn_gate.weight", {16, 32}},  {"blk.0.ffn_up.weight", {16, 32}}, {"blk.0.ffn_down.weight", {32, 16}},
  };
  for (const auto &[name, shape] : shapes) {
    const GgufTensorPlan *tensor = plan.find(name);
    ASSERT_NE(tensor, nullptr) << name;
    EXPECT_EQ(tensor->ggml_shape, shape) << name;
  }
  EXPECT_EQ(plan.find("blk.1.attn_q.weight")->hf_names(), (std::vector<std::string>{"model.layers.1.self_attn.q_proj.weight"}));
  EXPECT_EQ(plan.find("blk.1.attn_q.weight")->permutation_heads, 2);
  EXPECT_EQ(plan.find("blk.1.attn_k.weight")->permutation_heads, 1);
  EXPECT_TRUE(plan.find("rope_freqs.weight")->sources.empty());
}

TEST(TensorPlan, MoeShapes) {
  const Loaded mixtral = load("mixtral");  // 3 experts of 32, hidden 16
  const ModelPlan plan = plan_gguf_tensors(mixtral.config, mixtral.model);
  EXPECT_EQ(plan.find("blk.0.ffn_gate_inp.weight")->ggml_shape, (std::vector<int64_t>{16, 3}));
  EXPECT_EQ(plan.find("blk.0.ffn_gate_exps.weight")->ggml_shape, (std::vector<int64_t>{16, 32, 3}));
  EXPECT_EQ(plan.find("blk.0.ffn_up_exps.weight")->ggml_shape, (std::vector<int64_t>{16, 32, 3}));
  EXPECT_EQ(plan.find("blk.0.ffn_down_exps.weight")->ggml_shape, (std::vector<int64_t>{32, 16, 3}));
  EXPECT_EQ(plan.find("blk.0.ffn_gate_exps.weight")->hf_names(),
            (std::vector<std::string>{"model.layers.0.block_sparse_moe.experts.0.w1.weight",
                                      "model.layers.0.block_sparse_moe.experts.1.w1.weight",
                                      "model.layers.0.block_sparse_moe.experts.2.w1.weight"}));
  const Loaded qwen = load("qwen3_moe_sharded");  // 4 experts of 8
  const ModelPlan qplan = plan_gguf_tensors(qwen.config, qwen.model);
  EXPECT_EQ(qplan.find("blk.1.ffn_down_exps.weight")->ggml_shape, (std::vector<int64_t>{8, 16, 4}));
  EXPECT_EQ(qplan.find("blk.1.attn_q_norm.weight")->ggml_shape, (std::vector<int64_t>{8}));
}

TEST(TensorPlan, ValuesComeOutInGgufOrder) {
  const Loaded llama = load("llama");
  const ModelPlan plan = plan_gguf_tensors(llama.config, llama.model);
  // q rows permuted with 2 heads, as convert_hf_to_gguf.py does.
  const auto hf_q = read_as_f32(*llama.model.find("model.layers.0.self_attn.q_proj.weight"));
  std::vector<float> expected(hf_q.size()), actual(hf_q.size());
  permute_qk_rows(hf_q.data(), expected.data(), 2, 16, 16);
  read_planned_tensor(*plan.find("blk.0.attn_q.weight"), llama.config, actual.data());
  EXPECT_EQ(actual, expected);
  // Norms are copied as they are; rope_freqs are computed.
  const auto hf_norm = read_as_f32(*llama.model.find("model.norm.weight"));
  std::vector<float> norm(16);
  read_planned_tensor(*plan.find("output_norm.weight"), llama.config, norm.data());
  EXPECT_EQ(norm, hf_norm);
  std::vector<float> rope(4);
  read_planned_tensor(*plan.find("rope_freqs.weight"), llama.config, rope.data());
  EXPECT_EQ(rope, llama3_rope_freqs(llama.config));

  // qwen2 (NeoX rope): q rows stay in HF order.
  const Loaded qwen2 = load("qwen2");
  const ModelPlan qplan = plan_gguf_tensors(qwen2.config, qwen2.model);
  const auto q_bias = read_as_f32(*qwen2.model.find("model.layers.1.self_attn.q_proj.bias"));
  std::vector<float> bias(q_bias.size());
  read_planned_tensor(*qplan.find("blk.1.attn_q.bias"), qwen2.config, bias.data());
  EXPECT_EQ(bias, q_bias);

  // Mixtral: slot e of ffn_up_exps is expert e's w3.
  const Loaded mixtral = load("mixtral");
  const ModelPlan mplan = plan_gguf_tensors(mixtral.config, mixtral.model);
  std::vector<float> up(16 * 32 * 3);
  read_planned_tensor(*mplan.find("blk.0.ffn_up_exps.weight"), mixtral.config, up.data());
  for (int e = 0; e < 3; ++e) {
    const auto w3 = read_as_f32(*mixtral.model.find("model.layers.0.block_sparse_moe.experts." + std::to_string(e) + ".w3.weight"));
    EXPECT_TRUE(std::equal(w3.begin(), w3.end(), up.begin() + e * 512)) << "expert " << e;
  }
}

// qwen3_moe, 1 layer, hidden 4, one head of 2, vocab 3, 2 experts of 2, in transformers 5.x's
// fused form. Values are the running element index (see f32_safetensors).
std::vector<F32TensorSpec> fused_qwen3_moe_tensors() {
  return {
      {"model.embed_tokens.weight", {3, 4}},
      {"model.norm.weight", {4}},
      {"lm_head.weight", {3, 4}},
      {"model.layers.0.input_layernorm.weight", {4}},
      {"model.layers.0.post_attention_layernorm.weight", {4}},
      {"model.layers.0.self_attn.q_proj.weight", {2, 4}},
      {"model.layers.0.self_attn.k_proj.weight", {2, 4}},
      {"model.layers.0.self_attn.v_proj.weight", {2, 4}},
      {"model.layers.0.self_attn.o_proj.weight", {4, 2}},
      {"model.layers.0.self_attn.q_norm.weight", {2}},
      {"model.layers.0.self_attn.k_norm.weight", {2}},
      {"model.layers.0.mlp.gate.weight", {2, 4}},
      {"model.layers.0.mlp.experts.gate_up_proj", {2, 4, 4}},
      {"model.layers.0.mlp.experts.down_proj", {2, 4, 2}},
  };
}

ModelConfig fused_qwen3_moe_config(const std::string &extra = "") {
  return parse_model_config(R"({"architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "hidden_size": 4,
    "num_hidden_layers": 1, "num_attention_heads": 1, "num_key_value_heads": 1, "head_dim": 2,
    "intermediate_size": 8, "vocab_size": 3, "num_experts": 2, "num_experts_per_tok": 1,
    "moe_intermediate_size": 2, "norm_topk_prob": true)" + extra + "}",
                            "config.json");
}

TEST(TensorPlan, FusedExpertsPlanAndSplit) {
  const ModelConfig config = fused_qwen3_moe_config();
  const auto model = SafetensorsModel::from_memory(test::f32_safetensors(fused_qwen3_moe_tensors()), "fused.safetensors");
  const ModelPlan plan = plan_gguf_tensors(config, model);
  EXPECT_EQ(plan.tensors.size(), 15u);
  const GgufTensorPlan *gate = plan.find("blk.0.ffn_gate_exps.weight");
  const GgufTensorPlan *up = plan.find("blk.0.ffn_up_exps.weight");
  const GgufTensorPlan *down = plan.find("blk.0.ffn_down_exps.weight");
  ASSERT_TRUE(gate && up && down);
  EXPECT_EQ(gate->ggml_shape, (std::vector<int64_t>{4, 2, 2}));
  EXPECT_EQ(down->ggml_shape, (std::vector<int64_t>{2, 4, 2}));
  EXPECT_EQ(gate->hf_names(), (std::vector<std::string>{"model.layers.0.mlp.experts.gate_up_proj"}));

  // Element counts before gate_up_proj: 12+4+12+4+4+8+8+8+8+2+2+8 = 80, so expert e, row r,
  // column c of it holds 80 + 16e + 4r + c. Gate is rows 0-1 of each expert, up rows 2-3.
  std::vector<float> g(16), u(16), d(16);
  read_planned_tensor(*gate, config, g.data());
  read_planned_tensor(*up, config, u.data());
  std::vector<float> want_gate, want_up;
  for (int e = 0; e < 2; ++e)
    for (int k = 0; k < 8; ++k) {
      want_gate.push_back(static_cast<float>(80 + 16 * e + k));
      want_up.push_back(static_cast<float>(80 + 16 * e + 8 + k));
    }
  EXPECT_EQ(g, want_gate);
  EXPECT_EQ(u, want_up);
  // down_proj follows at 112 and is copied as it is ([E, H, I] already).
  read_planned_tensor(*down, config, d.data());
  for (int k = 0; k < 16; ++k) EXPECT_EQ(d[k], static_cast<float>(112 + k));
}

TEST(TensorPlan, InconsistentCheckpointsAreRefused) {
  const ModelConfig config = fused_qwen3_moe_config();
  auto plan_with = [&](std::vector<F32TensorSpec> tensors, const ModelConfig &c) {
    const auto model = SafetensorsModel::from_memory(test::f32_safetensors(tensors), "ckpt.safetensors");
    return plan_gguf_tensors(c, model).tensors.size();
  };
  auto without = [](const std::string &name) {
    auto tensors = fused_qwen3_moe_tensors();
    tensors.erase(std::find_if(tensors.begin(), tensors.end(), [&](const F32TensorSpec &t) { return t.name == name; }));
    return tensors;
  };
  auto with = [](std::vector<F32TensorSpec> extra) {
    auto tensors = fused_qwen3_moe_tensors();
    tensors.insert(tensors.end(), extra.begin(), extra.end());
    return tensors;
  };
  auto reshaped = [](const std::string &name, std::vector<int64_t> shape) {
    auto tensors = fused_qwen3_moe_tensors();
    for (auto &t : tensors)
      if (t.name == name) t.shape = shape;
    return tensors;
  };

  expect_error_containing([&] { plan_with(without("model.layers.0.self_attn.v_proj.weight"), config); },
                          {"ckpt.safetensors", "blk.0.attn_v.weight", "qwen3moe requires"});
  expect_error_containing([&] { plan_with(without("lm_head.weight"), config); }, {"lm_head.weight", "tie"});
  EXPECT_EQ(plan_with(without("lm_head.weight"), fused_qwen3_moe_config(R"(, "tie_word_embeddings": true)")), 14u);
  expect_error_containing([&] { plan_with(with({{"model.layers.0.mlp.foo.weight", {2}}}), config); },
                          {"ckpt.safetensors", "\"model.layers.0.mlp.foo.weight\"", "no GGUF name", "Qwen3MoeForCausalLM"});
  expect_error_containing([&] { plan_with(reshaped("model.layers.0.self_attn.q_proj.weight", {3, 4}), config); },
                          {"\"model.layers.0.self_attn.q_proj.weight\"", "{4, 3}", "implies {4, 2}"});
  expect_error_containing([&] { plan_with(with({{"model.layers.1.input_layernorm.weight", {4}}}), config); },
                          {"\"model.layers.1.input_layernorm.weight\"", "layer 1", "1 layers"});
  expect_error_containing([&] { plan_with(with({{"model.layers.0.mlp.experts.0.down_proj.weight", {4, 2}}}), config); },
                          {"blk.0.ffn_down_exps.weight"});
  expect_error_containing([&] { plan_with(reshaped("model.layers.0.mlp.experts.gate_up_proj", {2, 4, 6}), config); },
                          {"gate_up_proj", "[2, 4, 6]"});

  // Per-expert form with an expert missing, and with one twice.
  auto per_expert = without("model.layers.0.mlp.experts.gate_up_proj");
  per_expert.erase(std::find_if(per_expert.begin(), per_expert.end(),
                                [](const F32TensorSpec &t) { return t.name == "model.layers.0.mlp.experts.down_proj"; }));
  for (const char *part : {"gate_proj", "up_proj"})
    per_expert.push_back({std::string("model.layers.0.mlp.experts.0.") + part + ".weight", {2, 4}});
  per_expert.push_back({"model.layers.0.mlp.experts.0.down_proj.weight", {4, 2}});
  expect_error_containing([&] { plan_with(per_expert, config); }, {"has 1 of 2 experts"});
  auto complete = per_expert;
  for (const char *part : {"gate_proj", "up_proj"})
    complete.push_back({std::string("model.layers.0.mlp.experts.1.") + part + ".weight", {2, 4}});
  complete.push_back({"model.layers.0.mlp.experts.1.down_proj.weight", {4, 2}});
  EXPECT_EQ(plan_with(complete, config), 15u);
  auto beyond = complete;
  beyond.push_back({"model.layers.0.mlp.experts.2.up_proj.weight", {2, 4}});
  expect_error_containing([&] { plan_with(beyond, config); }, {"expert 2", "2 experts"});

  // Buffers convert drops are listed, not refused.
  const auto model = SafetensorsModel::from_memory(
      test::f32_safetensors(with({{"model.layers.0.self_attn.rotary_emb.inv_freq", {1}}})), "ckpt.safetensors");
  EXPECT_EQ(plan_gguf_tensors(config, model).ignored, (std::vector<std::string>{"model.layers.0.self_attn.rotary_emb.inv_freq"}));
}

TEST(TensorPlan, ExpectedShapesFollowTheLoader) {
  const ModelConfig config = fused_qwen3_moe_config();
  EXPECT_EQ(expected_ggml_shape(config, "blk.0.attn_k.bias"), (std::vector<int64_t>{2}));
  EXPECT_EQ(expected_ggml_shape(config, "blk.12.attn_output.weight"), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(expected_ggml_shape(config, "blk.0.ffn_gate_inp.weight"), (std::vector<int64_t>{4, 2}));
  EXPECT_TRUE(expected_ggml_shape(config, "blk.0.unknown.weight").empty());
}

}  // namespace
}  // namespace qs::tensor_plan_test
