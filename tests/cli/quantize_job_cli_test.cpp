// End to end: `quantize` is a job of one unit per tensor. Killed with SIGKILL, paused or
// stopped with its partial file deleted, it never leaves a file under the final name, and
// running it again finishes the same job with a file byte for byte the one an uninterrupted run
// writes.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli_process.h"
#include "jobs/job_store.h"

namespace qs::quantize_job_cli_test {
namespace {

using test::CliRun;

const std::string kModel = std::string(QUANTSCOPE_SOURCE_DIR) + "/models/kjv-llama";
constexpr int64_t kUnits = 76;  // the shipped model's 75 tensors + moving the file into place

class QuantizeJobCli : public ::testing::Test {
 protected:
  test::ScratchDir dir;
  std::string db() const { return (dir / "jobs.db").string(); }

  // IQ3_XXS on one thread: slow enough (about 20 ms a tensor) to stop in the middle.
  std::vector<std::string> args(const std::string &output) const {
    return {"quantize", kModel, "--type", "IQ3_XXS", "--threads", "1", "-o", (dir / output).string(),
            "--db", db(), "--json"};
  }
  // Waits until the job has committed `units` units; false when the process ended first.
  bool wait_for_units(pid_t pid, int64_t units) {
    JobStore store(db());
    for (;;) {
      if (const auto job = store.find_job(1); job && job->units_done >= units) return true;
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::string whole_file() {
    const CliRun whole = test::run_cli(dir, {"quantize", kModel, "--type", "IQ3_XXS", "-o",
                                             (dir / "whole.gguf").string(), "--db", (dir / "whole.db").string()});
    EXPECT_EQ(whole.exit_code, 0) << whole.err;
    return test::slurp(dir / "whole.gguf");
  }
};

TEST_F(QuantizeJobCli, KilledRunLeavesNoFinalFileAndResumesToTheSameBytes) {
  const std::string expected = whole_file();
  ASSERT_FALSE(expected.empty());

  const pid_t pid = test::spawn_cli(dir, args("out.gguf"), "killed");
  const bool caught = wait_for_units(pid, 10);
  kill(pid, SIGKILL);
  test::finish_cli(dir, pid, "killed");
  ASSERT_TRUE(caught) << "the run ended before it committed 10 units";
  EXPECT_FALSE(std::filesystem::exists(dir / "out.gguf"));
  EXPECT_TRUE(std::filesystem::exists(dir / "out.gguf.tmp"));
  {
    JobStore store(db());
    const JobInfo job = store.job(1);
    EXPECT_GE(job.units_done, 10);
    EXPECT_LT(job.units_done, kUnits);
  }

  // The same command continues job 1: the tensors already on disk are kept.
  const CliRun resumed = test::run_cli(dir, args("out.gguf"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto j = nlohmann::json::parse(resumed.out);
  EXPECT_EQ(j["id"], 1);
  EXPECT_EQ(j["state"], "done");
  EXPECT_EQ(test::slurp(dir / "out.gguf"), expected);
  EXPECT_FALSE(std::filesystem::exists(dir / "out.gguf.tmp"));
  JobStore store(db());
  const JobDetail detail = store.job_detail(1);
  EXPECT_EQ(detail.job.units_done, kUnits);
  ASSERT_EQ(detail.artifacts.size(), 1u);
  EXPECT_EQ(detail.artifacts[0].kind, "gguf");
  EXPECT_EQ(detail.artifacts[0].path, dir / "out.gguf");
}

TEST_F(QuantizeJobCli, PausedJobResumesEvenWhenItsPartialFileIsGone) {
  const std::string expected = whole_file();
  const pid_t pid = test::spawn_cli(dir, args("out.gguf"), "paused");
  const bool caught = wait_for_units(pid, 10);
  const CliRun paused = test::run_cli(dir, {"jobs", "pause", "1", "--db", db()});
  EXPECT_EQ(paused.exit_code, 0) << paused.err;
  const CliRun first = test::finish_cli(dir, pid, "paused");
  ASSERT_TRUE(caught) << "the run ended before it committed 10 units";
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(nlohmann::json::parse(first.out)["state"], "paused");
  EXPECT_FALSE(std::filesystem::exists(dir / "out.gguf"));
  ASSERT_TRUE(std::filesystem::exists(dir / "out.gguf.tmp"));

  // Without its partial file the finished tensors are written again; the file is the same.
  std::filesystem::remove(dir / "out.gguf.tmp");
  const CliRun resumed = test::run_cli(dir, {"jobs", "resume", "1", "--db", db()});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(test::slurp(dir / "out.gguf"), expected);
  EXPECT_EQ(JobStore(db()).job(1).state, JobState::done);
}

TEST_F(QuantizeJobCli, CancelledJobRemovesItsPartialFile) {
  const pid_t pid = test::spawn_cli(dir, args("out.gguf"), "cancelled");
  const bool caught = wait_for_units(pid, 5);
  const CliRun cancelled = test::run_cli(dir, {"jobs", "cancel", "1", "--db", db()});
  EXPECT_EQ(cancelled.exit_code, 0) << cancelled.err;
  const CliRun run = test::finish_cli(dir, pid, "cancelled");
  ASSERT_TRUE(caught) << "the run ended before it committed 5 units";
  EXPECT_EQ(nlohmann::json::parse(run.out)["state"], "cancelled");
  EXPECT_FALSE(std::filesystem::exists(dir / "out.gguf"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out.gguf.tmp"));
}

TEST_F(QuantizeJobCli, DetachedJobIsRunByJobsResume) {
  const std::string expected = whole_file();
  const CliRun detached = test::run_cli(dir, {"quantize", kModel, "--type", "IQ3_XXS", "-o",
                                              (dir / "out.gguf").string(), "--db", db(), "--detach", "--json"});
  ASSERT_EQ(detached.exit_code, 0) << detached.err;
  EXPECT_EQ(nlohmann::json::parse(detached.out)["state"], "queued");
  EXPECT_FALSE(std::filesystem::exists(dir / "out.gguf"));
  const CliRun run = test::run_cli(dir, {"jobs", "resume", "1", "--db", db()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(test::slurp(dir / "out.gguf"), expected);
}

TEST_F(QuantizeJobCli, AnOutputInAFolderThatDoesNotExistYetMakesTheFolder) {
  const std::filesystem::path output = dir / "new" / "folder" / "out.gguf";
  const CliRun run = test::run_cli(dir, {"quantize", kModel, "--type", "Q8_0", "-o", output.string(), "--db", db()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(test::slurp(output).substr(0, 4), "GGUF");
  EXPECT_FALSE(std::filesystem::exists(output.string() + ".tmp"));
}

TEST_F(QuantizeJobCli, AFullDiskFailsTheJobWithOneLineAndNoFinalFile) {
  // `ulimit -f` makes writes past 2 MiB fail (EFBIG, with SIGXFSZ ignored) as a full disk fails them (ENOSPC).
  const std::string command = "trap \"\" XFSZ; ulimit -f 2048; QUANTSCOPE_DB=" + db() + " " + QUANTSCOPE_BINARY + " quantize " + kModel +
                              " --type Q8_0 -o " + (dir / "out.gguf").string() + " 2>" + (dir / "err").string();
  const int status = std::system(("sh -c '" + command + "'").c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
  const std::string err = test::slurp(dir / "err");
  // The progress bar's line, then one error line.
  size_t errors = 0;
  for (size_t at = 0; (at = err.find("quantscope: error:", at)) != std::string::npos; ++at) ++errors;
  EXPECT_EQ(errors, 1u) << err;
  EXPECT_EQ(err.back(), '\n');
  EXPECT_EQ(err.find('\n', err.find("quantscope: error:")), err.size() - 1) << err;
  EXPECT_NE(err.find("out.gguf.tmp"), std::string::npos) << err;
  EXPECT_NE(err.find("jobs resume 1"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(dir / "out.gguf"));
  EXPECT_EQ(JobStore(db()).job(1).state, JobState::failed);
}

}  // namespace
}  // namespace qs::quantize_job_cli_test
