// The measure job on the GPU keeps what the CPU's keeps (issue 14, deliverable 2): killed at any
// moment and started again, paused from another process and resumed by `jobs resume` (which runs it
// on the device stored in its params), or cut into shards merged by `jobs import`, it gives the
// rows of one uninterrupted run, bit for bit. The sweep holds a type the GPU quantizes itself
// (IQ4_NL) beside ones the CPU quantizes ahead (Q4_K, Q2_K), so both paths are cut into.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli_process.h"
#include "cli/job_commands.h"
#include "jobs/job_test_support.h"
#include "jobs/measurements_csv.h"
#include "test_support.h"

namespace qs::gpu_measure_job_test {
namespace {

using test::CliRun;

const std::string kModel = std::string(QUANTSCOPE_SOURCE_DIR) + "/models/kjv-llama";
const std::string kText = kModel + "/calibration.txt";

// Every tensor of the shipped model (58) in three types: 174 units, a few seconds on the GPU.
const std::vector<std::string> kSweep = {"--metric", "kld", "--text",  kText,    "--ctx",    "256", "--chunks",
                                         "4",        "--types", "Q4_K,IQ4_NL,Q2_K", "--device", "cuda"};
constexpr int64_t kUnits = 58 * 3;

class GpuMeasureJob : public ::testing::Test {
 protected:
  test::ScratchDir dir;

  std::string db(const std::string &name) const { return (dir / (name + ".db")).string(); }

  CliRun quantscope(std::vector<std::string> args) { return test::run_cli(dir, std::move(args)); }

  std::vector<std::string> measure_args(const std::string &database, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{"measure", kModel, "--db", database};
    args.insert(args.end(), kSweep.begin(), kSweep.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  std::string export_csv(const std::string &database, const std::string &name) {
    return test::export_job_csv(dir, database, 1, name);
  }

  nlohmann::json list_json(const std::string &database) { return test::list_jobs_json(dir, database); }

  int64_t units_done(const std::string &database) {
    const nlohmann::json jobs = list_json(database);
    return jobs.empty() ? 0 : jobs[0]["units_done"].get<int64_t>();
  }

  // One uninterrupted run's rows, as `jobs export` writes them.
  std::string uninterrupted_rows() {
    const CliRun whole = quantscope(measure_args(db("whole")));
    EXPECT_EQ(whole.exit_code, 0) << whole.err;
    return export_csv(db("whole"), "whole.csv");
  }
};

TEST_F(GpuMeasureJob, KilledAtRandomMomentsThenStartedAgainEqualsAnUninterruptedRun) {
  const std::string expected = uninterrupted_rows();
  // Kills placed by progress, as the CPU's test places them: round k waits for a random number of
  // committed units, rising from round to round, then lets the run go on for a few milliseconds.
  std::mt19937 random(14);
  int killed_mid_run = 0;
  std::vector<int64_t> progress;
  for (int round = 1; round <= 5; ++round) {
    const pid_t pid = test::spawn_cli(dir, measure_args(db("killed")), "killed");
    const int64_t target = 25 * round + std::uniform_int_distribution<int64_t>(0, 10)(random);
    ASSERT_TRUE(test::wait_until([&] { return units_done(db("killed")) >= target; }))
        << "round " << round << " never reached " << target << " units";
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 30)(random)));
    kill(pid, SIGKILL);
    const CliRun run = test::finish_cli(dir, pid, "killed");
    killed_mid_run += run.exit_code == 128 + SIGKILL;
    ASSERT_EQ(list_json(db("killed")).size(), 1u) << "starting again continues the job instead of creating another";
    progress.push_back(units_done(db("killed")));
  }
  EXPECT_GE(killed_mid_run, 3);
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end())) << "a committed unit was lost";
  const CliRun last = quantscope(measure_args(db("killed")));
  ASSERT_EQ(last.exit_code, 0) << last.err;
  EXPECT_NE(last.out.find("job 1: continuing"), std::string::npos) << last.out;
  EXPECT_EQ(export_csv(db("killed"), "killed.csv"), expected);  // row for row, bit for bit
  EXPECT_EQ(units_done(db("killed")), kUnits);
}

TEST_F(GpuMeasureJob, PausedFromAnotherProcessThenJobsResumeFinishesItOnTheGpu) {
  const std::string expected = uninterrupted_rows();
  const pid_t pid = test::spawn_cli(dir, measure_args(db("paused")), "paused");
  ASSERT_TRUE(test::wait_until([&] { return units_done(db("paused")) >= 20; }));
  const CliRun paused = quantscope({"jobs", "pause", "1", "--db", db("paused")});
  EXPECT_EQ(paused.exit_code, 0) << paused.err;
  const CliRun run = test::finish_cli(dir, pid, "paused");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json job = list_json(db("paused"))[0];
  EXPECT_EQ(job["state"], "paused");
  EXPECT_LT(job["units_done"].get<int64_t>(), kUnits);

  const CliRun resumed = quantscope({"jobs", "resume", "1", "--db", db("paused")});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("cuda"), std::string::npos) << "resumed on the device it started on: " << resumed.err;
  EXPECT_EQ(list_json(db("paused"))[0]["state"], "done");
  EXPECT_EQ(export_csv(db("paused"), "paused.csv"), expected);
}

TEST_F(GpuMeasureJob, ShardsImportedIntoOneJobEqualTheWholeSweep) {
  uninterrupted_rows();
  auto whole = read_measurements_csv(dir / "whole.csv");
  std::vector<std::string> import{"jobs", "import"};
  for (int i = 1; i <= 2; ++i) {
    const std::string shard = "shard" + std::to_string(i);
    const CliRun measured = quantscope(measure_args(db(shard), {"--shard", std::to_string(i) + "/2"}));
    ASSERT_EQ(measured.exit_code, 0) << measured.err;
    export_csv(db(shard), shard + ".csv");
    import.push_back((dir / (shard + ".csv")).string());
  }
  import.insert(import.end(), {"--db", db("merged")});
  const CliRun imported = quantscope(import);
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  export_csv(db("merged"), "merged.csv");
  auto merged = read_measurements_csv(dir / "merged.csv");
  auto key = [](const SourcedRow &r) { return r.row.tensor + ":" + r.row.type; };
  auto by_key = [&](const SourcedRow &a, const SourcedRow &b) { return key(a) < key(b); };
  std::sort(whole.begin(), whole.end(), by_key);
  std::sort(merged.begin(), merged.end(), by_key);
  ASSERT_EQ(merged.size(), static_cast<size_t>(kUnits));
  ASSERT_EQ(merged.size(), whole.size());
  for (size_t i = 0; i < merged.size(); ++i) EXPECT_EQ(merged[i].row, whole[i].row) << key(merged[i]);
}

}  // namespace
}  // namespace qs::gpu_measure_job_test
