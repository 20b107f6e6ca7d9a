// End-to-end tests of `quantscope measure` on the shipped model: the exact KLD of one quantized
// tensor against `perplexity --kl-base` on a GGUF holding only that tensor quantized; kill -9 at
// random moments then resume, equal to an uninterrupted run row for row; pause, resume and cancel
// from another process; shards merged into one job; detached jobs; clear errors for bad input.
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

namespace qs::measure_cli_test {
namespace {

using test::CliRun;
using test::run_cli;

const std::string kModel = std::string(QUANTSCOPE_SOURCE_DIR) + "/models/kjv-llama";
const std::string kText = kModel + "/calibration.txt";

class MeasureCli : public ::testing::Test {
 protected:
  test::ScratchDir dir;

  std::string db(const std::string &name = "jobs") const { return (dir / (name + ".db")).string(); }

  CliRun quantscope(std::vector<std::string> args) { return run_cli(dir, std::move(args)); }

  // `measure` of the shipped model with `extra` arguments into database `database`.
  std::vector<std::string> measure_args(const std::string &database, std::vector<std::string> extra) const {
    std::vector<std::string> args{"measure", kModel, "--db", database};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  std::string export_csv(const std::string &database, int64_t id, const std::string &name) {
    return test::export_job_csv(dir, database, id, name);
  }

  std::vector<SourcedRow> exported_rows(const std::string &database, int64_t id, const std::string &name) {
    export_csv(database, id, name);
    return read_measurements_csv(dir / name);
  }

  nlohmann::json list_json(const std::string &database) { return test::list_jobs_json(dir, database); }
};

// A kld sweep of 126 units (6 layers x 7 matrices x 3 types) that takes a few seconds.
const std::vector<std::string> kSweep = {"--metric", "kld",  "--text",  kText,  "--ctx",   "128", "--chunks",
                                         "4",        "--tensors", "blk\\.[2-7]\\.", "--types", "Q6_K,Q4_K,Q2_K"};

TEST_F(MeasureCli, ExactKldEqualsPerplexityOnAGgufWithOnlyThatTensorQuantized) {
  // The imatrix makes the quantized values depend on importance too: both paths must use it alike.
  const std::string imatrix = (dir / "imatrix.gguf").string();
  ASSERT_EQ(quantscope({"imatrix", kModel, "--text", kText, "--ctx", "128", "--chunks", "4", "-o", imatrix}).exit_code, 0);
  const std::string base = (dir / "base.lp").string();
  const CliRun saved = quantscope({"perplexity", kModel, "--text", kText, "--ctx", "128", "--chunks", "3",
                                   "--save-logits", base});
  ASSERT_EQ(saved.exit_code, 0) << saved.err;

  for (const auto &[tensor, type] : std::vector<std::pair<std::string, std::string>>{
           {"blk.3.ffn_down.weight", "Q2_K"}, {"blk.6.attn_q.weight", "IQ3_XXS"}, {"token_embd.weight", "Q3_K"}}) {
    SCOPED_TRACE(tensor + " " + type);
    const std::string database = db(type);
    const CliRun measured = quantscope(measure_args(database, {"--metric", "kld", "--text", kText, "--ctx", "128",
                                                               "--chunks", "3", "--imatrix", imatrix, "--tensors",
                                                               "^" + tensor + "$", "--types", type}));
    ASSERT_EQ(measured.exit_code, 0) << measured.err;
    const auto rows = exported_rows(database, 1, "m.csv");
    ASSERT_EQ(rows.size(), 1u);
    const MeasurementRow &row = rows[0].row;

    const std::string gguf = (dir / "one.gguf").string();
    const CliRun quantized = quantscope({"quantize", kModel, "--type", "BF16", "--tensor-type",
                                         "^" + tensor + "$=" + type, "--imatrix", imatrix, "-o", gguf});
    ASSERT_EQ(quantized.exit_code, 0) << quantized.err;
    const CliRun compared = quantscope({"perplexity", gguf, "--kl-base", base, "--json"});
    ASSERT_EQ(compared.exit_code, 0) << compared.err;
    const auto kld = nlohmann::json::parse(compared.out)["kld"];
    // perplexity keeps the base as 16-bit log-probs (llama.cpp's format, steps of up to
    // 16/65535 = 2.4e-4 nats, entries below -16 nats dropped): relative differences of 1e-4 to
    // 1e-3 are that rounding, depending on the tensor. The PPL difference uses exact target log-probs on both sides, and
    // differs only by float rounding (measure runs the chunks as one batch, perplexity one by one).
    const double expected_kld = kld["mean"]["value"];
    EXPECT_GT(expected_kld, 1e-5);
    EXPECT_NEAR(*row.get(Metric::kld), expected_kld, 5e-3 * expected_kld);
    EXPECT_NEAR(*row.get(Metric::delta_ppl), kld["ppl_diff"]["value"].get<double>(), 2e-5);
  }
}

TEST_F(MeasureCli, KilledAtRandomMomentsThenStartedAgainEqualsAnUninterruptedRun) {
  const CliRun whole = quantscope(measure_args(db("whole"), kSweep));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const std::string expected = export_csv(db("whole"), 1, "whole.csv");

  // Ten kills at random moments, placed by progress rather than by time so that they land inside
  // the sweep however fast it runs: round k waits until the job has at least a random number of
  // units committed (rising from round to round; round 0 none, so it may die before the job
  // exists), then lets the process go on for a random few milliseconds (inside a unit, in a
  // commit, between units) and kills it.
  std::mt19937 random(61);
  int killed_mid_run = 0;
  std::vector<int64_t> progress;
  for (int kill_round = 0; kill_round < 10; ++kill_round) {
    const pid_t pid = test::spawn_cli(dir, measure_args(db("killed"), kSweep), "killed");
    if (kill_round > 0) {
      const int64_t target = 11 * kill_round + std::uniform_int_distribution<int64_t>(0, 8)(random);
      ASSERT_TRUE(test::wait_until([&] {
        const nlohmann::json jobs = list_json(db("killed"));
        return !jobs.empty() && jobs[0]["units_done"].get<int64_t>() >= target;
      })) << "round " << kill_round << " never reached " << target << " units";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 40)(random)));
    kill(pid, SIGKILL);
    const CliRun run = test::finish_cli(dir, pid, "killed");
    killed_mid_run += run.exit_code == 128 + SIGKILL;
    const nlohmann::json jobs = list_json(db("killed"));
    if (jobs.empty()) continue;  // killed before it created the job
    ASSERT_EQ(jobs.size(), 1u) << "starting again continues the job instead of creating another";
    progress.push_back(jobs[0]["units_done"].get<int64_t>());
  }
  EXPECT_GE(killed_mid_run, 8);
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end())) << "a committed unit was lost";
  const CliRun last = quantscope(measure_args(db("killed"), kSweep));
  ASSERT_EQ(last.exit_code, 0) << last.err;
  EXPECT_NE(last.out.find("job 1: continuing"), std::string::npos) << last.out;
  EXPECT_EQ(export_csv(db("killed"), 1, "killed.csv"), expected);  // row for row, bit for bit
  const nlohmann::json jobs = list_json(db("killed"));
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["state"], "done");
  EXPECT_EQ(jobs[0]["units_done"], 126);
}

