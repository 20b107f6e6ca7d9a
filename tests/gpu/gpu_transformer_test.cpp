// The GPU pass against the references the CPU pass is held to: the textbook double-precision
// forward (synthetic models of every option), transformers' logits (the shipped and tiny models),
// and the CPU pass itself (logits, and perplexity within 1e-4 relative). Runs only where a GPU is
// (ctest label `cuda`); on a machine without one these tests fail rather than skip, so they are
// left out there by label.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "cli/cli_process.h"
#include "core/error.h"
#include "formats/safetensors.h"
#include "gpu/gpu_transformer.h"
#include "infer/compute_device.h"
#include "infer/perplexity_run.h"
#include "infer/synthetic_model.h"
#include "infer/transformer.h"
#include "model/model_source.h"

namespace qs::gpu_transformer_test {
namespace {

const std::filesystem::path kRoot = QUANTSCOPE_SOURCE_DIR;
using test::SyntheticOptions;

std::vector<int32_t> some_tokens(int n, int n_vocab) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[static_cast<size_t>(i)] = (i * 37 + 11) % n_vocab;
  return t;
}

template <typename A, typename B>
double max_difference(const A &a, const B &b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::abs(double(a[i]) - double(b[i])));
  return d;
}

std::vector<float> gpu_forward(GpuTransformer &model, const std::vector<int32_t> &tokens) {
  std::vector<float> logits(tokens.size() * static_cast<size_t>(model.config().n_vocab));
  model.forward(tokens, logits.data());
  return logits;
}

TEST(Cuda, AGpuIsVisibleAndAutoPicksIt) {
  ASSERT_TRUE(built_with_cuda());
  ASSERT_GT(cuda_device_count(), 0);
  EXPECT_EQ(parse_compute_device("auto"), ComputeDevice::cuda);
  EXPECT_EQ(parse_compute_device("cuda"), ComputeDevice::cuda);
}

struct SyntheticCase {
  const char *name;
  SyntheticOptions options;
  int n_tokens;
};

class GpuSynthetic : public testing::TestWithParam<SyntheticCase> {};

// Both passes against the double-precision definition: the CPU pass is held to 2e-4 there
// (tests/infer/transformer_test.cpp); the GPU to the same, and to the CPU pass.
TEST_P(GpuSynthetic, MatchesTheReferenceAndTheCpuPass) {
  const SyntheticCase &c = GetParam();
  const auto config = test::synthetic_config(c.options);
  const auto weights = test::synthetic_weights(config, c.options, 7);
  const auto tokens = some_tokens(c.n_tokens, static_cast<int>(config.n_vocab));
  auto gpu = GpuTransformer::from_weights(config, weights);
  Transformer cpu(config, weights, 2);
  const auto got = gpu_forward(*gpu, tokens);
  const double vs_reference = max_difference(got, test::reference_forward(config, weights, tokens));
  const double vs_cpu = max_difference(got, cpu.forward(tokens));
  RecordProperty("vs_reference", std::to_string(vs_reference));
  testing::Test::RecordProperty("vs_cpu", std::to_string(vs_cpu));
  EXPECT_LT(vs_reference, 2e-4) << c.name;
  EXPECT_LT(vs_cpu, 2e-4) << c.name;
}

SyntheticCase make_case(const char *name, int n_tokens, void (*set)(SyntheticOptions &)) {
  SyntheticCase c{name, {}, n_tokens};
  set(c.options);
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    Options, GpuSynthetic,
    testing::Values(make_case("llama_llama3_rope_tied", 90, [](SyntheticOptions &o) {
                      o.rope_style = RopeStyle::Normal;
                      o.rope_scaling = RopeScalingKind::Llama3;
                      o.tied = true;
                    }),
                    make_case("qwen2_biases", 70, [](SyntheticOptions &o) { o.qkv_bias = true; }),
                    make_case("qwen3_qk_norms", 70, [](SyntheticOptions &o) { o.qk_norm = true; }),
                    make_case("moe", 40, [](SyntheticOptions &o) {
                      o.moe = true;
                      o.qk_norm = true;
                    }),
                    make_case("sliding_window", 30, [](SyntheticOptions &o) { o.sliding_window = 5; })),
    [](const testing::TestParamInfo<SyntheticCase> &info) { return std::string(info.param.name); });

