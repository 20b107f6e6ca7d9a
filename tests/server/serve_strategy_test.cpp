// The strategy routes of `quantscope serve` end to end: a proxy measurement of every tensor of the
// shipped model through the API, then its candidates and Pareto curve, a strategy for a budget
// equal to what `quantscope strategy --json` decides from the same job, a hand edit re-totalled,
// the file saved (never over an input, never outside the roots) and read back, and its recipe.
#include <gtest/gtest.h>

#include <filesystem>

#include "server/server_process.h"

namespace qs::serve_strategy_test {
namespace {

namespace fs = std::filesystem;
using test::body_json;
using test::ServerProcess;

class ServerStrategy : public ::testing::Test {
 protected:
  test::ScratchDir dir;
  std::string db = (dir / "jobs.db").string();
  fs::path out = dir / "out";

  void SetUp() override { fs::create_directories(out); }

  // Every quantizable tensor in Q8_0 and Q4_0, relative MSE: the strategy's input in well under a second.
  int64_t measured_job(ServerProcess &server) {
    const auto created = server.post("/api/jobs", {{"kind", "measure"},
                                                   {"params", {{"model", test::kShippedModel}, {"types", {"Q8_0", "Q4_0"}}}}});
    EXPECT_EQ(created->status, 201) << created->body;
    const int64_t id = body_json(created)["id"];
    const auto job = test::wait_for_job(server, id, [](const nlohmann::json &j) { return j["state"] == "done"; });
    EXPECT_EQ(job["state"], "done") << job.dump();
    return id;
  }
};

TEST_F(ServerStrategy, CandidatesParetoStrategySaveReadAndRecipe) {
  ServerProcess server(dir, {"--db", db, "--root", test::kShippedModel, "--root", out.string()});
  ASSERT_TRUE(server.started()) << server.printed();
  const int64_t id = measured_job(server);
  const std::string job = "/api/jobs/" + std::to_string(id);

  const auto candidates = body_json(server.get(job + "/candidates?metric=relative_mse"));
  ASSERT_EQ(candidates["metric"], "relative_mse") << candidates.dump();
  ASSERT_EQ(candidates["tensors"].size(), 58u);  // 8 layers x 7 matrices + token_embd + output
  const auto &first = candidates["tensors"][0];
  EXPECT_EQ(first["name"], "token_embd.weight");
  EXPECT_EQ(first["layer"], -1);
  EXPECT_EQ(first["kind"], "token_embd");
  ASSERT_EQ(first["points"].size(), 2u);
  EXPECT_EQ(first["points"][0]["type"], "Q8_0");  // most bits first
  EXPECT_GT(first["points"][1]["error"].get<double>(), first["points"][0]["error"].get<double>());
  const auto &second = candidates["tensors"][1];  // "blk.0.<kind>.weight"
  const std::string name = second["name"];
  ASSERT_EQ(name.rfind("blk.0.", 0), 0u) << name;
  EXPECT_EQ(second["kind"], name.substr(6, name.size() - 6 - 7));
  EXPECT_EQ(second["layer"], 0);
  EXPECT_TRUE(first["knee_type"].is_string());

  const auto pareto = body_json(server.get(job + "/pareto?metric=relative_mse"));
  ASSERT_GT(pareto["points"].size(), 2u) << pareto.dump();
  const auto &points = pareto["points"];
  for (size_t i = 1; i < points.size(); ++i) {
    EXPECT_GT(points[i]["bytes"].get<uint64_t>(), points[i - 1]["bytes"].get<uint64_t>());
    EXPECT_LT(points[i]["error"].get<double>(), points[i - 1]["error"].get<double>());
  }

  const auto made = server.post("/api/strategy", {{"job", id}, {"metric", "relative_mse"}, {"budget", {{"target_bpw", 6}}},
                                                  {"pins", {{"output.weight", "Q8_0"}}}});
  ASSERT_EQ(made->status, 200) << made->body;
  const auto decided = body_json(made);
  const test::CliRun cli = test::run_cli(dir, {"strategy", std::to_string(id), "--metric", "relative_mse", "--target-bpw",
                                               "6", "--pin", "^output\\.weight$=Q8_0", "--json", "--db", db});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const auto cli_json = nlohmann::json::parse(cli.out);
  EXPECT_EQ(decided["strategy"]["tensors"], cli_json["strategy"]["tensors"]);
  EXPECT_EQ(decided["strategy"]["totals"], cli_json["strategy"]["totals"]);
  EXPECT_EQ(decided["summary"]["solves"], cli_json["solves"]);
  EXPECT_EQ(decided["strategy"]["tensors"]["output.weight"]["type"], "Q8_0");
  EXPECT_LE(decided["strategy"]["totals"]["bpw"].get<double>(), 6.0);

  // A hand edit: every tensor Q8_0 makes 8.5 bits per weight.
  nlohmann::json edited = decided["strategy"];
  for (auto &[name, tensor] : edited["tensors"].items()) tensor["type"] = "Q8_0";
  const auto totals = body_json(server.post("/api/strategy/totals", {{"strategy", edited}}));
  EXPECT_DOUBLE_EQ(totals["totals"]["bpw"].get<double>(), 8.5) << totals.dump();
  nlohmann::json bad = edited;
  bad["tensors"]["output.weight"]["type"] = "Q9_X";
  EXPECT_EQ(server.post("/api/strategy/totals", {{"strategy", bad}})->status, 400);

  const std::string path = (out / "s.yaml").string();
  const auto saved = server.post("/api/strategy/save", {{"strategy", edited}, {"path", path}});
  ASSERT_EQ(saved->status, 200) << saved->body;
  EXPECT_EQ(body_json(saved)["path"], fs::weakly_canonical(path).string());
  const auto read = body_json(server.get("/api/strategy?path=" + path));
  EXPECT_EQ(read["tensors"], totals["tensors"]);
  // Never over an input (the model directory), never outside the roots.
  const auto over_model = server.post("/api/strategy/save", {{"strategy", edited}, {"path", test::kShippedModel + "/s.yaml"}});
  EXPECT_EQ(over_model->status, 403) << over_model->body;
  EXPECT_EQ(body_json(over_model)["error"]["field"], "path");
  EXPECT_EQ(server.post("/api/strategy/save", {{"strategy", edited}, {"path", (dir / "s.yaml").string()}})->status, 403);
  EXPECT_FALSE(fs::exists(dir / "s.yaml"));

  const auto recipe = body_json(server.post("/api/strategy/recipe", {{"strategy", edited}, {"tool", "llama"}}));
  EXPECT_NE(recipe["text"].get<std::string>().find("llama-quantize"), std::string::npos) << recipe.dump();
  EXPECT_NE(recipe["text"].get<std::string>().find("=q8_0"), std::string::npos) << recipe.dump();
  EXPECT_EQ(server.post("/api/strategy/recipe", {{"strategy", edited}, {"tool", "vim"}})->status, 400);
}

}  // namespace
}  // namespace qs::serve_strategy_test
