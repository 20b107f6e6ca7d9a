// End-to-end tests of `quantscope jobs ...`: the real binary on a temporary database, checking exit
// codes, printed text and `--json` output, including steering a job another process is running.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "jobs/job_runner.h"
#include "jobs/job_store.h"
#include "cli/cli_process.h"
#include "jobs/job_test_support.h"
#include "test_support.h"

namespace qs::jobs_cli_test {
namespace {

using CliResult = test::CliRun;
using test::run_cli;
using test::slurp;

class JobsCli : public ::testing::Test {
 protected:
  test::ScratchDir dir;
  std::string db = (dir / "jobs.db").string();

  CliResult jobs(std::vector<std::string> args) {
    args.insert(args.begin(), "jobs");
    args.push_back("--db");
    args.push_back(db);
    return run_cli(dir, args);
  }
  nlohmann::json list_json() {
    const CliResult listed = jobs({"list", "--json"});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    return nlohmann::json::parse(listed.out);
  }
};

TEST_F(JobsCli, ListOfEmptyDatabaseIsEmptyJsonArray) {
  const CliResult listed = jobs({"list", "--json"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(nlohmann::json::parse(listed.out), nlohmann::json::array());
  EXPECT_TRUE(std::filesystem::exists(db));
}

TEST_F(JobsCli, ListShowsEachJobsStateAndProgress) {
  {
    JobStore store(db);
    store.create_job("measure", {{"model", "tiny"}}, 10);                    // 1: queued
    store.pause_job(store.create_job("measure", nlohmann::json::object(), 4));  // 2: paused
    const int64_t three = store.create_job("measure", nlohmann::json::object());
    run_job(store, three, test::fake_units(2), test::fake_result);         // 3: done
    store.cancel_job(store.create_job("quantize", nlohmann::json::object()));  // 4: cancelled
  }
  const nlohmann::json listed = list_json();
  ASSERT_EQ(listed.size(), 4u);
  const char *states[] = {"queued", "paused", "done", "cancelled"};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(listed[i]["id"], i + 1);
    EXPECT_EQ(listed[i]["state"], states[i]);
  }
  EXPECT_EQ(listed[0]["kind"], "measure");
  EXPECT_EQ(listed[0]["units_total"], 10);
  EXPECT_EQ(listed[2]["units_done"], 2);
  EXPECT_EQ(listed[2]["progress"], 1.0);
  EXPECT_TRUE(listed[0]["eta_seconds"].is_null());
  EXPECT_EQ(listed[3]["kind"], "quantize");

  const CliResult table = jobs({"list"});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("paused"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("2/2 100.0%"), std::string::npos) << table.out;
  // `jobs` alone lists too, and QUANTSCOPE_DB stands in for --db.
  const CliResult bare = run_cli(dir, {"jobs", "--json"}, {"QUANTSCOPE_DB=" + db});
  EXPECT_EQ(bare.exit_code, 0) << bare.err;
  EXPECT_EQ(nlohmann::json::parse(bare.out).size(), 4u);

  const CliResult shown = jobs({"show", "3", "--json"});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  const nlohmann::json detail = nlohmann::json::parse(shown.out);
  EXPECT_EQ(detail["measurements"]["rows"], 2);
  EXPECT_EQ(detail["measurements"]["per_type"]["Q4_K"], 1);
  EXPECT_EQ(detail["measurements"]["per_metric"]["kld"], 2);
  EXPECT_EQ(jobs({"show", "1"}).out.find("params:       {\"model\":\"tiny\"}") != std::string::npos, true);
}

TEST_F(JobsCli, UnknownJobIdIsExitTwoWithClearMessage) {
  { JobStore store(db); }
  for (const char *command : {"show", "pause", "resume", "cancel"}) {
    const CliResult result = jobs({command, "99"});
    EXPECT_EQ(result.exit_code, 2) << command;
    EXPECT_NE(result.err.find("no job 99 in job database " + db), std::string::npos) << command << ": " << result.err;
  }
  const CliResult exported = jobs({"export", "99", "-o", (dir / "x.csv").string()});
  EXPECT_EQ(exported.exit_code, 2);
  EXPECT_NE(exported.err.find("no job 99"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "x.csv"));
  EXPECT_EQ(jobs({"show", "abc"}).exit_code, 2);  // not a number: a usage error, also 2
}

TEST_F(JobsCli, PauseResumeCancelOfAQueuedJob) {
  {
    JobStore store(db);
    store.create_job("no-such-kind", nlohmann::json::object(), 5);
  }
  CliResult result = jobs({"pause", "1"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "job 1 paused\n");
  // Nothing in this binary runs jobs of that kind: resume says so, leaving the job queued.
  result = jobs({"resume", "1"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("no command of this quantscope runs jobs of kind 'no-such-kind'"), std::string::npos)
      << result.err;
  EXPECT_EQ(list_json()[0]["state"], "queued");
  jobs({"pause", "1"});
  result = jobs({"resume", "1", "--detach"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "job 1 queued\n");
  result = jobs({"cancel", "1"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "job 1 cancelled\n");
  result = jobs({"resume", "1"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("job 1 was cancelled"), std::string::npos) << result.err;
}

TEST_F(JobsCli, ExportImportAndMalformedCsv) {
  const std::string csv =
      "tensor,type,bits,params,rmse,kld\n"
      "blk.0.attn_q.weight,Q4_K,4.5,4096,0.5,\n"
      "blk.0.attn_q.weight,Q8_0,8.5,4096,0.0625,0.001\n";
  std::ofstream(dir / "in.csv") << csv;
  CliResult result = jobs({"import", (dir / "in.csv").string()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("2 rows into new job 1"), std::string::npos) << result.out;
  result = jobs({"export", "1", "-o", (dir / "out.csv").string()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(slurp(dir / "out.csv"), csv);  // row for row, byte for byte

  // Importing the same file into job 1 again: identical rows skipped.
  result = jobs({"import", (dir / "in.csv").string(), "--into", "1"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("0 rows into job 1 (2 identical duplicates skipped)"), std::string::npos) << result.out;

  std::ofstream(dir / "conflict.csv") << "tensor,type,bits,params,rmse\nblk.0.attn_q.weight,Q8_0,8.5,4096,0.125\n";
  result = jobs({"import", (dir / "conflict.csv").string(), "--into", "1"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("line 2: blk.0.attn_q.weight Q8_0 differs from job 1's row (rmse 0.125 vs 0.0625)"),
            std::string::npos)
      << result.err;

  std::ofstream(dir / "bad.csv") << "tensor,type,bits,params\nx,Q4_K,4.5,1\ny,Q4_K,four,1\n";
  result = jobs({"import", (dir / "bad.csv").string()});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find((dir / "bad.csv").string() + ": line 3: column bits: 'four' is not a number"),
            std::string::npos)
      << result.err;
  EXPECT_EQ(list_json().size(), 1u);  // no job was created by the failed imports
}

TEST_F(JobsCli, PauseAJobThatAnotherProcessIsRunning) {
  {
    JobStore store(db);
    store.create_job("measure", nlohmann::json::object(), 6);
  }
  test::UnitGate gate, opened, started;
  const pid_t runner = test::fork_child([&] {
    gate.close_write();
    started.close_read();
    JobStore store(db, test::fast_store_options());
    opened.grant(1);
    const RunOutcome outcome = run_job(store, 1, test::fake_units(6), [&](const std::string &key) {
      started.grant(1);
      gate.take();
      return test::fake_result(key);
    });
    return outcome.state == JobState::paused ? 0 : 1;
  });
  gate.close_read();
  started.close_write();
  opened.take();
  gate.grant(2);
  started.take(3);  // units 1-2 are committed and unit 3 is under way, past its stop check
  ASSERT_EQ(list_json()[0]["units_done"], 2);
  const nlohmann::json running = list_json()[0];
  EXPECT_EQ(running["state"], "running");
  EXPECT_EQ(running["owner"]["pid"], runner);
  EXPECT_EQ(running["owner"]["status"], "alive");
  EXPECT_TRUE(running["eta_seconds"].is_number());

  const CliResult paused = jobs({"pause", "1"});
  EXPECT_EQ(paused.exit_code, 0) << paused.err;
  EXPECT_NE(paused.out.find("job 1: pause requested"), std::string::npos) << paused.out;
  EXPECT_EQ(list_json()[0]["requested_state"], "paused");
  gate.grant(1);  // it finishes the unit it is in, then pauses
  EXPECT_EQ(test::wait_child(runner), 0);
  const nlohmann::json after = list_json()[0];
  EXPECT_EQ(after["state"], "paused");
  EXPECT_EQ(after["units_done"], 3);
  EXPECT_TRUE(after["owner"].is_null());
}

}  // namespace
}  // namespace qs::jobs_cli_test