TEST(GpuTransformer, SequencesBackToBackEqualEachAloneWithLogitsFromARow) {
  for (bool moe : {false, true}) {
    SyntheticOptions o;
    o.moe = moe;
    const auto config = test::synthetic_config(o);
    const auto weights = test::synthetic_weights(config, o, 11);
    auto gpu = GpuTransformer::from_weights(config, weights);
    const int64_t L = 24, first = 10, n_seq = 3, V = config.n_vocab;
    std::vector<int32_t> all;
    std::vector<std::vector<int32_t>> sequences;
    for (int64_t s = 0; s < n_seq; ++s) {
      std::vector<int32_t> seq(static_cast<size_t>(L));
      for (int64_t i = 0; i < L; ++i) seq[static_cast<size_t>(i)] = static_cast<int32_t>((i * 13 + s * 7 + 3) % V);
      all.insert(all.end(), seq.begin(), seq.end());
      sequences.push_back(seq);
    }
    std::vector<float> batched(static_cast<size_t>(n_seq * (L - first) * V));
    gpu->forward_sequences(all, L, first, batched.data());
    for (int64_t s = 0; s < n_seq; ++s) {
      std::vector<float> alone(static_cast<size_t>((L - first) * V));
      gpu->forward(sequences[static_cast<size_t>(s)], alone.data(), nullptr, first);
      const std::vector<float> part(batched.begin() + s * (L - first) * V, batched.begin() + (s + 1) * (L - first) * V);
      EXPECT_LT(max_difference(part, alone), 1e-5) << "moe " << moe << " sequence " << s;
    }
  }
}

TEST(GpuTransformer, ASwappedWeightChangesTheLogitsAndPuttingItBackRestoresThem) {
  SyntheticOptions o;
  const auto config = test::synthetic_config(o);
  auto weights = test::synthetic_weights(config, o, 5);
  auto gpu = GpuTransformer::from_weights(config, weights);
  const auto tokens = some_tokens(32, static_cast<int>(config.n_vocab));
  const auto before = gpu_forward(*gpu, tokens);
  const WeightTensor wv = weights.at("blk.1.attn_v.weight");
  std::vector<float> changed = wv.values;
  for (float &x : changed) x *= 0.5f;
  gpu->set_weight("blk.1.attn_v.weight", wv.shape, changed);
  const auto swapped = gpu_forward(*gpu, tokens);
  weights.at("blk.1.attn_v.weight").values = changed;
  EXPECT_LT(max_difference(swapped, test::reference_forward(config, weights, tokens)), 2e-4);
  EXPECT_GT(max_difference(swapped, before), 1e-3);
  gpu->set_weight("blk.1.attn_v.weight", wv.shape, wv.values);
  EXPECT_EQ(gpu_forward(*gpu, tokens), before);  // cuBLAS is deterministic for one shape on one GPU
  EXPECT_THROW(gpu->set_weight("blk.1.attn_v.weight", {4, 4}, std::vector<float>(16)), Error);
}

TEST(GpuTransformer, AMissingTensorIsNamed) {
  SyntheticOptions o;
  const auto config = test::synthetic_config(o);
  auto weights = test::synthetic_weights(config, o, 5);
  weights.erase("blk.2.ffn_up.weight");
  try {
    GpuTransformer::from_weights(config, weights);
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("blk.2.ffn_up.weight"), std::string::npos) << e.what();
  }
}

std::vector<int32_t> read_tokens(const SafetensorsTensor &t) {
  std::vector<int32_t> tokens(static_cast<size_t>(t.n_elements()));
  std::memcpy(tokens.data(), t.bytes.data(), tokens.size() * sizeof(int32_t));
  return tokens;
}

// The model loaded by both passes from its files; every reference sequence's logits from the GPU
// against transformers' (the CPU pass's own bound, 1e-3) and against the CPU pass.
void expect_matches_transformers(const std::filesystem::path &model_dir, const std::string &reference) {
  const auto source = ModelSource::open(model_dir);
  const auto gpu = GpuTransformer::load(*source, 2);
  const auto cpu = Transformer::load(*source, 2);
  const auto ref = SafetensorsModel::open(kRoot / "tests/data/reference" / reference);
  double vs_transformers = 0, vs_cpu = 0;
  int sequences = 0;
  for (int i = 0; const SafetensorsTensor *tokens = ref.find("tokens_" + std::to_string(i)); ++i, ++sequences) {
    const auto ids = read_tokens(*tokens);
    const auto logits = gpu_forward(*gpu, ids);
    vs_transformers = std::max(vs_transformers, max_difference(logits, read_as_f32(*ref.find("logits_" + std::to_string(i)))));
    vs_cpu = std::max(vs_cpu, max_difference(logits, cpu->forward(ids)));
  }
  EXPECT_EQ(sequences, 3);
  testing::Test::RecordProperty("vs_transformers", std::to_string(vs_transformers));
  testing::Test::RecordProperty("vs_cpu", std::to_string(vs_cpu));
  std::printf("%s: max |GPU - transformers| %.3g, max |GPU - CPU| %.3g\n", model_dir.filename().c_str(),
              vs_transformers, vs_cpu);
  EXPECT_LE(vs_transformers, 1e-3);
  EXPECT_LE(vs_cpu, 1e-3);
}

