// The job store without a running runner: creating and reading jobs, pause/cancel/resume
// transitions, leases (free, live, expired, dead owner, reused pid), and rows stored at most once.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "core/error.h"
#include "jobs/job_clock.h"
#include "jobs/job_runner.h"
#include "jobs/job_store.h"
#include "jobs/sqlite_db.h"
#include "jobs/job_test_support.h"
#include "test_support.h"

namespace qs::job_store_test {
namespace {

using test::error_of;

// Puts a lease on job `id` by hand, as a runner on `host` with `pid` would have.
void set_lease(JobStore &store, int64_t id, const std::string &host, int64_t pid, int64_t start_ticks,
               double expires_at) {
  SqliteStatement update(store.database(),
                         "UPDATE jobs SET state = 'running', lease_host = ?, lease_pid = ?, lease_pid_start = ?, "
                         "lease_token = 'hand-made', lease_expires_at = ? WHERE id = ?",
                         "test");
  update.bind(1, host).bind(2, pid).bind(3, start_ticks).bind(4, expires_at).bind(5, id).run();
}

pid_t dead_pid() {
  const pid_t pid = test::fork_child([] { return 0; });
  test::wait_child(pid);  // reaped: the pid names no process now
  return pid;
}

class JobStoreTest : public ::testing::Test {
 protected:
  test::ScratchDir dir;
  JobStore store{dir / "jobs.db", test::fast_store_options()};
  Lease lease(const std::string &token) { return Lease{this_process(), token, 0}; }
};

TEST_F(JobStoreTest, CreatesAndReadsJobs) {
  const double before = unix_now_seconds();
  const int64_t first = store.create_job("measure", {{"model", "tiny"}, {"types", {"Q4_K", "Q8_0"}}}, 12);
  const int64_t second = store.create_job("quantize", nlohmann::json::object());
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 2);
  const JobInfo job = store.job(first);
  EXPECT_EQ(job.kind, "measure");
  EXPECT_EQ(job.params["types"][1], "Q8_0");
  EXPECT_EQ(job.state, JobState::queued);
  EXPECT_EQ(job.units_done, 0);
  EXPECT_EQ(job.units_total, 12);
  EXPECT_GE(job.created_at, before);
  EXPECT_FALSE(job.started_at);
  EXPECT_FALSE(job.lease);
  EXPECT_EQ(job.owner, OwnerStatus::none);
  const auto jobs = store.list_jobs();
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[1].kind, "quantize");
}

TEST_F(JobStoreTest, UnknownJobIsClearError) {
  const std::string message = error_of([&] { store.job(42); });
  EXPECT_NE(message.find("no job 42"), std::string::npos) << message;
  EXPECT_NE(message.find(store.path().string()), std::string::npos) << message;
  EXPECT_NE(error_of([&] { store.pause_job(42); }).find("no job 42"), std::string::npos);
  EXPECT_NE(error_of([&] { store.measurements(42); }).find("no job 42"), std::string::npos);
  EXPECT_NE(error_of([&] { store.job_detail(42); }).find("no job 42"), std::string::npos);
}

TEST_F(JobStoreTest, ControlOfJobsWithoutRunner) {
  const int64_t id = store.create_job("measure", nlohmann::json::object(), 3);
  auto result = store.pause_job(id);  // queued: nobody to ask, so at once
  EXPECT_EQ(result.state, JobState::paused);
  EXPECT_TRUE(result.changed);
  EXPECT_FALSE(result.waiting_for_runner);
  EXPECT_FALSE(store.pause_job(id).changed);  // already paused
  EXPECT_NE(error_of([&] { run_job(store, id, test::fake_units(3), test::fake_result); }).find("is paused"),
            std::string::npos);
  result = store.resume_job(id);
  EXPECT_EQ(result.state, JobState::queued);
  EXPECT_EQ(store.job(id).state, JobState::queued);
  result = store.cancel_job(id);
  EXPECT_EQ(result.state, JobState::cancelled);
  EXPECT_TRUE(store.job(id).finished_at);
  EXPECT_NE(error_of([&] { store.resume_job(id); }).find("was cancelled"), std::string::npos);
  EXPECT_NE(error_of([&] { store.pause_job(id); }).find("only a queued or running job"), std::string::npos);
  EXPECT_NE(error_of([&] { run_job(store, id, test::fake_units(3), test::fake_result); }).find("was cancelled"),
            std::string::npos);

  const int64_t done = store.create_job("measure", nlohmann::json::object(), 0);
  EXPECT_EQ(run_job(store, done, {}, test::fake_result).state, JobState::done);  // nothing to do: done
  EXPECT_NE(error_of([&] { store.cancel_job(done); }).find("already done"), std::string::npos);
  EXPECT_NE(error_of([&] { store.resume_job(done); }).find("already done"), std::string::npos);
}

