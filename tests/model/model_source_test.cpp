// ModelSource against the checkpoints themselves: names, shapes, llama.cpp's q/k row order,
// stacked experts, shards, the HF cache, and GGUF files written from them read back the same.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "convert/gguf_export.h"
#include "convert/model_metadata.h"
#include "convert/quant_plan.h"
#include "core/half.h"
#include "formats/safetensors.h"
#include "model/hf_cache.h"
#include "model/llama3_rope.h"
#include "model/model_source.h"
#include "test_support.h"

namespace qs::model_source_test {
namespace {

const std::filesystem::path kModels = std::filesystem::path(QUANTSCOPE_SOURCE_DIR) / "models";

std::vector<float> hf_tensor(const std::filesystem::path &dir, const std::string &name) {
  const auto checkpoint = SafetensorsModel::open(dir);
  const SafetensorsTensor *t = checkpoint.find(name);
  EXPECT_NE(t, nullptr) << name;
  return read_as_f32(*t);
}

TEST(ModelSource, ShippedModelHasLlamaCppsTensorTable) {
  const auto model = ModelSource::open(kModels / "kjv-llama");
  EXPECT_EQ(model->kind(), ModelSource::Kind::Safetensors);
  EXPECT_STREQ(model->architecture().gguf_arch, "llama");
  // 8 layers x 9 tensors + token_embd + output_norm + output.
  ASSERT_EQ(model->tensors().size(), 75u);
  EXPECT_EQ(model->tensors().front().name, "token_embd.weight");
  const auto &tensors = model->tensors();
  EXPECT_TRUE((tensors[73].name == "output.weight") != (tensors[74].name == "output.weight"));  // after the blocks
  EXPECT_TRUE(tensors[73].name == "output_norm.weight" || tensors[74].name == "output_norm.weight");
  EXPECT_EQ(model->get("token_embd.weight").shape, (std::vector<int64_t>{256, 3840}));
  EXPECT_EQ(model->get("blk.7.attn_k.weight").shape, (std::vector<int64_t>{256, 128}));
  EXPECT_EQ(model->get("blk.0.ffn_down.weight").shape, (std::vector<int64_t>{768, 256}));
  EXPECT_EQ(model->get("blk.0.attn_norm.weight").shape, (std::vector<int64_t>{256}));
  EXPECT_EQ(model->get("blk.3.ffn_up.weight").hf_names, std::vector<std::string>{"model.layers.3.mlp.up_proj.weight"});
  EXPECT_EQ(model->get("output.weight").stored_dtype, "BF16");
  EXPECT_THROW(model->get("blk.8.attn_q.weight"), Error);
}

TEST(ModelSource, LlamaQueryAndKeyRowsAreInLlamaCppsRopeOrder) {
  // convert_hf_to_gguf.py: within each head of 64 rows, GGUF row 2j is HF row j and GGUF row
  // 2j+1 is HF row j+32.
  const auto dir = kModels / "kjv-llama";
  const auto model = ModelSource::open(dir);
  const auto q = model->read_f32(model->get("blk.2.attn_q.weight"));
  const auto hf_q = hf_tensor(dir, "model.layers.2.self_attn.q_proj.weight");
  const int64_t cols = 256;
  auto row = [&](const std::vector<float> &m, int64_t r) { return std::vector<float>(m.begin() + r * cols, m.begin() + (r + 1) * cols); };
  EXPECT_EQ(row(q, 0), row(hf_q, 0));
  EXPECT_EQ(row(q, 1), row(hf_q, 32));
  EXPECT_EQ(row(q, 2), row(hf_q, 1));
  EXPECT_EQ(row(q, 64 + 5), row(hf_q, 64 + 32 + 2));  // head 1, odd row 5 = pair 2, second half
  const auto k = model->read_f32(model->get("blk.2.attn_k.weight"));
  const auto hf_k = hf_tensor(dir, "model.layers.2.self_attn.k_proj.weight");
  EXPECT_EQ(row(k, 127), row(hf_k, 64 + 63));
  EXPECT_EQ(row(k, 126), row(hf_k, 64 + 31));
  // Values, not layout, are untouched elsewhere.
  EXPECT_EQ(model->read_f32(model->get("blk.2.attn_v.weight")), hf_tensor(dir, "model.layers.2.self_attn.v_proj.weight"));
}

TEST(ModelSource, NeoxArchitecturesKeepTheirRowOrder) {
  const auto dir = kModels / "tiny" / "qwen2";
  const auto model = ModelSource::open(dir);
  EXPECT_EQ(model->read_f32(model->get("blk.0.attn_q.weight")), hf_tensor(dir, "model.layers.0.self_attn.q_proj.weight"));
  EXPECT_EQ(model->read_f32(model->get("blk.0.attn_q.bias")), hf_tensor(dir, "model.layers.0.self_attn.q_proj.bias"));
}

TEST(ModelSource, ExpertsAreStackedInExpertOrder) {
  const auto dir = kModels / "tiny" / "mixtral";
  const auto model = ModelSource::open(dir);
  const SourceTensor &up = model->get("blk.1.ffn_up_exps.weight");
  ASSERT_EQ(up.shape.size(), 3u);
  EXPECT_EQ(up.shape[2], 4);
  const auto stacked = model->read_f32(up);
  const int64_t per_expert = up.shape[0] * up.shape[1];
  for (int e = 0; e < 4; ++e) {
    const auto expert = hf_tensor(dir, "model.layers.1.block_sparse_moe.experts." + std::to_string(e) + ".w3.weight");
    EXPECT_EQ(std::vector<float>(stacked.begin() + e * per_expert, stacked.begin() + (e + 1) * per_expert), expert) << e;
  }
  EXPECT_NE(model->find("blk.1.ffn_gate_inp.weight"), nullptr);
}

// Writes the tiny llama's tensors into two shards plus model.safetensors.index.json.
void write_sharded_copy(const std::filesystem::path &from, const std::filesystem::path &to) {
  std::filesystem::create_directories(to);
  std::filesystem::copy_file(from / "config.json", to / "config.json");
  const auto checkpoint = SafetensorsModel::open(from);
  nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
  for (int shard = 0; shard < 2; ++shard) {
    const std::string file = "model-0000" + std::to_string(shard + 1) + "-of-00002.safetensors";
    nlohmann::json header = nlohmann::json::object();
    std::vector<uint8_t> data;
    for (size_t i = static_cast<size_t>(shard); i < checkpoint.tensors().size(); i += 2) {
      const auto &t = checkpoint.tensors()[i];
      header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
      data.insert(data.end(), t.bytes.begin(), t.bytes.end());
      index["weight_map"][t.name] = file;
    }
    const std::string text = header.dump();
    std::ofstream out(to / file, std::ios::binary);
    const uint64_t n = text.size();
    out.write(reinterpret_cast<const char *>(&n), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.write(reinterpret_cast<const char *>(data.data()), static_cast<std::streamsize>(data.size()));
  }
  std::ofstream(to / "model.safetensors.index.json") << index.dump();
}

TEST(ModelSource, ShardedCheckpointReadsAsOne) {
  test::ScratchDir dir;
  write_sharded_copy(kModels / "tiny" / "llama", dir.path() / "sharded");
  const auto whole = ModelSource::open(kModels / "tiny" / "llama");
  const auto sharded = ModelSource::open(dir.path() / "sharded");
  ASSERT_EQ(whole->tensors().size(), sharded->tensors().size());
  for (const auto &t : whole->tensors()) {
    const SourceTensor *s = sharded->find(t.name);
    ASSERT_NE(s, nullptr) << t.name;
    EXPECT_EQ(s->shape, t.shape) << t.name;
    EXPECT_EQ(whole->read_f32(t), sharded->read_f32(*s)) << t.name;
  }
}

TEST(ModelSource, FindsARepoIdInTheHuggingFaceCache) {
  test::ScratchDir dir;
  const auto repo = dir.path() / "models--tiny-org--tiny-llama";
  std::filesystem::create_directories(repo / "refs");
  std::filesystem::create_directories(repo / "snapshots");
  std::filesystem::copy(kModels / "tiny" / "llama", repo / "snapshots" / "0123abcd");
  std::ofstream(repo / "refs" / "main") << "0123abcd";
  setenv("HF_HUB_CACHE", dir.path().c_str(), 1);
  const auto model = ModelSource::open("tiny-org/tiny-llama");
  unsetenv("HF_HUB_CACHE");
  EXPECT_EQ(model->path(), repo / "snapshots" / "0123abcd");
  EXPECT_EQ(model->config().model_type, "llama");
}

TEST(ModelSource, BadPathsAreClearErrors) {
  test::ScratchDir dir;
  test::expect_error_containing([&] { ModelSource::open(dir.path()); }, {"config.json"});
  test::expect_error_containing([&] { ModelSource::open(dir.path() / "nope"); }, {"nope", "no such file"});
  const auto not_gguf = dir.write_text("x.gguf", "hello world");
  test::expect_error_containing([&] { ModelSource::open(not_gguf); }, {"x.gguf", "not a GGUF"});
  // A checkpoint with a tensor the architecture does not have.
  std::filesystem::copy(kModels / "tiny" / "llama", dir.path() / "odd");
  nlohmann::json config = nlohmann::json::parse(std::ifstream(kModels / "tiny" / "llama" / "config.json"));
  config["architectures"] = {"GPTNeoXForCausalLM"};
  config["model_type"] = "gpt_neox";
  std::ofstream(dir.path() / "odd" / "config.json") << config.dump();
  test::expect_error_containing([&] { ModelSource::open(dir.path() / "odd"); }, {"GPTNeoXForCausalLM"});
  // A llama checkpoint holding a tensor no llama has is refused, not guessed.
  std::filesystem::copy_file(kModels / "tiny" / "llama" / "config.json", dir.path() / "odd" / "config.json",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(kModels / "tiny" / "qwen3" / "model.safetensors", dir.path() / "odd" / "model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  test::expect_error_containing([&] { ModelSource::open(dir.path() / "odd"); }, {"_norm.weight", "LlamaForCausalLM", "no GGUF name"});
}

ExportReport export_model(const ModelSource &model, GgmlType type, const std::filesystem::path &out) {
  ExportOptions options;
  options.metadata = gguf_model_metadata(model, type);
  return export_gguf(model, uniform_plan(model, type), options, out);
}

TEST(ModelSource, F32GgufReadsBackIdenticalWithTheSameConfig) {
  for (const char *name : {"kjv-llama", "tiny/qwen3", "tiny/qwen3_moe", "tiny/mixtral", "tiny/qwen2"}) {
    test::ScratchDir dir;
    const auto hf = ModelSource::open(kModels / name);
    export_model(*hf, GgmlType::F32, dir.path() / "m.gguf");
    const auto gguf = ModelSource::open(dir.path() / "m.gguf");
    EXPECT_EQ(gguf->kind(), ModelSource::Kind::Gguf);
    const ModelConfig &a = hf->config(), &b = gguf->config();
    EXPECT_EQ(a.hidden_size, b.hidden_size) << name;
    EXPECT_EQ(a.num_hidden_layers, b.num_hidden_layers) << name;
    EXPECT_EQ(a.num_attention_heads, b.num_attention_heads) << name;
    EXPECT_EQ(a.num_key_value_heads, b.num_key_value_heads) << name;
    EXPECT_EQ(a.head_dim, b.head_dim) << name;
    EXPECT_EQ(a.intermediate_size, b.intermediate_size) << name;
    EXPECT_EQ(a.vocab_size, b.vocab_size) << name;
    EXPECT_FLOAT_EQ(static_cast<float>(a.rope_theta), static_cast<float>(b.rope_theta)) << name;
    EXPECT_FLOAT_EQ(static_cast<float>(a.rms_norm_eps), static_cast<float>(b.rms_norm_eps)) << name;
    EXPECT_EQ(a.tie_word_embeddings, b.tie_word_embeddings) << name;
    EXPECT_EQ(a.num_experts, b.num_experts) << name;
    EXPECT_EQ(a.num_experts_per_tok, b.num_experts_per_tok) << name;
    EXPECT_EQ(hf->architecture().hf_class, gguf->architecture().hf_class) << name;
    ASSERT_EQ(hf->tensors().size(), gguf->tensors().size()) << name;
    for (const auto &t : hf->tensors()) {
      const SourceTensor &g = gguf->get(t.name);
      EXPECT_EQ(g.shape, t.shape) << t.name;
      EXPECT_EQ(gguf->read_f32(g), hf->read_f32(t)) << name << " " << t.name;
    }
  }
}

TEST(ModelSource, F16GgufHoldsEachWeightRoundedToNearestEven) {
  test::ScratchDir dir;
  const auto hf = ModelSource::open(kModels / "tiny" / "qwen3");
  export_model(*hf, GgmlType::F16, dir.path() / "m.gguf");
  const auto gguf = ModelSource::open(dir.path() / "m.gguf");
  for (const auto &t : hf->tensors()) {
    const auto original = hf->read_f32(t);
    const auto stored = gguf->read_f32(gguf->get(t.name));
    const bool is_vector = t.shape.size() == 1;
    EXPECT_EQ(gguf->get(t.name).stored_type, is_vector ? GgmlType::F32 : GgmlType::F16) << t.name;
    for (size_t i = 0; i < original.size(); ++i) {
      const float expected = is_vector ? original[i] : f16_to_f32(f32_to_f16(original[i]));
      ASSERT_EQ(stored[i], expected) << t.name << " [" << i << "]";
    }
  }
}

TEST(ModelSource, Llama3RopeScalingTravelsAsRopeFreqs) {
  test::ScratchDir dir;
  const auto hf = ModelSource::open(kModels / "tiny" / "llama");
  ASSERT_EQ(hf->config().rope_scaling.type, RopeScalingType::Llama3);
  export_model(*hf, GgmlType::F32, dir.path() / "m.gguf");
  const auto gguf = ModelSource::open(dir.path() / "m.gguf");
  const SourceTensor &freqs = gguf->get("rope_freqs.weight");
  EXPECT_EQ(freqs.shape, (std::vector<int64_t>{hf->config().head_dim / 2}));
  EXPECT_EQ(gguf->read_f32(freqs), llama3_rope_freqs(hf->config()));
}

}  // namespace
}  // namespace qs::model_source_test