TEST(GpuVsTransformers, KjvLlama) { expect_matches_transformers(kRoot / "models/kjv-llama", "logits_kjv-llama.safetensors"); }

class GpuTinyModel : public testing::TestWithParam<const char *> {};
TEST_P(GpuTinyModel, MatchesTransformersLogits) {
  const std::string arch = GetParam();
  expect_matches_transformers(kRoot / "models/tiny" / arch, "logits_tiny-" + arch + ".safetensors");
}
INSTANTIATE_TEST_SUITE_P(Architectures, GpuTinyModel, testing::Values("llama", "qwen2", "qwen3", "mixtral", "qwen3_moe"));

// The bound: perplexity on the GPU within 1e-4 relative of the CPU's.
// A layer run from inside it (the intermediates before its start kept from a whole run with the
// reference weights) gives the state a whole run gives, bit for bit, when the start's own weight
// has changed: for every weight of a layer, in models with biases, q/k norms and experts.
TEST(GpuTransformer, ALayerFromInsideEqualsAWholeRunBitForBit) {
  const struct {
    const char *name;
    void (*set)(SyntheticOptions &);
  } cases[] = {{"llama", [](SyntheticOptions &) {}},
               {"qwen2_biases", [](SyntheticOptions &o) { o.qkv_bias = true; }},
               {"qwen3_qk_norms", [](SyntheticOptions &o) { o.qk_norm = true; }},
               {"moe", [](SyntheticOptions &o) { o.moe = true; }}};
  const std::pair<const char *, LayerStage> weights[] = {
      {"attn_q.weight", LayerStage::attn_q},      {"attn_k.weight", LayerStage::attn_k},
      {"attn_v.weight", LayerStage::attn_v},      {"attn_output.weight", LayerStage::attn_output},
      {"ffn_gate.weight", LayerStage::ffn_gate},  {"ffn_up.weight", LayerStage::ffn_up},
      {"ffn_down.weight", LayerStage::ffn_down},  {"ffn_gate_exps.weight", LayerStage::ffn_input},
      {"ffn_down_exps.weight", LayerStage::ffn_input}};
  for (const auto &c : cases) {
    SyntheticOptions o;
    c.set(o);
    const auto config = test::synthetic_config(o);
    const auto reference = test::synthetic_weights(config, o, 5);
    auto gpu = GpuTransformer::from_weights(config, reference);
    const int64_t L = 12, n = 3 * L, width = config.n_embd;
    const auto tokens = some_tokens(static_cast<int>(n), static_cast<int>(config.n_vocab));
    const int layer = 1;
    gpu::DeviceBuffer<float> input(static_cast<size_t>(n * width)), state(static_cast<size_t>(n * width));
    gpu->embed(tokens, input.data());
    gpu->run_layers(0, layer, input.data(), n, L);
    GpuLayerIntermediates kept;
    state.assign(input.data(), static_cast<size_t>(n * width), gpu->stream());
    gpu->run_layer(layer, state.data(), n, L, LayerStage::input, nullptr, &kept);
    int compared = 0;
    for (const auto &[suffix, stage] : weights) {
      const std::string name = layer_tensor_name(layer, suffix);
      auto it = reference.find(name);
      if (it == reference.end()) continue;
      std::vector<float> changed = it->second.values;
      for (size_t i = 0; i < changed.size(); ++i) changed[i] *= 1.0f + 0.05f * static_cast<float>(int(i % 7) - 3);
      gpu->set_weight(name, it->second.shape, changed);
      std::vector<float> whole(static_cast<size_t>(n * width)), staged(whole.size()), before(whole.size());
      state.assign(input.data(), whole.size(), gpu->stream());
      gpu->run_layer(layer, state.data(), n, L);
      state.download(whole.data(), whole.size(), gpu->stream());
      state.assign(input.data(), whole.size(), gpu->stream());
      gpu->run_layer(layer, state.data(), n, L, stage, &kept);
      state.download(staged.data(), staged.size(), gpu->stream());
      gpu->set_weight(name, it->second.shape, it->second.values);
      state.assign(input.data(), whole.size(), gpu->stream());
      gpu->run_layer(layer, state.data(), n, L);
      state.download(before.data(), before.size(), gpu->stream());
      gpu->synchronize();
      EXPECT_EQ(staged, whole) << c.name << " " << name;
      EXPECT_NE(whole, before) << c.name << " " << name << ": the changed weight changed nothing";
      ++compared;
    }
    EXPECT_EQ(compared, o.moe ? 6 : 7) << c.name;
  }
  // Without the layer's intermediates a start inside it is refused.
  SyntheticOptions o;
  const auto config = test::synthetic_config(o);
  auto gpu = GpuTransformer::from_weights(config, test::synthetic_weights(config, o, 5));
  gpu::DeviceBuffer<float> state(static_cast<size_t>(8 * config.n_embd));
  EXPECT_THROW(gpu->run_layer(0, state.data(), 8, 8, LayerStage::ffn_down), Error);
}

