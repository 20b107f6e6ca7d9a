// The model-description layer against files transformers 5.17 and torch wrote themselves
// (tests/data/transformers5, made by tools/make_transformers5_fixtures.py): every tensor of every
// architecture maps, fused experts split into exactly the per-expert weights transformers saves,
// and FP8/F16/BF16 decoding, the q/k permutation and llama3 rope_freqs equal torch's values.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <map>
#include <set>

#include "core/error.h"
#include "formats/hf_config.h"
#include "formats/safetensors.h"
#include "model/architectures.h"
#include "model/fused_experts.h"
#include "model/llama3_rope.h"
#include "model/qk_permutation.h"

namespace qs::transformers5_checkpoints_test {
namespace {

const std::filesystem::path kData = std::filesystem::path(QUANTSCOPE_SOURCE_DIR) / "tests/data/transformers5";

std::vector<float> tensor_f32(const SafetensorsModel &model, const std::string &name) {
  const SafetensorsTensor *tensor = model.find(name);
  if (tensor == nullptr) ADD_FAILURE() << "no tensor " << name;
  return tensor ? read_as_f32(*tensor) : std::vector<float>{};
}

// Bit-for-bit, with any NaN matching any NaN.
void expect_same_floats(const std::vector<float> &actual, const std::vector<float> &expected, const std::string &what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(actual[i])) << what << "[" << i << "]";
    } else {
      EXPECT_EQ(std::bit_cast<uint32_t>(actual[i]), std::bit_cast<uint32_t>(expected[i]))
          << what << "[" << i << "]: " << actual[i] << " vs torch " << expected[i];
    }
  }
}

TEST(Transformers5Checkpoints, DecodingMatchesTorch) {
  const auto ref = SafetensorsModel::open(kData / "reference.safetensors");
  EXPECT_EQ(ref.find("e4m3")->dtype, Dtype::F8_E4M3);
  EXPECT_EQ(ref.find("e5m2")->dtype, Dtype::F8_E5M2);
  for (const char *name : {"e4m3", "e5m2", "f16", "bf16", "f64"})
    expect_same_floats(tensor_f32(ref, name), tensor_f32(ref, std::string(name) + "_decoded"), name);
  EXPECT_EQ(ref.metadata().count("made_by"), 1u);
}

TEST(Transformers5Checkpoints, PermutationMatchesConvertPermute) {
  const auto ref = SafetensorsModel::open(kData / "reference.safetensors");
  // q: 24 rows, 3 heads; k: 8 rows with n_head_kv = 1 (convert's permute(w, n_head, n_head_kv)).
  const auto q_in = tensor_f32(ref, "permute.q_in");
  std::vector<float> q_out(q_in.size());
  permute_qk_rows(q_in.data(), q_out.data(), 3, 24, 5);
  expect_same_floats(q_out, tensor_f32(ref, "permute.q_out"), "q");
  const auto k_in = tensor_f32(ref, "permute.k_in");
  std::vector<float> k_out(k_in.size());
  permute_qk_rows(k_in.data(), k_out.data(), 1, 8, 5);
  expect_same_floats(k_out, tensor_f32(ref, "permute.k_out"), "k");
}

TEST(Transformers5Checkpoints, Llama3RopeFreqsMatchConvert) {
  const auto ref = SafetensorsModel::open(kData / "reference.safetensors");
  struct Case {
    const char *tensor;
    double theta;
    int64_t head_dim;
    double factor;
    int64_t top_level_original;  // 0: absent (convert's default 8192)
  };
  for (const Case &c : {Case{"llama3.theta500000_dim128_f8_l1_h4_old8192", 500000.0, 128, 8.0, 0},
                        Case{"llama3.theta10000_dim64_f32_l1_h4_old2048", 10000.0, 64, 32.0, 2048}}) {
    SCOPED_TRACE(c.tensor);
    const std::string top = c.top_level_original ? cat(R"(, "original_max_position_embeddings": )", c.top_level_original) : "";
    const ModelConfig config = parse_model_config(
        cat(R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": )", c.head_dim * 4,
            R"(, "num_hidden_layers": 1, "num_attention_heads": 4, "head_dim": )", c.head_dim,
            R"(, "intermediate_size": 8, "vocab_size": 10, "rope_parameters": {"rope_type": "llama3", "rope_theta": )",
            c.theta, R"(, "factor": )", c.factor,
            R"(, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})", top, "}"),
        "config.json");
    const auto expected = tensor_f32(ref, c.tensor);
    const auto actual = llama3_rope_freqs(config);
    ASSERT_EQ(actual.size(), expected.size());
    // The same float32 steps as torch's, so the same bits (glibc's powf agrees with torch's pow
    // on these inputs).
    expect_same_floats(actual, expected, c.tensor);
  }
}

struct Checkpoint {
  const char *directory;
  const char *gguf_arch;
};

