// The unit list of a measurement: forward-pass order, the ladder and its per-tensor filters,
// shards, and requests surviving the trip through job params.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "infer/compute_device.h"
#include "jobs/measurement_row.h"
#include "measure/measure_plan.h"
#include "test_support.h"

namespace qs::measure_plan_test {
namespace {

std::unique_ptr<ModelSource> shipped_model() {
  return ModelSource::open(std::string(QUANTSCOPE_SOURCE_DIR) + "/models/kjv-llama");
}

TEST(MeasurePlan, DefaultLadderInForwardPassOrderFromMostToFewestBits) {
  const auto model = shipped_model();
  MeasureRequest request;
  request.model = model->path().string();
  const auto units = plan_measurement_units(request, *model, nullptr);
  // 8 layers x 7 matrices + token_embd + output = 58 tensors; all rows are multiples of 256, so
  // every ladder type fits except the three that need an imatrix: 19 - 3 = 16 types each.
  EXPECT_EQ(units.size(), 58u * 16u);
  EXPECT_EQ(units.front().tensor, "token_embd.weight");
  EXPECT_EQ(units.front().type->id, GgmlType::Q8_0);
  EXPECT_EQ(units.back().tensor, "output.weight");
  EXPECT_EQ(units.back().type->id, GgmlType::IQ1_M);  // the fewest bits on the ladder without an imatrix
  int last_block = -1;
  std::set<std::string> keys;
  for (size_t i = 0; i < units.size(); ++i) {
    EXPECT_FALSE(units[i].type->needs_imatrix);
    EXPECT_EQ(units[i].key, measurement_unit_key(units[i].tensor, units[i].type->name));
    keys.insert(units[i].key);
    if (units[i].tensor.rfind("blk.", 0) == 0) {
      const int block = std::stoi(units[i].tensor.substr(4));
      EXPECT_GE(block, last_block) << units[i].tensor;
      last_block = block;
    }
    if (i > 0 && units[i].tensor == units[i - 1].tensor) {
      EXPECT_LE(units[i].type->bits_per_weight(), units[i - 1].type->bits_per_weight()) << units[i].key;
    }
  }
  EXPECT_EQ(keys.size(), units.size());
}

TEST(MeasurePlan, ImatrixTypesNeedAnEntryAndNormsAreNeverMeasured) {
  const auto model = shipped_model();
  Imatrix imatrix;
  ImatrixEntry entry;
  entry.n_cols = 256;
  entry.sums.assign(256, 1.0f);
  entry.counts = {10.0f};
  imatrix.entries["blk.0.attn_q.weight"] = entry;
  MeasureRequest request;
  request.types = {"IQ2_XXS", "Q4_K"};
  request.tensor_regex = "blk\\.0\\.(attn_q|attn_k|attn_norm)";
  const auto units = plan_measurement_units(request, *model, &imatrix);
  std::vector<std::string> keys;
  for (const auto &u : units) keys.push_back(u.key);
  // Within a layer the model's own tensor order (attn_k before attn_q in llama.cpp's table).
  EXPECT_EQ(keys, (std::vector<std::string>{measurement_unit_key("blk.0.attn_k.weight", "Q4_K"),
                                            measurement_unit_key("blk.0.attn_q.weight", "Q4_K"),
                                            measurement_unit_key("blk.0.attn_q.weight", "IQ2_XXS")}));
}

TEST(MeasurePlan, ShardsAreDisjointAndCoverTheSweep) {
  const auto model = shipped_model();
  MeasureRequest request;
  request.types = {"Q4_K", "Q8_0"};
  const auto all = plan_measurement_units(request, *model, nullptr);
  std::multiset<std::string> union_of_shards;
  for (int i = 1; i <= 3; ++i) {
    request.shard_index = i;
    request.shard_count = 3;
    std::set<std::string> tensors;
    for (const auto &u : plan_measurement_units(request, *model, nullptr)) {
      union_of_shards.insert(u.key);
      tensors.insert(u.tensor);
    }
    EXPECT_GE(tensors.size(), 19u);  // 58 tensors dealt round-robin
    EXPECT_LE(tensors.size(), 20u);
  }
  std::multiset<std::string> expected;
  for (const auto &u : all) expected.insert(u.key);
  EXPECT_EQ(union_of_shards, expected);
}

TEST(MeasurePlan, RequestSurvivesJobParamsAndBadFieldsAreNamed) {
  MeasureRequest r;
  r.model = "/models/x";
  r.types = {"Q4_K", "IQ3_S"};
  r.metric = MetricLevel::kld;
  r.text = "/data/cal.txt";
  r.imatrix = "/data/im.gguf";
  r.tensor_regex = "ffn_down";
  r.shard_index = 2;
  r.shard_count = 5;
  r.n_ctx = 256;
  r.max_chunks = 3;
  const MeasureRequest back = MeasureRequest::from_json(r.to_json());
  EXPECT_EQ(back.to_json(), r.to_json());
  EXPECT_EQ(back.metric, MetricLevel::kld);
  EXPECT_EQ(back.shard_index, 2);
  EXPECT_EQ(back.shard_count, 5);
  nlohmann::json bad = r.to_json();
  bad["ctx"] = "many";
  test::expect_error_containing([&] { MeasureRequest::from_json(bad); }, {"'ctx' has the wrong type"});
  bad = r.to_json();
  bad.erase("metric");
  test::expect_error_containing([&] { MeasureRequest::from_json(bad); }, {"missing 'metric'"});
}

TEST(MeasurePlan, RequestValidationNamesWhatIsWrong) {
  int i = 0, n = 0;
  parse_shard("3/8", i, n);
  EXPECT_EQ(i, 3);
  EXPECT_EQ(n, 8);
  for (const char *bad : {"0/4", "5/4", "2", "a/b", "1/4x", "-1/4"})
    test::expect_error_containing([&] { parse_shard(bad, i, n); }, {"--shard", bad});
  MeasureRequest r;
  r.model = "m";
  r.metric = MetricLevel::layer;
  test::expect_error_containing([&] { r.validate_and_resolve(); }, {"--metric layer", "--text"});
  r.metric = MetricLevel::proxy;
  r.tensor_regex = "blk.(";
  test::expect_error_containing([&] { r.validate_and_resolve(); }, {"--tensors", "blk.("});
  r.tensor_regex = "";
  r.types = {"F16"};
  test::expect_error_containing([&] { r.validate_and_resolve(); }, {"F16 is not a quantized type"});
  r.types = {"Q4_K"};
  r.imatrix = "/nonexistent/im.gguf";
  test::expect_error_containing([&] { r.validate_and_resolve(); }, {"/nonexistent/im.gguf: no such file"});
}

// The layer and kld levels run where --device says (auto: the GPU when there is one); the proxy
// level is the CPU's whatever was asked. The job's params keep the device only when it is cuda.
TEST(MeasurePlan, TheLayerAndKldLevelsTakeTheDeviceAndTheProxyLevelIsTheCpus) {
  const std::string gpu = cuda_device_count() > 0 && built_with_cuda() ? "cuda" : "cpu";
  for (const MetricLevel level : {MetricLevel::proxy, MetricLevel::layer, MetricLevel::kld}) {
    MeasureRequest r;
    r.model = "m";
    r.metric = level;
    r.text = std::string(QUANTSCOPE_SOURCE_DIR) + "/models/kjv-llama/calibration.txt";
    r.device = "auto";
    r.validate_and_resolve();
    EXPECT_EQ(r.device, level == MetricLevel::proxy ? "cpu" : gpu) << metric_level_name(level);
    EXPECT_EQ(r.to_json().contains("device"), r.device == "cuda");
    r.device = "gpu";
    test::expect_error_containing([&] { r.validate_and_resolve(); }, {"gpu"});
    if (gpu == "cpu" && level != MetricLevel::proxy) {
      r.device = "cuda";  // asked for by name and not there: refused, never quietly the CPU
      EXPECT_THROW(r.validate_and_resolve(), Error) << metric_level_name(level);
    }
  }
}

// --precision tf32 is kept in the job's params (so a resumed job keeps it); fp32, the default, is
// not written, so jobs made before the option read as fp32.
// TF32 needs the GPU and a level that runs the model there.
TEST(MeasurePlan, Tf32IsStoredInTheParamsAndNeedsTheGpusLevels) {
  MeasureRequest r;
  r.model = "m";
  r.metric = MetricLevel::kld;
  r.text = std::string(QUANTSCOPE_SOURCE_DIR) + "/models/kjv-llama/calibration.txt";
  r.device = "cpu";
  r.validate_and_resolve();
  EXPECT_EQ(r.precision, "fp32");
  EXPECT_FALSE(r.to_json().contains("precision"));
  EXPECT_EQ(MeasureRequest::from_json(r.to_json()).precision, "fp32");
  r.precision = "tf32";
  test::expect_error_containing([&] { r.validate_and_resolve(); }, {"--precision tf32", "--device cuda"});
  r.precision = "fp16";
  test::expect_error_containing([&] { r.validate_and_resolve(); }, {"'fp16' is not one of fp32, tf32"});
  r.metric = MetricLevel::proxy;
  r.precision = "tf32";
  test::expect_error_containing([&] { r.validate_and_resolve(); }, {"--precision tf32", "proxy"});
  r.precision = "fp16";  // a word that is no precision is named as such, whatever the level
  test::expect_error_containing([&] { r.validate_and_resolve(); }, {"'fp16' is not one of fp32, tf32"});
  MeasureRequest stored;
  stored.model = "m";
  stored.precision = "tf32";
  EXPECT_EQ(stored.to_json().at("precision"), "tf32");
  EXPECT_EQ(MeasureRequest::from_json(stored.to_json()).precision, "tf32");
  if (built_with_cuda() && cuda_device_count() > 0) {
    MeasureRequest on_gpu = r;
    on_gpu.metric = MetricLevel::layer;
    on_gpu.device = "cuda";
    on_gpu.validate_and_resolve();
    EXPECT_EQ(on_gpu.to_json().at("precision"), "tf32");
  }
}

TEST(MeasurePlan, ProbesGetKldAndTheOtherTypesStopAtLayer) {
  const auto model = shipped_model();
  MeasureRequest request;
  request.metric = MetricLevel::kld;
  request.text = "t";
  request.types = {"Q6_K", "Q4_K", "Q2_K"};
  request.probes = {"q2_k"};  // names are case-insensitive, as everywhere
  request.tensor_regex = "^output";
  const auto units = plan_measurement_units(request, *model, nullptr);
  ASSERT_EQ(units.size(), 3u);
  EXPECT_EQ(units[0].level, MetricLevel::layer);
  EXPECT_EQ(units[1].level, MetricLevel::layer);
  EXPECT_EQ(units[2].type->id, GgmlType::Q2_K);
  EXPECT_EQ(units[2].level, MetricLevel::kld);
  EXPECT_EQ(MeasureRequest::from_json(request.to_json()).probes, request.probes);
  request.probes = {"IQ4_XS"};
  test::expect_error_containing([&] { request.validate_and_resolve(); }, {"--probes: IQ4_XS is not one of --types"});
  request.metric = MetricLevel::layer;
  test::expect_error_containing([&] { request.validate_and_resolve(); }, {"--probes only applies to --metric kld"});
}

TEST(MeasurePlan, ExpertTensorsAreMeasuredAndRoutersAreNot) {
  const auto model = ModelSource::open(std::string(QUANTSCOPE_SOURCE_DIR) + "/models/tiny/qwen3_moe");
  MeasureRequest request;
  request.types = {"Q8_0"};
  std::set<std::string> tensors;
  for (const auto &u : plan_measurement_units(request, *model, nullptr)) tensors.insert(u.tensor);
  EXPECT_TRUE(tensors.count("blk.0.ffn_down_exps.weight"));
  EXPECT_FALSE(tensors.count("blk.0.ffn_gate_inp.weight"));
}

}  // namespace
}  // namespace qs::measure_plan_test
