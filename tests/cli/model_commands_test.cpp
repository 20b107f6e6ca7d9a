// End to end: the real binary's types, inspect, quantize and quant-stats on the shipped models,
// and one-line errors with exit status 2 on bad input.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"

namespace qs::model_commands_test {
namespace {

using test::run_quantscope;
using test::source_path;

int count_lines(const std::string &s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

TEST(CliTypes, ListsEveryTypeAsJson) {
  const auto r = run_quantscope("types --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto types = nlohmann::json::parse(r.out);
  ASSERT_EQ(types.size(), 25u);
  bool found_q4k = false;
  for (const auto &t : types) {
    if (t["name"] == "Q4_K") {
      found_q4k = true;
      EXPECT_EQ(t["id"], 12);
      EXPECT_EQ(t["block_bytes"], 144);
      EXPECT_DOUBLE_EQ(t["bpw"].get<double>(), 4.5);
    }
  }
  EXPECT_TRUE(found_q4k);
  const auto table = run_quantscope("types");
  EXPECT_EQ(table.status, 0);
  EXPECT_EQ(count_lines(table.out), 26);  // header + 25 rows
}

TEST(CliInspect, ShowsTheShippedModel) {
  const auto r = run_quantscope("inspect " + source_path("models/kjv-llama") + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["format"], "safetensors");
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["config"]["num_hidden_layers"], 8);
  EXPECT_EQ(j["config"]["vocab_size"], 3840);
  EXPECT_EQ(j["params"], 8261888);
  ASSERT_EQ(j["tensors"].size(), 75u);
  const auto &q = *std::find_if(j["tensors"].begin(), j["tensors"].end(), [](auto &t) { return t["name"] == "blk.0.attn_q.weight"; });
  EXPECT_EQ(q["hf_names"][0], "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(q["shape"], (std::vector<int>{256, 256}));
  EXPECT_EQ(q["dtype"], "BF16");
  EXPECT_EQ(q["bytes"], 131072);
  EXPECT_EQ(q["allowed_types"].size(), 25u);
  const auto &norm = *std::find_if(j["tensors"].begin(), j["tensors"].end(), [](auto &t) { return t["name"] == "output_norm.weight"; });
  EXPECT_EQ(norm["allowed_types"], (std::vector<std::string>{"F32", "F16", "BF16"}));
  const auto text = run_quantscope("inspect " + source_path("models/kjv-llama"));
  EXPECT_NE(text.out.find("blk.7.ffn_down.weight"), std::string::npos);
  EXPECT_NE(text.out.find("LlamaForCausalLM"), std::string::npos);
}

TEST(CliQuantize, F16GgufInspectsLikeItsSource) {
  test::ScratchDir dir;
  const std::string out = (dir.path() / "m.gguf").string();
  const auto q = run_quantscope("quantize " + source_path("models/kjv-llama") + " --type F16 -o " + out + " --json");
  ASSERT_EQ(q.status, 0) << q.err;
  const auto report = nlohmann::json::parse(q.out);
  EXPECT_EQ(report["params"], 8261888);
  // 2-D weights in F16 (2 bytes), the 17 norms of 256 values in F32 (4 bytes).
  EXPECT_EQ(report["bytes"], (8261888 - 17 * 256) * 2 + 17 * 256 * 4);
  const auto r = run_quantscope("inspect " + out + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["format"], "gguf");
  EXPECT_EQ(j["tensors"].size(), 75u);
  EXPECT_EQ(j["config"]["num_key_value_heads"], 2);
}

TEST(CliQuantize, ReportsFallbacksForRowsThatDoNotFit) {
  // The tiny models have 64-wide rows: Q4_K (256-blocks) falls back to Q5_0 as in llama.cpp.
  test::ScratchDir dir;
  const std::string out = (dir.path() / "m.gguf").string();
  const auto q = run_quantscope("quantize " + source_path("models/tiny/qwen2") + " --type Q4_K -o " + out + " --json");
  ASSERT_EQ(q.status, 0) << q.err;
  const auto report = nlohmann::json::parse(q.out);
  ASSERT_FALSE(report["fallbacks"].empty());
  EXPECT_EQ(report["fallbacks"][0]["requested"], "Q4_K");
  EXPECT_EQ(report["fallbacks"][0]["used"], "Q5_0");
}

TEST(CliQuantStats, ErrorsFallWithBitsAndTotalsCoverEveryTensor) {
  const auto r = run_quantscope("quant-stats " + source_path("models/kjv-llama") + " --type Q8_0,Q4_K,Q2_K --tensors 'blk\\.[01]\\.' --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  // Two blocks of 7 matrices each, three types.
  ASSERT_EQ(j["tensors"].size(), 2u * 7u * 3u);
  ASSERT_EQ(j["totals"].size(), 3u);
  std::map<std::string, double> total;
  int64_t values_per_type = 0;
  for (const auto &t : j["totals"]) total[t["type"]] = t["relative_mse"];
  for (const auto &t : j["tensors"]) {
    if (t["type"] == "Q8_0") values_per_type += t["n_values"].get<int64_t>();
    EXPECT_LE(t["rmse"].get<double>(), t["max_abs_error"].get<double>()) << t["tensor"];
    EXPECT_FALSE(t.contains("weighted_relative_mse"));  // no imatrix given
  }
  // attn q/output 256x256, k/v 128x256, gate/up/down 768x256, in 2 layers.
  EXPECT_EQ(values_per_type, 2 * (2 * 65536 + 2 * 32768 + 3 * 196608));
  EXPECT_LT(total["Q8_0"], total["Q4_K"]);
  EXPECT_LT(total["Q4_K"], total["Q2_K"]);
  const auto bad = run_quantscope("quant-stats " + source_path("models/kjv-llama") + " --type IQ1_S");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("imatrix"), std::string::npos);
}

TEST(CliErrors, BadInputIsOneLineAndStatusTwo) {
  test::ScratchDir dir;
  const auto truncated = dir.write("t.gguf", {'G', 'G', 'U', 'F', 3, 0, 0, 0, 1});
  const std::vector<std::string> commands = {
      "inspect /nonexistent/model",
      "inspect " + truncated.string(),
      "quantize " + source_path("models/kjv-llama") + " --type Q9_X -o " + (dir.path() / "x.gguf").string(),
      "quantize " + source_path("models/kjv-llama") + " --type IQ2_XXS -o " + (dir.path() / "x.gguf").string(),
      "types --bogus-flag",
  };
  for (const auto &command : commands) {
    const auto r = run_quantscope(command);
    EXPECT_EQ(r.status, 2) << command << "\n" << r.err;
    EXPECT_FALSE(r.err.empty()) << command;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "x.gguf"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "x.gguf.tmp"));
  const auto r = run_quantscope("inspect " + truncated.string());
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("t.gguf"), std::string::npos);
}

TEST(CliHelp, EveryCommandExplainsItself) {
  for (const char *command : {"", "types", "inspect", "quantize", "quant-stats", "perplexity", "imatrix", "jobs",
                              "measure", "predict", "strategy", "compare", "auto"}) {
    const auto r = run_quantscope(std::string(command) + " --help");
    EXPECT_EQ(r.status, 0) << command;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << command << ": " << r.out;
  }
}

}  // namespace
}  // namespace qs::model_commands_test
