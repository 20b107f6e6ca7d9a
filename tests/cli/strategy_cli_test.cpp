// End to end: a proxy measurement of the shipped model, then `strategy` from the job and from its
// CSV (budget, knee, recipes both ways), `quantize --strategy` writing exactly the size the strategy
// predicted, and one-line errors with exit status 2 for what cannot be done.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "formats/gguf.h"

namespace qs::strategy_cli_test {
namespace {

using test::expect_one_line_error;
using test::run_quantscope;
using test::source_path;

const std::string kModel = source_path("models/kjv-llama");

class StrategyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = (scratch_ / "jobs.db").string();
    const auto r = run_quantscope("measure " + kModel + " --metric proxy --types Q8_0,Q6_K,Q4_K,Q2_K --json --db " + db_);
    ASSERT_EQ(r.status, 0) << r.err;
    job_ = std::to_string(nlohmann::json::parse(r.out)["id"].get<int64_t>());
  }
  std::string path(const std::string &name) const { return (scratch_ / name).string(); }
  std::string db_flag() const { return " --db " + db_; }

  test::ScratchDir scratch_;
  std::string db_, job_;
};

// The types of every tensor in a strategy, from its JSON.
std::map<std::string, std::string> tensor_types(const nlohmann::json &strategy) {
  std::map<std::string, std::string> types;
  for (const auto &[name, t] : strategy["tensors"].items()) types[name] = t["type"];
  return types;
}

TEST_F(StrategyCli, SizeBudgetIsTheFileQuantizeWrites) {
  const uint64_t size = 4'000'000;
  const auto r = run_quantscope("strategy " + job_ + " --size 4000000 --json -o " + path("s.yaml") + db_flag());
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  // No kld, layer_error or imatrix in a proxy job without imatrix: relative MSE decides.
  EXPECT_EQ(j["metric"]["column"], "relative_mse");
  EXPECT_EQ(j["method"], "budget");
  ASSERT_EQ(j["solves"].size(), 1u);
  EXPECT_TRUE(j["solves"][0]["proven_optimal"].get<bool>());
  EXPECT_LE(j["solves"][0]["lower_bound"].get<double>(), j["solves"][0]["error"].get<double>());
  EXPECT_GE(j["solves"][0]["greedy_error"].get<double>(), j["solves"][0]["error"].get<double>());
  const uint64_t predicted = j["strategy"]["totals"]["file_bytes"];
  EXPECT_LE(predicted, size);
  EXPECT_EQ(tensor_types(j["strategy"]).size(), 58u);  // every quantizable tensor of the shipped model

  const auto q = run_quantscope("quantize " + kModel + " --strategy " + path("s.yaml") + " -o " + path("s.gguf") + " --json");
  ASSERT_EQ(q.status, 0) << q.err;
  // Exactly the prediction when the dominant type has a llama.cpp file type (general.file_type is
  // written); one key of 33 bytes less otherwise, 32 or 64 bytes once the header is aligned.
  const uint64_t written = std::filesystem::file_size(path("s.gguf"));
  EXPECT_LE(written, predicted);
  EXPECT_GE(written + 64, predicted);
  // Each tensor of the file is in its strategy type.
  const auto file = gguf::GgufFile::open(path("s.gguf"));
  const auto types = tensor_types(j["strategy"]);
  int checked = 0;
  for (const auto &t : file.tensors()) {
    const auto it = types.find(t.name);
    if (it == types.end()) continue;
    EXPECT_EQ(it->second, quant_type(t.type).name) << t.name;
    ++checked;
  }
  EXPECT_EQ(checked, 58);
}

