// A full disk, simulated in a child process by a small RLIMIT_FSIZE (with SIGXFSZ ignored, so a
// write past it fails with EFBIG instead of killing the process): the runner stops with a clear
// error, and the database still opens and holds every unit committed before, no half of one.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include "core/error.h"
#include "jobs/job_runner.h"
#include "jobs/job_store.h"
#include "jobs/job_test_support.h"
#include "test_support.h"

namespace qs::disk_full_test {
namespace {

constexpr int kUnits = 100;

// Reports every committed unit count down a pipe (a pipe is not a file: the limit does not apply).
class PipeProgress final : public ProgressSink {
 public:
  explicit PipeProgress(test::UnitGate &pipe) : pipe_(pipe) {}
  void begin(const std::string &, int64_t) override {}
  void advance(int64_t) override { pipe_.grant(1); }
  void end() override {}

 private:
  test::UnitGate &pipe_;
};

TEST(JobDiskFull, StopsWithClearErrorAndKeepsEveryCommittedUnit) {
  test::ScratchDir dir;
  const auto db = dir / "jobs.db";
  int64_t id;
  {
    JobStore store(db);
    id = store.create_job("measure", nlohmann::json::object(), kUnits);
  }
  const auto db_bytes = static_cast<rlim_t>(std::filesystem::file_size(db));
  test::UnitGate committed;  // one token per advance(): the first is the start (0 done)
  const pid_t child = test::fork_child([&] {
    committed.close_read();
    signal(SIGXFSZ, SIG_IGN);
    // Room for the database as it is plus about ten units in the WAL (each commit appends a few
    // 4 KiB pages), far less than 100 units need.
    const rlimit limit{db_bytes + 64 * 1024, db_bytes + 64 * 1024};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) return 2;
    JobStore store(db, JobStore::Options{});
    PipeProgress progress(committed);
    RunOptions options;
    options.progress = &progress;
    try {
      run_job(store, id, test::fake_units(kUnits), test::fake_result, options);
    } catch (const Error &e) {
      const std::string message = e.what();
      std::fprintf(stderr, "expected error: %s\n", e.what());
      const bool clear = message.find("job database " + db.string()) != std::string::npos &&
                         message.find("disk full or I/O error") != std::string::npos;
      return clear ? 0 : 3;
    }
    return 4;  // it should not have found room for every unit
  });
  committed.close_write();
  EXPECT_EQ(test::wait_child(child), 0);
  // What the child saw committed: every token it sent after the first.
  const int units_committed = committed.drain() - 1;
  ASSERT_GT(units_committed, 0);
  ASSERT_LT(units_committed, kUnits);

  JobStore store(db, test::fast_store_options());  // opens despite the failed writes
  const JobDetail detail = store.job_detail(id);
  EXPECT_EQ(detail.unit_count, units_committed);
  EXPECT_EQ(detail.measurement_count, units_committed);
  EXPECT_EQ(detail.job.units_done, units_committed);
  std::vector<MeasurementRow> expected;
  for (int i = 0; i < units_committed; ++i) expected.push_back(test::fake_row(i));
  EXPECT_EQ(store.measurements(id), expected);

  // With room again, the job finishes from where it stopped (the runner may or may not have been
  // able to mark it failed; either way it can be resumed).
  const JobInfo stopped = store.job(id);
  if (stopped.state != JobState::running || stopped.owner != OwnerStatus::gone) {
    EXPECT_EQ(stopped.state, JobState::failed);
  }
  store.resume_job(id);
  const RunOutcome outcome = run_job(store, id, test::fake_units(kUnits), test::fake_result);
  EXPECT_EQ(outcome.state, JobState::done);
  EXPECT_EQ(outcome.units_run, kUnits - units_committed);
  EXPECT_EQ(store.measurements(id).size(), static_cast<size_t>(kUnits));
}

}  // namespace
}  // namespace qs::disk_full_test