TEST_F(MeasureCli, PauseFromAnotherProcessThenStartAgainThenCancelAnother) {
  const pid_t pid = test::spawn_cli(dir, measure_args(db(), kSweep), "paused");
  ASSERT_TRUE(test::wait_until([&] {
    const nlohmann::json jobs = list_json(db());
    return !jobs.empty() && jobs[0]["units_done"].get<int64_t>() >= 1;
  }));
  const CliRun paused = quantscope({"jobs", "pause", "1", "--db", db()});
  EXPECT_EQ(paused.exit_code, 0) << paused.err;
  const CliRun run = test::finish_cli(dir, pid, "paused");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("job 1 paused at"), std::string::npos) << run.out;
  nlohmann::json job = list_json(db())[0];
  EXPECT_EQ(job["state"], "paused");
  EXPECT_GT(job["units_done"].get<int64_t>(), 0);
  EXPECT_LT(job["units_done"].get<int64_t>(), 126);

  const CliRun resumed = quantscope(measure_args(db(), kSweep));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("job 1: continuing 126 units"), std::string::npos) << resumed.out;
  job = list_json(db())[0];
  EXPECT_EQ(job["state"], "done");
  EXPECT_EQ(job["units_done"], 126);

  // A second job with another request, cancelled while it runs: what it measured stays.
  std::vector<std::string> other = kSweep;
  other.back() = "Q5_K,Q3_K,IQ4_XS";
  const pid_t second = test::spawn_cli(dir, measure_args(db(), other), "cancelled");
  ASSERT_TRUE(test::wait_until([&] {
    const nlohmann::json jobs = list_json(db());
    return jobs.size() == 2 && jobs[1]["units_done"].get<int64_t>() >= 1;
  }));
  EXPECT_EQ(quantscope({"jobs", "cancel", "2", "--db", db()}).exit_code, 0);
  EXPECT_EQ(test::finish_cli(dir, second, "cancelled").exit_code, 0);
  job = list_json(db())[1];
  EXPECT_EQ(job["state"], "cancelled");
  const auto rows = exported_rows(db(), 2, "c.csv");
  EXPECT_EQ(static_cast<int64_t>(rows.size()), job["units_done"].get<int64_t>());
  // Starting the cancelled request again makes a new job rather than reviving it.
  const CliRun again = quantscope(measure_args(db(), other));
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("job 3: measuring"), std::string::npos) << again.out;
}