TEST_F(StrategyCli, AStrategyInTheSourcesOwnTypeGivesTheSameLogits) {
  // Every tensor pinned to BF16, the shipped model's own dtype: the GGUF's forward pass must give
  // exactly the safetensors' log-probs (the same perplexity and KLD), through strategy and quantize.
  ASSERT_EQ(run_quantscope("strategy " + job_ + " --target-bpw 16 --pin '.=BF16' -o " + path("bf16.yaml") + db_flag()).status, 0);
  ASSERT_EQ(run_quantscope("quantize " + kModel + " --strategy " + path("bf16.yaml") + " -o " + path("bf16.gguf")).status, 0);
  const std::string eval = source_path("models/kjv-llama/eval.txt");
  const auto base = run_quantscope("perplexity " + kModel + " --text " + eval + " --ctx 64 --chunks 4 --save-logits " +
                                   path("base.lp") + " --json");
  ASSERT_EQ(base.status, 0) << base.err;
  const auto r = run_quantscope("perplexity " + path("bf16.gguf") + " --kl-base " + path("base.lp") + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  // The saved log-probs are 16-bit, so even the model against itself shows a tiny KLD: the GGUF must
  // show exactly that floor, no more.
  const auto self = run_quantscope("perplexity " + kModel + " --kl-base " + path("base.lp") + " --json");
  ASSERT_EQ(self.status, 0) << self.err;
  EXPECT_EQ(j["kld"]["mean"]["value"].get<double>(), nlohmann::json::parse(self.out)["kld"]["mean"]["value"].get<double>());
  EXPECT_EQ(j["kld"]["same_top"]["value"].get<double>(), 1.0);
  EXPECT_EQ(j["ppl"].get<double>(), nlohmann::json::parse(base.out)["ppl"].get<double>());
}

TEST_F(StrategyCli, FromTheCsvWithTheKneeAndRecipesBothWays) {
  ASSERT_EQ(run_quantscope("jobs export " + job_ + " -o " + path("m.csv") + db_flag()).status, 0);
  expect_one_line_error(run_quantscope("strategy " + path("m.csv") + " --knee"), {"--model"});

  const auto knee = run_quantscope("strategy " + path("m.csv") + " --model " + kModel + " --knee --json -o " +
                                   path("k.json") + " --recipe llama --recipe-out " + path("recipe.txt"));
  ASSERT_EQ(knee.status, 0) << knee.err;
  const auto k = nlohmann::json::parse(knee.out);
  EXPECT_EQ(k["method"], "knee");
  for (const auto &[name, t] : k["strategy"]["tensors"].items()) EXPECT_EQ(t["reason"], "knee") << name;

  // The llama-quantize rules read back give every tensor the same type.
  const auto back = run_quantscope("strategy --import-recipe " + path("recipe.txt") + " --recipe llama --model " +
                                   kModel + " --json -o " + path("back.yaml"));
  ASSERT_EQ(back.status, 0) << back.err;
  const auto read_back = nlohmann::json::parse(back.out);  // kept alive: items() refers into it
  EXPECT_EQ(tensor_types(read_back["strategy"]), tensor_types(k["strategy"]));
  for (const auto &[name, t] : read_back["strategy"]["tensors"].items()) EXPECT_EQ(t["reason"], "manual") << name;

  // ik_llama.cpp's form: rule lines with the command in a comment.
  const auto ik = run_quantscope("strategy " + job_ + " --target-bpw 5 --recipe ik" + db_flag());
  ASSERT_EQ(ik.status, 0) << ik.err;
  EXPECT_NE(ik.out.find("--custom-q"), std::string::npos) << ik.out;
  EXPECT_NE(ik.out.find("^output\\.weight$="), std::string::npos) << ik.out;
}

TEST_F(StrategyCli, WhatCannotBeDoneIsOneLineAndExitTwo) {
  expect_one_line_error(run_quantscope("strategy " + job_ + " --size 1MB" + db_flag()),
                        {"size budget", "below the smallest mix", "bytes"});
  expect_one_line_error(run_quantscope("strategy " + job_ + " --target-bpw 4 --metric klx" + db_flag()),
                        {"--metric", "klx"});
  expect_one_line_error(run_quantscope("strategy " + job_ + " --knee --target-bpw 4" + db_flag()), {"choose one"});
  expect_one_line_error(run_quantscope("strategy " + job_ + db_flag()), {"--knee", "--target-bpw"});
  expect_one_line_error(run_quantscope("strategy 999" + db_flag() + " --knee"), {"999"});
  expect_one_line_error(run_quantscope("strategy " + job_ + " --size 4G" + db_flag()), {"--size", "GB", "GiB"});
  expect_one_line_error(run_quantscope("strategy " + job_ + " --target-bpw 4 --pin 'attn_z=Q4_K'" + db_flag()),
                        {"attn_z", "matches no"});

  // Never over an input: the CSV it reads, the model directory.
  ASSERT_EQ(run_quantscope("jobs export " + job_ + " -o " + path("m.csv") + db_flag()).status, 0);
  const auto csv_before = std::filesystem::file_size(path("m.csv"));
  expect_one_line_error(run_quantscope("strategy " + path("m.csv") + " --model " + kModel + " --knee -o " + path("m.csv")),
                        {"-o", "input"});
  EXPECT_EQ(std::filesystem::file_size(path("m.csv")), csv_before);
  expect_one_line_error(run_quantscope("strategy " + job_ + " --knee -o " + kModel + "/s.yaml" + db_flag()),
                        {"inside the input model directory"});
  EXPECT_FALSE(std::filesystem::exists(kModel + "/s.yaml"));

  // A strategy for another model, and a hand edit with a typo, are refused before anything is written.
  ASSERT_EQ(run_quantscope("strategy " + job_ + " --target-bpw 5 -o " + path("s.yaml") + db_flag()).status, 0);
  expect_one_line_error(run_quantscope("quantize " + source_path("models/tiny/llama") + " --strategy " + path("s.yaml") +
                                       " -o " + path("t.gguf")),
                        {"s.yaml", "does not match the model"});
  EXPECT_FALSE(std::filesystem::exists(path("t.gguf")));
  std::string text;
  {
    std::ifstream in(path("s.yaml"));
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  const auto at = text.find("type: ", text.find("blk.3.ffn_up.weight"));
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 6, "tpye: ");
  std::ofstream(path("bad.yaml")) << text;
  expect_one_line_error(run_quantscope("quantize " + kModel + " --strategy " + path("bad.yaml") + " -o " + path("b.gguf")),
                        {"bad.yaml:", "tpye"});
  EXPECT_FALSE(std::filesystem::exists(path("b.gguf")));
  expect_one_line_error(run_quantscope("quantize " + kModel + " --strategy " + path("s.yaml") + " --type Q4_K -o " +
                                       path("b.gguf")),
                        {"exactly one of --type"});
}

}  // namespace
}  // namespace qs::strategy_cli_test