// The shipped model's perplexity over 8 chunks of 256 tokens of eval.txt, on `device`.
PerplexityRequest shipped_perplexity_request(const char *device) {
  PerplexityRequest request;
  request.model = kRoot / "models/kjv-llama";
  request.text = kRoot / "models/kjv-llama/eval.txt";
  request.n_ctx = 256;
  request.max_chunks = 8;
  request.device = device;
  return request;
}

TEST(GpuPerplexity, ShippedModelAgreesWithTheCpuWithin1e4Relative) {
  PerplexityRequest request = shipped_perplexity_request("cpu");
  const PerplexityReport cpu = run_perplexity(request);
  request.device = "cuda";
  const PerplexityReport gpu = run_perplexity(request);
  EXPECT_EQ(cpu.device, "cpu");
  EXPECT_EQ(gpu.device.rfind("cuda:0", 0), 0u) << gpu.device;
  EXPECT_EQ(gpu.result.n_scored, cpu.result.n_scored);
  const double relative = std::abs(gpu.result.ppl.value - cpu.result.ppl.value) / cpu.result.ppl.value;
  std::printf("PPL cpu %.8f gpu %.8f relative difference %.3g\n", cpu.result.ppl.value, gpu.result.ppl.value, relative);
  RecordProperty("ppl_relative_difference", std::to_string(relative));
  EXPECT_LT(relative, 1e-4);
}

// --precision tf32 switches the products to TF32: the device says so, the perplexity moves (the
// mode took effect) and stays near fp32's (docs/gpu.md records by how much).
TEST(GpuPerplexity, Tf32ProductsAreAskedForByNameAndStayNearFp32) {
  PerplexityRequest request = shipped_perplexity_request("cuda");
  const PerplexityReport fp32 = run_perplexity(request);
  request.precision = "tf32";
  const PerplexityReport tf32 = run_perplexity(request);
  EXPECT_EQ(fp32.device.find("tf32"), std::string::npos) << fp32.device;
  EXPECT_NE(tf32.device.find("tf32"), std::string::npos) << tf32.device;
  const double relative = std::abs(tf32.result.ppl.value - fp32.result.ppl.value) / fp32.result.ppl.value;
  std::printf("PPL fp32 %.8f tf32 %.8f relative difference %.3g\n", fp32.result.ppl.value, tf32.result.ppl.value,
              relative);
  RecordProperty("tf32_ppl_relative_difference", std::to_string(relative));
  EXPECT_NE(tf32.result.ppl.value, fp32.result.ppl.value);
  EXPECT_LT(relative, 1e-2);
}

TEST(GpuPerplexity, TheCliRunsOnTheGpuAndSaysSo) {
  test::ScratchDir dir;
  auto run = [&](const char *device) {
    const test::CliRun r = test::run_cli(dir, {"perplexity", (kRoot / "models/kjv-llama").string(), "--text",
                                               (kRoot / "models/kjv-llama/eval.txt").string(), "--ctx", "128",
                                               "--chunks", "4", "--device", device, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);
  };
  const auto gpu = run("cuda"), cpu = run("cpu"), automatic = run("auto");
  EXPECT_EQ(gpu["device"].get<std::string>().rfind("cuda:0", 0), 0u);
  EXPECT_EQ(automatic["device"], gpu["device"]);
  EXPECT_EQ(cpu["device"], "cpu");
  EXPECT_NEAR(gpu["ppl"].get<double>(), cpu["ppl"].get<double>(), 1e-4 * cpu["ppl"].get<double>());
}

}  // namespace
}  // namespace qs::gpu_transformer_test