TEST_F(JobStoreTest, LeaseIsTakenOnlyWhenFreeExpiredOrItsOwnerIsDead) {
  const int64_t id = store.create_job("measure", nlohmann::json::object(), 1);
  const double now = unix_now_seconds();
  const ProcessIdentity me = this_process();

  set_lease(store, id, "some-other-host", 1, 1, now + 1000);  // a remote runner, renewing
  EXPECT_EQ(store.job(id).owner, OwnerStatus::alive);
  EXPECT_FALSE(store.try_acquire(id, lease("a"), 1, 30));

  set_lease(store, id, "some-other-host", 1, 1, now - 1);  // the remote runner stopped renewing
  EXPECT_EQ(store.job(id).owner, OwnerStatus::gone);
  EXPECT_EQ(store.orphaned_jobs().size(), 1u);
  EXPECT_TRUE(store.try_acquire(id, lease("b"), 1, 30));
  EXPECT_EQ(store.job(id).lease->token, "b");

  set_lease(store, id, me.host, me.pid, me.start_ticks, now + 1000);  // this very process: alive
  EXPECT_EQ(store.job(id).owner, OwnerStatus::alive);
  EXPECT_FALSE(store.try_acquire(id, lease("c"), 1, 30));

  set_lease(store, id, me.host, me.pid, me.start_ticks + 1, now + 1000);  // our pid, another start: reused pid
  EXPECT_EQ(store.job(id).owner, OwnerStatus::gone);
  EXPECT_TRUE(store.try_acquire(id, lease("d"), 1, 30));

  set_lease(store, id, me.host, dead_pid(), me.start_ticks, now + 1000);  // killed, lease not yet expired
  EXPECT_EQ(store.job(id).owner, OwnerStatus::gone);
  EXPECT_EQ(store.orphaned_jobs().size(), 1u);
  EXPECT_TRUE(store.try_acquire(id, lease("e"), 1, 30));
  EXPECT_EQ(store.job(id).lease->owner, me);
  EXPECT_TRUE(store.orphaned_jobs().empty());
}

TEST_F(JobStoreTest, PauseOrCancelOfAJobWhoseRunnerDiedAppliesAtOnce) {
  const int64_t id = store.create_job("measure", nlohmann::json::object(), 1);
  const ProcessIdentity me = this_process();
  set_lease(store, id, me.host, dead_pid(), me.start_ticks, unix_now_seconds() + 1000);
  const auto paused = store.pause_job(id);
  EXPECT_EQ(paused.state, JobState::paused);
  EXPECT_FALSE(paused.waiting_for_runner);
  EXPECT_FALSE(store.job(id).lease);

  set_lease(store, id, me.host, me.pid, me.start_ticks, unix_now_seconds() + 1000);  // a live runner: ask it
  const auto asked = store.cancel_job(id);
  EXPECT_EQ(asked.state, JobState::running);
  EXPECT_TRUE(asked.waiting_for_runner);
  EXPECT_EQ(store.job(id).requested_state, JobState::cancelled);
  EXPECT_NE(error_of([&] { store.pause_job(id); }).find("being cancelled"), std::string::npos);
  const auto withdrawn = store.resume_job(id);  // takes the request back
  EXPECT_EQ(withdrawn.state, JobState::running);
  EXPECT_TRUE(withdrawn.changed);
  EXPECT_FALSE(store.job(id).requested_state);
}