TEST_F(MeasureCli, ShardsImportedIntoOneJobEqualTheWholeSweep) {
  const std::vector<std::string> sweep = {"--types", "Q4_K,Q8_0,IQ4_NL", "--tensors", "blk\\.[01]\\."};
  ASSERT_EQ(quantscope(measure_args(db("whole"), sweep)).exit_code, 0);
  const auto whole = exported_rows(db("whole"), 1, "w.csv");
  std::vector<std::string> shard_files;
  for (int i = 1; i <= 3; ++i) {
    std::vector<std::string> args = sweep;
    args.insert(args.end(), {"--shard", std::to_string(i) + "/3"});
    const std::string database = db("shard" + std::to_string(i));
    ASSERT_EQ(quantscope(measure_args(database, args)).exit_code, 0);
    export_csv(database, 1, "shard" + std::to_string(i) + ".csv");
    shard_files.push_back((dir / ("shard" + std::to_string(i) + ".csv")).string());
  }
  std::vector<std::string> import{"jobs", "import"};
  import.insert(import.end(), shard_files.begin(), shard_files.end());
  import.insert(import.end(), {"--db", db("merged")});
  const CliRun imported = quantscope(import);
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  auto merged = exported_rows(db("merged"), 1, "m.csv");
  auto key = [](const SourcedRow &r) { return r.row.tensor + ":" + r.row.type; };
  auto by_key = [&](const SourcedRow &a, const SourcedRow &b) { return key(a) < key(b); };
  std::vector<SourcedRow> sorted_whole = whole;
  std::sort(sorted_whole.begin(), sorted_whole.end(), by_key);
  std::sort(merged.begin(), merged.end(), by_key);
  ASSERT_EQ(merged.size(), sorted_whole.size());
  ASSERT_EQ(merged.size(), 14u * 3u);
  for (size_t i = 0; i < merged.size(); ++i) EXPECT_EQ(merged[i].row, sorted_whole[i].row) << key(merged[i]);
}

