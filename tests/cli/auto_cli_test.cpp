// End to end: `auto` on the shipped model (small settings) runs its five stages as one job and ends
// with a strategy, its GGUF, the comparison and the report; killed with SIGKILL inside its
// measurement and started again, it finishes with the same strategy and the same numbers.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli_process.h"

namespace qs::auto_cli_test {
namespace {

using test::CliRun;

const std::string kModel = std::string(QUANTSCOPE_SOURCE_DIR) + "/models/kjv-llama";

class AutoCli : public ::testing::Test {
 protected:
  test::ScratchDir dir;

  std::vector<std::string> auto_args(const std::string &name) const {
    return {"auto", kModel, "--text", kModel + "/calibration.txt", "--eval", kModel + "/eval.txt",
            "--target-bpw", "5", "--presets", "Q4_K_M", "--probes", "Q4_K", "--ctx", "128", "--chunks", "2",
            "--imatrix-chunks", "4", "--eval-chunks", "2", "-o", (dir / name).string(),
            "--db", (dir / (name + ".db")).string(), "--json"};
  }
  nlohmann::json jobs(const std::string &name) {
    const CliRun listed = test::run_cli(dir, {"jobs", "list", "--json", "--db", (dir / (name + ".db")).string()});
    return listed.exit_code == 0 ? nlohmann::json::parse(listed.out) : nlohmann::json::array();
  }
};

// Every number of the comparison, without the paths (the two runs write to different folders).
std::vector<double> numbers(const nlohmann::json &compare) {
  std::vector<double> out{compare["base_ppl"]["value"].get<double>()};
  for (const auto &row : compare["rows"])
    for (const char *key : {"file_bytes", "bpw"}) out.push_back(row[key].get<double>());
  for (const auto &row : compare["rows"]) {
    out.push_back(row["ppl"]["value"].get<double>());
    out.push_back(row["kld"]["value"].get<double>());
    out.push_back(row["same_top"]["value"].get<double>());
  }
  return out;
}

TEST_F(AutoCli, RunsEveryStageAndResumesAfterAKillWithTheSameResult) {
  const CliRun whole = test::run_cli(dir, auto_args("whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const auto j = nlohmann::json::parse(whole.out);
  EXPECT_EQ(j["state"], "done");
  const auto &rows = j["compare"]["rows"];
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["name"], "Q4_K_M");
  EXPECT_EQ(rows[1]["name"], "strategy");
  EXPECT_EQ(rows[1]["kind"], "strategy");
  EXPECT_EQ(rows[1]["predicted_metric"], "kld");
  EXPECT_EQ(rows[1]["file_bytes"].get<uint64_t>(), std::filesystem::file_size(j["gguf"].get<std::string>()));
  for (const char *file : {"strategy", "gguf", "report"}) EXPECT_TRUE(std::filesystem::exists(j[file].get<std::string>()));
  EXPECT_TRUE(std::filesystem::exists(dir / "whole" / "strategy.llama-recipe.txt"));
  const std::string strategy = test::slurp(j["strategy"].get<std::string>());
  EXPECT_NE(strategy.find("method: budget"), std::string::npos);
  EXPECT_NE(strategy.find("target_bpw: 5"), std::string::npos);
  // The auto job did its five stages; the measure job it ran is done beside it.
  const auto listed = jobs("whole");
  ASSERT_EQ(listed.size(), 2u);
  for (const auto &job : listed) {
    EXPECT_EQ(job["state"], "done") << job;
    if (job["kind"] == "auto") {
      EXPECT_EQ(job["units_done"], 5);
    }
  }

  // Killed once the measurement has committed a few units, then started again.
  const pid_t pid = test::spawn_cli(dir, auto_args("killed"), "killed");
  const auto deadline_free_wait = [&] {
    for (;;) {
      for (const auto &job : jobs("killed"))
        if (job["kind"] == "measure" && job["units_done"].get<int64_t>() >= 5) return true;
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) return false;  // finished before we could kill it
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  const bool caught = deadline_free_wait();
  kill(pid, SIGKILL);
  test::finish_cli(dir, pid, "killed");
  EXPECT_TRUE(caught) << "the run ended before its measurement committed 5 units";
  const CliRun resumed = test::run_cli(dir, auto_args("killed"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto r = nlohmann::json::parse(resumed.out);
  EXPECT_EQ(r["state"], "done");
  EXPECT_EQ(r["id"], 1);  // the same auto job, continued
  EXPECT_EQ(numbers(r["compare"]), numbers(j["compare"]));
  // The strategies differ only in the paths they name.
  std::string a = strategy, b = test::slurp(r["strategy"].get<std::string>());
  const auto strip_paths = [](std::string s, const std::string &name) {
    for (size_t at; (at = s.find("/" + name + "/")) != std::string::npos;) s.erase(at, name.size() + 2);
    for (size_t at; (at = s.find("/" + name + ".db")) != std::string::npos;) s.erase(at, name.size() + 4);
    return s;
  };
  EXPECT_EQ(strip_paths(a, "whole"), strip_paths(b, "killed"));
}

TEST_F(AutoCli, BadRequestsFailBeforeAnyJob) {
  auto args = auto_args("bad");
  args[6] = "--size";  // both budgets
  args.insert(args.begin() + 8, {"--target-bpw", "4"});
  const CliRun both = test::run_cli(dir, args);
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("exactly one budget"), std::string::npos) << both.err;
  auto same_text = auto_args("bad");
  same_text[5] = kModel + "/calibration.txt";
  const CliRun flattering = test::run_cli(dir, same_text);
  EXPECT_EQ(flattering.exit_code, 2);
  EXPECT_NE(flattering.err.find("--eval"), std::string::npos) << flattering.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "bad"));
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.db")) << "a job database was made for a request that cannot run";
}

}  // namespace
}  // namespace qs::auto_cli_test