TEST_F(JobStoreTest, AUnitOrRowIsNeverStoredTwice) {
  const int64_t id = store.create_job("measure", nlohmann::json::object(), 2);
  ASSERT_TRUE(store.try_acquire(id, lease("t"), 2, 30));
  const auto units = test::fake_units(2);
  EXPECT_TRUE(store.commit_unit(id, "t", units[0], test::fake_result(units[0]), 1, 1.0, 30).held);
  const std::string again = error_of([&] { store.commit_unit(id, "t", units[0], test::fake_result(units[0]), 2, 0.0, 30); });
  EXPECT_NE(again.find("already committed"), std::string::npos) << again;
  // Another unit carrying the same (tensor, type) row.
  const std::string same_row = error_of([&] { store.commit_unit(id, "t", units[1], test::fake_result(units[0]), 2, 0.0, 30); });
  EXPECT_NE(same_row.find("already has a measurement of tensor blk.0.ffn_up.weight as Q4_K"), std::string::npos)
      << same_row;
  EXPECT_EQ(store.measurements(id).size(), 1u);
  EXPECT_EQ(store.finished_units(id).size(), 1u);
  EXPECT_EQ(store.job(id).units_done, 1);  // the failed commits changed no progress either
}

TEST_F(JobStoreTest, ARunnerThatLostItsLeaseWritesNothing) {
  const int64_t id = store.create_job("measure", nlohmann::json::object(), 3);
  auto runner = JobRunner::try_start(store, id, 3, RunOptions{});
  ASSERT_TRUE(runner);
  const auto units = test::fake_units(3);
  runner->commit_unit(units[0], test::fake_result(units[0]), 1);
  // Another process decided this one was dead and took the job (here: by hand).
  SqliteStatement steal(store.database(), "UPDATE jobs SET lease_token = 'thief' WHERE id = ?", "test");
  steal.bind(1, id).run();
  const std::string message = error_of([&] { runner->commit_unit(units[1], test::fake_result(units[1]), 2); });
  EXPECT_NE(message.find("taken over by another process"), std::string::npos) << message;
  EXPECT_EQ(store.measurements(id).size(), 1u);
  runner.reset();  // must not mark the job failed: it is the thief's now
  const JobInfo job = store.job(id);
  EXPECT_EQ(job.state, JobState::running);
  EXPECT_EQ(job.lease->token, "thief");
  EXPECT_EQ(job.units_done, 1);
}

TEST_F(JobStoreTest, ArtifactsAreKeptPerJob) {
  const int64_t id = store.create_job("quantize", nlohmann::json::object(), 1);
  store.add_artifact(id, {"gguf", "/out/model-Q4_K.gguf"});
  store.add_artifact(id, {"strategy", "/out/s.yaml"});
  store.add_artifact(id, {"gguf", "/out/model-Q4_K.gguf"});  // the same file again: one row
  const std::vector<Artifact> expected{{"gguf", "/out/model-Q4_K.gguf"}, {"strategy", "/out/s.yaml"}};
  EXPECT_EQ(store.artifacts(id), expected);
  EXPECT_EQ(store.job_detail(id).artifacts, expected);
}

}  // namespace
}  // namespace qs::job_store_test

namespace qs::job_store_test {
namespace {

TEST(JobStoreOpening, ProcessesOpeningAFreshDatabaseTogetherAllSucceed) {
  // A GUI polling `jobs list` while `measure` creates the database: both switch the new file to
  // WAL at the same moment, which SQLite answers with an immediate "locked" instead of waiting.
  test::ScratchDir dir;
  for (int round = 0; round < 20; ++round) {
    const auto path = dir / ("fresh" + std::to_string(round) + ".db");
    std::vector<pid_t> children;
    for (int k = 0; k < 4; ++k) {
      children.push_back(test::fork_child([&] {
        JobStore store(path, test::fast_store_options());
        return store.list_jobs().empty() ? 0 : 1;
      }));
    }
    for (const pid_t child : children) EXPECT_EQ(test::wait_child(child), 0) << "round " << round;
  }
}

}  // namespace
}  // namespace qs::job_store_test