TEST_F(MeasureCli, DetachedJobIsRunByJobsResumeAndJsonReportsTheOutcome) {
  const std::vector<std::string> sweep = {"--types", "Q5_0,Q3_K", "--tensors", "attn_v", "--json"};
  const CliRun detached = quantscope(measure_args(db(), {"--types", "Q5_0,Q3_K", "--tensors", "attn_v", "--detach"}));
  ASSERT_EQ(detached.exit_code, 0) << detached.err;
  EXPECT_NE(detached.out.find("job 1 queued"), std::string::npos) << detached.out;
  EXPECT_EQ(list_json(db())[0]["state"], "queued");
  EXPECT_EQ(list_json(db())[0]["units_total"], 16);
  const CliRun resumed = quantscope({"jobs", "resume", "1", "--db", db()});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(list_json(db())[0]["state"], "done");

  const CliRun direct = quantscope(measure_args(db("direct"), sweep));
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  const nlohmann::json outcome = nlohmann::json::parse(direct.out);
  EXPECT_EQ(outcome["id"], 1);
  EXPECT_EQ(outcome["state"], "done");
  EXPECT_EQ(outcome["units_done"], 16);
  EXPECT_EQ(export_csv(db(), 1, "a.csv"), export_csv(db("direct"), 1, "b.csv"));
}

TEST_F(MeasureCli, BadInputIsOneClearErrorAndNoJob) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--metric", "kld"}, "--metric kld runs the model on calibration text: pass --text"},
      {{"--metric", "exact"}, "--metric: 'exact' is not one of proxy, layer, kld"},
      {{"--shard", "4/3"}, "--shard: '4/3' is not i/N"},
      {{"--types", "Q4_Z"}, "Q4_Z"},
      {{"--tensors", "nothing_matches"}, "no quantizable tensor"},
      {{"--imatrix", (dir / "missing.gguf").string()}, "missing.gguf: no such file"},
  };
  for (const auto &c : cases) {
    const CliRun run = quantscope(measure_args(db(), c.args));
    EXPECT_EQ(run.exit_code, 2) << c.message;
    EXPECT_NE(run.err.find(c.message), std::string::npos) << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  }
  EXPECT_TRUE(list_json(db()).empty());

  // A database that is not one: the file is named, and left as it was.
  const auto garbage = dir.write_text("garbage.db", std::string(8192, 'x'));
  const CliRun run = quantscope(measure_args(garbage.string(), {"--types", "Q4_K"}));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find(garbage.string()), std::string::npos) << run.err;
  EXPECT_EQ(test::slurp(garbage), std::string(8192, 'x'));
}

TEST_F(MeasureCli, QuantizeTensorTypeOverridesOnlyTheMatchingTensors) {
  const std::string gguf = (dir / "mixed.gguf").string();
  const CliRun quantized = quantscope({"quantize", kModel, "--type", "Q8_0", "--tensor-type", "ffn_down=Q4_K",
                                       "--tensor-type", "blk\\.0\\.=Q6_K", "-o", gguf});
  ASSERT_EQ(quantized.exit_code, 0) << quantized.err;
  const CliRun inspected = quantscope({"inspect", gguf, "--json"});
  ASSERT_EQ(inspected.exit_code, 0) << inspected.err;
  int checked = 0;
  const nlohmann::json inspection = nlohmann::json::parse(inspected.out);
  for (const auto &t : inspection["tensors"]) {
    const std::string name = t["name"];
    if (!t["quantizable"].get<bool>()) {
      EXPECT_EQ(t["dtype"], "F32") << name;
      continue;
    }
    // The first matching override wins: blk.0.ffn_down matches "ffn_down" first.
    const std::string expected = name.find("ffn_down") != std::string::npos ? "Q4_K"
                                 : name.rfind("blk.0.", 0) == 0              ? "Q6_K"
                                                                             : "Q8_0";
    EXPECT_EQ(t["dtype"], expected) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 58);
  for (const auto &[override_text, message] : std::vector<std::pair<std::string, std::string>>{
           {"ffn_down", "is not PATTERN=TYPE"}, {"ffn_(=Q4_K", "bad regular expression"},
           {"attn_q=Q9_K", "Q9_K"}, {"no_such_tensor=Q4_K", "'no_such_tensor' matches no quantizable tensor"}}) {
    const CliRun bad = quantscope({"quantize", kModel, "--type", "Q8_0", "--tensor-type", override_text, "-o",
                                   (dir / "bad.gguf").string()});
    EXPECT_EQ(bad.exit_code, 2) << override_text;
    EXPECT_NE(bad.err.find(message), std::string::npos) << bad.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "bad.gguf"));
  }
}

}  // namespace
}  // namespace qs::measure_cli_test
