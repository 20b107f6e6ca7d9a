// The runner over fake units: a whole run, a failing unit then a resume, pause and cancel asked by
// another process, a reader that watches while a child process writes, and two processes racing
// for one job.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "core/error.h"
#include "jobs/job_runner.h"
#include "jobs/job_store.h"
#include "jobs/job_test_support.h"
#include "test_support.h"

namespace qs::job_runner_test {
namespace {

using test::fake_result;
using test::fake_row;
using test::fake_units;

std::vector<MeasurementRow> fake_rows(int n) {
  std::vector<MeasurementRow> rows;
  for (int i = 0; i < n; ++i) rows.push_back(fake_row(i));
  return rows;
}

// Counts how often each unit ran.
struct ExecutionCounter {
  std::map<std::string, int> runs;
  UnitFunction counting(UnitFunction inner) {
    return [this, inner](const std::string &key) {
      ++runs[key];
      return inner(key);
    };
  }
};

class RecordingProgress final : public ProgressSink {
 public:
  std::vector<int64_t> advances;
  int64_t total = -1;
  void begin(const std::string &, int64_t t) override { total = t; }
  void advance(int64_t done) override { advances.push_back(done); }
  void end() override {}
};

TEST(JobRunner, RunsEveryUnitInOrderAndEndsDone) {
  test::ScratchDir dir;
  JobStore store(dir / "jobs.db", test::fast_store_options());
  const int64_t id = store.create_job("measure", {{"model", "fake"}});
  RecordingProgress progress;
  RunOptions options;
  options.progress = &progress;
  ExecutionCounter counter;
  const RunOutcome outcome = run_job(store, id, fake_units(6), counter.counting(fake_result), options);
  EXPECT_EQ(outcome.state, JobState::done);
  EXPECT_EQ(outcome.units_run, 6);
  EXPECT_EQ(outcome.units_done, 6);
  EXPECT_EQ(store.measurements(id), fake_rows(6));
  for (const auto &[key, runs] : counter.runs) EXPECT_EQ(runs, 1) << key;
  EXPECT_EQ(progress.total, 6);
  EXPECT_EQ(progress.advances, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  const JobInfo job = store.job(id);
  EXPECT_EQ(job.state, JobState::done);
  EXPECT_EQ(job.units_done, 6);
  EXPECT_EQ(job.units_total, 6);
  EXPECT_TRUE(job.started_at);
  EXPECT_TRUE(job.finished_at);
  EXPECT_FALSE(job.lease);  // given back
  EXPECT_FALSE(job.eta_seconds);
}

// Where units differ in cost (RunOptions::unit_cost), the ETA follows the cost left: after a
// first unit of cost 1 that took at least 20 ms, 99 more cost-units are left, so the stored ETA is
// at least 99 x 20 ms, where counting the two units left would say about 40 ms. The progress sink
// hears the share of the cost done.
TEST(JobRunner, TheEtaFollowsTheUnitsCostWhereTheyDiffer) {
  test::ScratchDir dir;
  JobStore store((dir / "jobs.db").string());
  const int64_t id = store.create_job("measure", nlohmann::json::object(), 3);
  const std::vector<std::string> units = fake_units(3);
  const std::map<std::string, double> cost = {{units[0], 1}, {units[1], 1}, {units[2], 98}};
  std::optional<double> eta_after_a;
  struct WorkProgress final : ProgressSink {
    std::vector<double> fractions;
    void begin(const std::string &, int64_t) override {}
    void advance(int64_t) override { ADD_FAILURE() << "advance without the work share"; }
    void advance_work(int64_t, double fraction) override { fractions.push_back(fraction); }
    void end() override {}
  } progress;
  RunOptions options;
  options.unit_cost = [&](const std::string &unit) { return cost.at(unit); };
  options.progress = &progress;
  const RunOutcome outcome = run_job(
      store, id, units,
      [&](const std::string &key) {
        if (key == units[0]) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (key == units[1]) eta_after_a = store.job(id).eta_seconds;
        return fake_result(key);
      },
      options);
  EXPECT_EQ(outcome.state, JobState::done);
  ASSERT_TRUE(eta_after_a);
  EXPECT_GE(*eta_after_a, 99 * 0.020);
  EXPECT_EQ(progress.fractions, (std::vector<double>{0.0, 0.01, 0.02, 1.0}));
}

TEST(JobRunner, FailingUnitFailsTheJobAndResumeRetriesOnlyWhatIsLeft) {
  test::ScratchDir dir;
  JobStore store(dir / "jobs.db", test::fast_store_options());
  const int64_t id = store.create_job("measure", nlohmann::json::object());
  const auto units = fake_units(8);
  ExecutionCounter counter;
  const RunOutcome failed = run_job(store, id, units, counter.counting([&](const std::string &key) {
    if (key == units[5]) throw Error("tensor blk.2.ffn_up.weight: row size 4100 is not a multiple of 256");
    return fake_result(key);
  }));
  EXPECT_EQ(failed.state, JobState::failed);
  EXPECT_EQ(failed.error, "unit " + units[5] + ": tensor blk.2.ffn_up.weight: row size 4100 is not a multiple of 256");
  EXPECT_EQ(store.job(id).state, JobState::failed);
  EXPECT_EQ(store.job(id).error, failed.error);
  EXPECT_EQ(store.measurements(id), fake_rows(5));  // units 0..4, committed before the failure

  store.resume_job(id);
  EXPECT_EQ(store.job(id).error, "");
  const RunOutcome resumed = run_job(store, id, units, counter.counting(fake_result));
  EXPECT_EQ(resumed.state, JobState::done);
  EXPECT_EQ(resumed.units_run, 3);
  EXPECT_EQ(store.measurements(id), fake_rows(8));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(counter.runs[units[i]], i == 5 ? 2 : 1) << units[i];
}

TEST(JobRunner, PreparesOnceBeforeTheUnitsOnlyWhenSomeAreLeft) {
  test::ScratchDir dir;
  JobStore store(dir / "jobs.db", test::fast_store_options());
  const int64_t id = store.create_job("measure", nlohmann::json::object());
  const auto units = fake_units(4);
  // The order of events: preparation (with its own progress), then the units.
  std::vector<std::string> events;
  struct EventProgress final : ProgressSink {
    std::vector<std::string> &events;
    explicit EventProgress(std::vector<std::string> &e) : events(e) {}
    void begin(const std::string &label, int64_t) override { events.push_back("begin " + label); }
    void advance(int64_t) override {}
    void end() override { events.push_back("end"); }
  } progress(events);
  RunOptions options;
  options.progress = &progress;
  options.progress_label = "job";
  options.prepare = [&](ProgressSink &sink) {
    EXPECT_TRUE(store.job(id).lease) << "prepared before the lease was held";
    sink.begin("loading", 1);
    sink.end();
    events.push_back("prepared");
  };
  const RunOutcome outcome = run_job(store, id, units, [&](const std::string &key) {
    events.push_back("unit " + key);
    return fake_result(key);
  }, options);
  EXPECT_EQ(outcome.state, JobState::done);
  std::vector<std::string> expected = {"begin loading", "end", "prepared", "begin job"};
  for (const auto &unit : units) expected.push_back("unit " + unit);
  expected.push_back("end");
  EXPECT_EQ(events, expected);

  // A job with no unit left to run: nothing to prepare.
  events.clear();
  const int64_t empty = store.create_job("measure", nlohmann::json::object());
  EXPECT_EQ(run_job(store, empty, {}, fake_result, options).state, JobState::done);
  EXPECT_EQ(std::count(events.begin(), events.end(), "prepared"), 0);
}

TEST(JobRunner, FailedPreparationFailsTheJobAndCommitsNothing) {
  test::ScratchDir dir;
  JobStore store(dir / "jobs.db", test::fast_store_options());
  const int64_t id = store.create_job("measure", nlohmann::json::object());
  RunOptions options;
  options.prepare = [](ProgressSink &) { throw Error("model.safetensors is truncated"); };
  int units_run = 0;
  const RunOutcome outcome = run_job(store, id, fake_units(3), [&](const std::string &key) {
    ++units_run;
    return fake_result(key);
  }, options);
  EXPECT_EQ(outcome.state, JobState::failed);
  EXPECT_EQ(outcome.error, "preparing the units: model.safetensors is truncated");
  EXPECT_EQ(units_run, 0);
  const JobInfo job = store.job(id);
  EXPECT_EQ(job.state, JobState::failed);
  EXPECT_EQ(job.error, outcome.error);
  EXPECT_FALSE(job.lease);
  EXPECT_TRUE(store.measurements(id).empty());
}

TEST(JobRunner, RefusesDuplicateUnitKeys) {
  test::ScratchDir dir;
  JobStore store(dir / "jobs.db", test::fast_store_options());
  const int64_t id = store.create_job("measure", nlohmann::json::object());
  auto units = fake_units(3);
  units.push_back(units[1]);
  EXPECT_THROW(run_job(store, id, units, fake_result), Error);
  EXPECT_EQ(store.job(id).state, JobState::queued);
}

// Runs job `id` of `db` in a child process whose units each announce their start on `started`,
// then wait for a token from `gate`; returns once the child has opened the database. Exit code:
// 10 + the final state (paused=2, done=3, cancelled=5).
pid_t run_gated_child(const std::filesystem::path &db, int64_t id, int n_units, test::UnitGate &gate,
                      test::UnitGate &started, JobStore::Options store_options = test::fast_store_options()) {
  test::UnitGate opened;
  const pid_t pid = test::fork_child([&, db, id, n_units, store_options] {
    gate.close_write();
    started.close_read();
    JobStore store(db, store_options);
    opened.grant(1);
    RunOptions options;
    options.renew_every_seconds = 3600;  // no renewal writes: this test's writer must never wait on them
    const RunOutcome outcome = run_job(store, id, fake_units(n_units), [&](const std::string &key) {
      started.grant(1);
      gate.take();
      return fake_result(key);
    }, options);
    return 10 + static_cast<int>(outcome.state);
  });
  opened.take();
  return pid;
}

TEST(JobRunner, PauseFromAnotherProcessThenResume) {
  test::ScratchDir dir;
  const auto db = dir / "jobs.db";
  int64_t id;
  {
    JobStore store(db, test::fast_store_options());
    id = store.create_job("measure", nlohmann::json::object(), 10);
  }
  test::UnitGate gate, started;
  const pid_t child = run_gated_child(db, id, 10, gate, started);
  gate.close_read();
  started.close_write();
  JobStore store(db, test::fast_store_options());  // the second process's own connection
  gate.grant(3);
  // The 4th start means units 1-3 are committed and unit 4 is under way, past its stop check: a
  // request made now is seen only after unit 4 (waiting for the commit alone would race with it).
  started.take(4);
  EXPECT_EQ(store.job(id).units_done, 3);
  const ControlResult asked = store.pause_job(id);
  EXPECT_TRUE(asked.waiting_for_runner);
  EXPECT_EQ(store.job(id).state, JobState::running);  // it finishes the unit it is in first
  gate.grant(1);
  EXPECT_EQ(test::wait_child(child), 10 + static_cast<int>(JobState::paused));
  JobInfo job = store.job(id);
  EXPECT_EQ(job.state, JobState::paused);
  EXPECT_EQ(job.units_done, 4);  // the unit under way when the pause came was finished and kept
  EXPECT_FALSE(job.requested_state);
  EXPECT_FALSE(job.lease);
  EXPECT_EQ(store.measurements(id), fake_rows(4));

  EXPECT_EQ(store.resume_job(id).state, JobState::queued);
  ExecutionCounter counter;
  const RunOutcome outcome = run_job(store, id, fake_units(10), counter.counting(fake_result));
  EXPECT_EQ(outcome.state, JobState::done);
  EXPECT_EQ(outcome.units_run, 6);
  EXPECT_EQ(counter.runs.size(), 6u);
  EXPECT_EQ(counter.runs.count(fake_units(10)[3]), 0u);  // units 0..3 were not run again
  EXPECT_EQ(store.measurements(id), fake_rows(10));
}

TEST(JobRunner, CancelFromAnotherProcess) {
  test::ScratchDir dir;
  const auto db = dir / "jobs.db";
  int64_t id;
  {
    JobStore store(db, test::fast_store_options());
    id = store.create_job("measure", nlohmann::json::object(), 10);
  }
  test::UnitGate gate, started;
  const pid_t child = run_gated_child(db, id, 10, gate, started);
  gate.close_read();
  started.close_write();
  JobStore store(db, test::fast_store_options());
  gate.grant(2);
  started.take(3);  // unit 3 is under way, past its stop check
  EXPECT_EQ(store.job(id).units_done, 2);
  EXPECT_TRUE(store.cancel_job(id).waiting_for_runner);
  gate.grant(1);
  EXPECT_EQ(test::wait_child(child), 10 + static_cast<int>(JobState::cancelled));
  const JobInfo job = store.job(id);
  EXPECT_EQ(job.state, JobState::cancelled);
  EXPECT_TRUE(job.finished_at);
  EXPECT_EQ(store.measurements(id), fake_rows(3));  // what was measured stays exportable
  EXPECT_THROW(store.resume_job(id), Error);
}

TEST(JobRunner, ReaderNeverBlocksTheWriterNorSeesHalfAUnit) {
  test::ScratchDir dir;
  const auto db = dir / "jobs.db";
  constexpr int kUnits = 40;
  int64_t id;
  {
    JobStore store(db, test::fast_store_options());
    id = store.create_job("measure", nlohmann::json::object(), kUnits);
  }
  // The writer gives up at once if it ever has to wait for a lock (busy timeout 0): if the reader
  // could block it, the child would fail instead of finishing.
  JobStore::Options writer_options = test::fast_store_options();
  writer_options.busy_timeout_ms = 0;
  test::UnitGate gate, started;
  const pid_t child = run_gated_child(db, id, kUnits, gate, started, writer_options);
  gate.close_read();
  started.close_write();
  JobStore reader(db, test::fast_store_options());
  int64_t snapshots = 0;
  for (int k = 1; k <= kUnits; ++k) {
    gate.grant(1);
    // Read continuously while unit k is computed and committed, until its commit shows.
    const bool seen = test::wait_until([&] {
      const JobDetail detail = reader.job_detail(id);
      ++snapshots;
      EXPECT_EQ(detail.job.units_done, detail.measurement_count);
      EXPECT_EQ(detail.unit_count, detail.measurement_count);
      return detail.measurement_count == k;
    });
    ASSERT_TRUE(seen) << "unit " << k;
    // Every row visible is whole and correct.
    ASSERT_EQ(reader.measurements(id), fake_rows(k));
  }
  EXPECT_EQ(test::wait_child(child), 10 + static_cast<int>(JobState::done));
  EXPECT_EQ(reader.job(id).state, JobState::done);
  EXPECT_GE(snapshots, kUnits);
}

TEST(JobRunner, TwoProcessesRacingForAJobExactlyOneGetsIt) {
  test::ScratchDir dir;
  const auto db = dir / "jobs.db";
  for (int round = 0; round < 6; ++round) {
    int64_t id;
    {
      JobStore store(db, test::fast_store_options());
      id = store.create_job("measure", nlohmann::json::object(), 1);
    }
    test::UnitGate ready, go, release;  // pipes used as one-byte messages
    pid_t racers[2];
    for (pid_t &racer : racers) {
      racer = test::fork_child([&, id] {
        JobStore store(db, test::fast_store_options());
        ready.grant(1);
        go.take();
        auto runner = JobRunner::try_start(store, id, 1, RunOptions{});
        ready.grant(1);  // "I have tried"
        release.take();                // keep the lease until both have tried
        if (runner) runner->finish(JobState::paused);
        return runner ? 1 : 0;
      });
    }
    ready.take();
    ready.take();
    go.grant(2);
    ready.take();
    ready.take();
    release.grant(2);
    const int winners = test::wait_child(racers[0]) + test::wait_child(racers[1]);
    EXPECT_EQ(winners, 1) << "round " << round;
    JobStore store(db, test::fast_store_options());
    EXPECT_EQ(store.job(id).state, JobState::paused);  // the winner's run
  }
}

}  // namespace
}  // namespace qs::job_runner_test
