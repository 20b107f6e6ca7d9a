// Crash safety: a child process running a job is killed with SIGKILL at random moments, ten times,
// then the job is resumed to the end. The final table must equal an uninterrupted run's row for
// row, and no unit may run again once committed (each child logs every unit it starts).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "jobs/job_runner.h"
#include "jobs/job_store.h"
#include "jobs/job_test_support.h"
#include "test_support.h"

namespace qs::kill_resume_test {
namespace {

constexpr int kUnits = 60;
constexpr int kKills = 10;

std::set<std::string> committed_units(const std::filesystem::path &db, int64_t id) {
  JobStore store(db);
  const JobDetail detail = store.job_detail(id);
  // The store's own view must agree with itself after every crash.
  EXPECT_EQ(detail.job.units_done, detail.unit_count);
  EXPECT_EQ(detail.unit_count, detail.measurement_count);
  return store.finished_units(id);
}

// One generation: a child that runs the job, logging each unit it starts to `log`, and taking a
// token from `gate` before each unit.
pid_t start_generation(const std::filesystem::path &db, int64_t id, const std::string &log, test::UnitGate &gate) {
  return test::fork_child([&, db, id, log] {
    gate.close_write();
    JobStore store(db);  // default options: FULL sync, as users get
    const RunOutcome outcome = run_job(store, id, test::fake_units(kUnits), [&](const std::string &key) {
      gate.take();
      test::append_line(log, key);
      return test::fake_result(key);
    });
    return outcome.state == JobState::done ? 0 : 1;
  });
}

// Checks what one generation did, given the units committed before and after it.
void check_generation(int generation, const std::vector<std::string> &started, const std::set<std::string> &before,
                      const std::set<std::string> &after, bool killed) {
  SCOPED_TRACE("generation " + std::to_string(generation));
  const std::set<std::string> distinct(started.begin(), started.end());
  EXPECT_EQ(distinct.size(), started.size()) << "a unit ran twice in one process";
  for (const auto &unit : started) EXPECT_EQ(before.count(unit), 0u) << unit << " ran again after it was committed";
  // Each unit was committed before the next began: all started units but the last are committed.
  for (size_t i = 0; i + 1 < started.size(); ++i) EXPECT_EQ(after.count(started[i]), 1u) << started[i];
  if (!killed && !started.empty()) {
    EXPECT_EQ(after.count(started.back()), 1u);
  }
  // Nothing is committed that this generation did not run.
  for (const auto &unit : after)
    if (!before.count(unit)) {
      EXPECT_EQ(distinct.count(unit), 1u) << unit;
    }
  EXPECT_TRUE(std::includes(after.begin(), after.end(), before.begin(), before.end())) << "a committed unit was lost";
}

TEST(JobKillResume, KilledAtRandomMomentsThenResumedEqualsUninterruptedRun) {
  test::ScratchDir dir;
  const auto db = dir / "jobs.db";
  int64_t id;
  std::vector<MeasurementRow> uninterrupted;
  {
    JobStore reference(dir / "reference.db", test::fast_store_options());
    const int64_t ref_id = reference.create_job("measure", nlohmann::json::object());
    ASSERT_EQ(run_job(reference, ref_id, test::fake_units(kUnits), test::fake_result).state, JobState::done);
    uninterrupted = reference.measurements(ref_id);
    JobStore store(db);
    id = store.create_job("measure", nlohmann::json::object(), kUnits);
  }
  std::mt19937 random(20240611);
  std::set<std::string> before;
  int kills_mid_run = 0;
  for (int generation = 0; generation <= kKills; ++generation) {
    const bool last = generation == kKills;
    const std::string log = (dir / ("started-" + std::to_string(generation) + ".log")).string();
    test::UnitGate gate;
    const pid_t child = start_generation(db, id, log, gate);
    gate.close_read();
    int status;
    if (last) {
      gate.grant(kUnits);  // no more kills: let it finish
      status = test::wait_child(child);
      EXPECT_EQ(status, 0);
    } else {
      // Let it start k units and one more, wait until the k-th has begun, then kill it after a
      // random pause: it dies while computing, while committing, or while waiting for a token.
      const int k = std::uniform_int_distribution<int>(1, 3)(random);
      gate.grant(k + 1);
      ASSERT_TRUE(test::wait_until([&] { return static_cast<int>(test::read_lines(log).size()) >= k; }));
      std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 4000)(random)));
      kill(child, SIGKILL);
      status = test::wait_child(child);
      // It needed more tokens than it got (at most 4 units per generation, 60 in all), so it cannot
      // have finished: only the kill ended it.
      EXPECT_EQ(status, 128 + SIGKILL);
      ++kills_mid_run;
    }
    const std::set<std::string> after = committed_units(db, id);
    check_generation(generation, test::read_lines(log), before, after, !last);
    before = after;
  }
  EXPECT_EQ(kills_mid_run, kKills);

  JobStore store(db);
  const JobInfo job = store.job(id);
  EXPECT_EQ(job.state, JobState::done);
  EXPECT_EQ(job.units_done, kUnits);
  EXPECT_EQ(store.measurements(id), uninterrupted);  // row for row, in the same order
  // Every unit started in some generation; in all, no more starts than units plus one per kill.
  size_t starts = 0;
  for (int generation = 0; generation <= kKills; ++generation)
    starts += test::read_lines((dir / ("started-" + std::to_string(generation) + ".log")).string()).size();
  EXPECT_LE(starts, static_cast<size_t>(kUnits + kKills));
}

}  // namespace
}  // namespace qs::kill_resume_test