TEST(Transformers5Checkpoints, EveryTensorOfEveryArchitectureMaps) {
  for (const Checkpoint &checkpoint : {Checkpoint{"llama", "llama"}, Checkpoint{"mistral", "llama"},
                                       Checkpoint{"mixtral", "llama"}, Checkpoint{"qwen2", "qwen2"},
                                       Checkpoint{"qwen3", "qwen3"}, Checkpoint{"qwen3_moe", "qwen3moe"},
                                       Checkpoint{"qwen3_moe_sharded", "qwen3moe"}}) {
    SCOPED_TRACE(checkpoint.directory);
    const ModelConfig config = read_model_config(kData / checkpoint.directory);
    const Architecture &arch = architecture_for(config);
    EXPECT_STREQ(arch.gguf_arch, checkpoint.gguf_arch);
    EXPECT_FALSE(gguf_hparams(config).empty());
    const auto model = SafetensorsModel::open(kData / checkpoint.directory);

    std::set<std::string> gguf_names;
    std::map<std::string, std::set<int>> experts_of;
    for (const auto &tensor : model.tensors()) {
      const auto mapped = map_tensor_name(arch, tensor.name);
      ASSERT_TRUE(mapped.has_value()) << tensor.name;
      EXPECT_LT(mapped->layer, config.num_hidden_layers) << tensor.name;
      if (mapped->expert) {
        EXPECT_LT(*mapped->expert, config.num_experts) << tensor.name;
        EXPECT_TRUE(experts_of[mapped->name].insert(*mapped->expert).second) << tensor.name;
      } else {
        EXPECT_TRUE(gguf_names.insert(mapped->name).second) << "two tensors map to " << mapped->name;
      }
      // q/k rows split into heads as the permutation needs.
      if (mapped->permutation != RowPermutation::None) {
        EXPECT_EQ(tensor.shape[0], permutation_head_count(config, mapped->permutation) * config.head_dim) << tensor.name;
      }
    }
    for (const auto &[name, experts] : experts_of) EXPECT_EQ(static_cast<int64_t>(experts.size()), config.num_experts) << name;
    // Tied embeddings: no lm_head in the file, and llama.cpp reuses token_embd.
    EXPECT_EQ(gguf_names.count("output.weight") == 0, config.tie_word_embeddings);
    EXPECT_EQ(gguf_names.count("token_embd.weight"), 1u);
  }
}

// The fused parameters of the runtime state dict, split, must equal the per-expert weights that
// save_pretrained wrote for the same model — which also pins w1 = gate, w3 = up, w2 = down.
TEST(Transformers5Checkpoints, FusedExpertsSplitIntoTheSavedPerExpertWeights) {
  for (const char *directory : {"mixtral", "qwen3_moe"}) {
    SCOPED_TRACE(directory);
    const ModelConfig config = read_model_config(kData / directory);
    const Architecture &arch = architecture_for(config);
    const auto saved = SafetensorsModel::open(kData / directory / "model.safetensors");
    const auto runtime = SafetensorsModel::open(kData / directory / "runtime_state_dict.safetensors");
    const int64_t per_expert = config.hidden_size * expert_feed_forward_length(config);

    // Stack the saved per-expert tensors by GGUF name, as a converter would.
    std::map<std::string, std::vector<float>> stacked;
    for (const auto &tensor : saved.tensors()) {
      const auto mapped = map_tensor_name(arch, tensor.name);
      ASSERT_TRUE(mapped.has_value()) << tensor.name;
      if (!mapped->expert) continue;
      auto &buffer = stacked[mapped->name];
      buffer.resize(static_cast<size_t>(per_expert * config.num_experts));
      ASSERT_EQ(tensor.n_elements(), per_expert);
      read_as_f32(tensor, buffer.data() + *mapped->expert * per_expert);
    }
    ASSERT_EQ(stacked.size(), 3u);

    int fused_seen = 0;
    for (const auto &tensor : runtime.tensors()) {
      const auto mapped = map_tensor_name(arch, tensor.name);
      ASSERT_TRUE(mapped.has_value()) << tensor.name;
      const auto values = read_as_f32(tensor);
      if (mapped->is_fused_gate_up()) {
        std::vector<float> gate(values.size() / 2), up(values.size() / 2);
        split_fused_gate_up(values.data(), tensor.shape, config, tensor.name, gate.data(), up.data());
        expect_same_floats(gate, stacked.at(mapped->name), mapped->name);
        expect_same_floats(up, stacked.at(mapped->up_name), mapped->up_name);
        ++fused_seen;
      } else if (mapped->name.find("ffn_down_exps") != std::string::npos) {
        std::vector<float> down(values.size());
        fused_down_to_stacked(values.data(), tensor.shape, config, tensor.name, down.data());
        expect_same_floats(down, stacked.at(mapped->name), mapped->name);
        ++fused_seen;
      } else {
        // The router, renamed to mlp.gate in 5.x, maps where block_sparse_moe.gate does.
        EXPECT_EQ(mapped->name, "blk.0.ffn_gate_inp.weight");
        expect_same_floats(values, tensor_f32(saved, saved.find("model.layers.0.mlp.gate.weight")
                                                         ? "model.layers.0.mlp.gate.weight"
                                                         : "model.layers.0.block_sparse_moe.gate.weight"),
                           "router");
      }
    }
    EXPECT_EQ(fused_seen, 2);
  }
}

TEST(Transformers5Checkpoints, ConfigsAsTransformers5WritesThem) {
  const ModelConfig llama = read_model_config(kData / "llama");
  EXPECT_EQ(llama.dtype, "bfloat16");
  EXPECT_EQ(llama.rope_scaling.type, RopeScalingType::Llama3);
  EXPECT_EQ(llama.rope_scaling.original_max_position_embeddings, 32);
  EXPECT_DOUBLE_EQ(llama.rope_theta, 500000.0);
  const ModelConfig moe = read_model_config(kData / "qwen3_moe_sharded");
  EXPECT_EQ(moe.num_experts, 4);  // written as num_local_experts by 5.17
  EXPECT_EQ(moe.rope_scaling.type, RopeScalingType::Yarn);
  EXPECT_EQ(moe.rope_scaling.original_max_position_embeddings, 16);
  const ModelConfig qwen2 = read_model_config(kData / "qwen2");
  EXPECT_TRUE(qwen2.tie_word_embeddings);
  EXPECT_TRUE(qwen2.attention_bias);
  EXPECT_EQ(qwen2.head_dim, 8);
}

}  // namespace
}  // namespace qs::transformers5_checkpoints_test
