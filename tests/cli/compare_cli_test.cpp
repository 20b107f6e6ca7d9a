// End to end: `compare` builds presets and a strategy of the shipped model, and each row's numbers
// are those `perplexity --kl-base` gives for the same file; the report is written; what cannot be
// compared fails before anything is built.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"

namespace qs::compare_cli_test {
namespace {

using test::expect_one_line_error;
using test::run_quantscope;
using test::source_path;

const std::string kModel = source_path("models/kjv-llama");
const std::string kEval = source_path("models/kjv-llama/eval.txt");

TEST(CompareCli, RowsAreWhatPerplexityMeasuresOnTheBuiltFiles) {
  test::ScratchDir scratch;
  const std::string db = (scratch / "jobs.db").string();
  const auto m = run_quantscope("measure " + kModel + " --metric proxy --types Q8_0,Q4_K,Q2_K --json --db " + db);
  ASSERT_EQ(m.status, 0) << m.err;
  const std::string job = std::to_string(nlohmann::json::parse(m.out)["id"].get<int64_t>());
  const std::string strategy = (scratch / "s5.yaml").string();
  ASSERT_EQ(run_quantscope("strategy " + job + " --target-bpw 5 -o " + strategy + " --db " + db).status, 0);

  const std::string out = (scratch / "cmp").string(), report = (scratch / "r.html").string();
  const auto r = run_quantscope("compare " + kModel + " --text " + kEval + " --presets Q8_0,Q4_K_S --strategy " +
                                strategy + " --out-dir " + out + " --report " + report + " --chunks 2 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["rows"].size(), 3u);
  EXPECT_EQ(j["rows"][0]["name"], "Q8_0");
  EXPECT_EQ(j["rows"][1]["name"], "Q4_K_S");
  EXPECT_EQ(j["rows"][2]["name"], "s5");
  EXPECT_EQ(j["rows"][2]["kind"], "strategy");
  EXPECT_EQ(j["rows"][2]["predicted_metric"], "relative_mse");
  for (const auto &row : j["rows"]) {
    const std::string gguf = row["gguf"];
    EXPECT_EQ(row["file_bytes"].get<uint64_t>(), std::filesystem::file_size(gguf)) << row;
    EXPECT_NEAR(row["bpw"].get<double>(),
                8.0 * row["tensor_bytes"].get<double>() / row["params"].get<double>(), 1e-12);
    // The same file through `perplexity --kl-base` against the saved reference: the same numbers.
    const auto p = run_quantscope("perplexity " + gguf + " --kl-base " + out + "/base.logprobs --json");
    ASSERT_EQ(p.status, 0) << p.err;
    const auto pj = nlohmann::json::parse(p.out);
    EXPECT_DOUBLE_EQ(row["kld"]["value"].get<double>(), pj["kld"]["mean"]["value"].get<double>()) << row;
    EXPECT_DOUBLE_EQ(row["ppl"]["value"].get<double>(), pj["ppl"].get<double>()) << row;
  }
  // 8.5 bits lose less than 4.5.
  EXPECT_LT(j["rows"][0]["kld"]["value"].get<double>(), j["rows"][1]["kld"]["value"].get<double>());
  EXPECT_GT(j["rows"][0]["file_bytes"].get<uint64_t>(), j["rows"][1]["file_bytes"].get<uint64_t>());
  ASSERT_TRUE(std::filesystem::exists(report));
  EXPECT_EQ(j["report"], report);
}

TEST(CompareCli, WhatCannotBeComparedFailsBeforeAnyBuild) {
  test::ScratchDir scratch;
  const std::string out = (scratch / "cmp").string();
  expect_one_line_error(run_quantscope("compare " + kModel + " --text " + kEval + " --presets Q4_K_X --out-dir " + out),
                        {"--presets", "Q4_K_X"});
  expect_one_line_error(run_quantscope("compare " + kModel + " --text " + kEval + " --presets IQ2_XXS --out-dir " + out),
                        {"IQ2_XXS", "--imatrix"});
  expect_one_line_error(run_quantscope("compare " + kModel + " --text " + kEval + " --presets Q8_0 --out-dir " + kModel + "/cmp"),
                        {"--out-dir", "inside the input model directory"});
  expect_one_line_error(run_quantscope("compare " + kModel + " --text " + kEval + " --out-dir " + out), {"nothing to compare"});
  expect_one_line_error(run_quantscope("compare " + kModel + " --text " + kEval + " --presets Q8_0 --report " + kEval +
                                       " --out-dir " + out),
                        {"--report", "is an input"});
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_FALSE(std::filesystem::exists(kModel + "/cmp"));
}

}  // namespace
}  // namespace qs::compare_cli_test
