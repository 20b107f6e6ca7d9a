// The kind -> resume function table that `jobs resume` consults.
#include <gtest/gtest.h>

#include "core/error.h"
#include "jobs/job_kinds.h"
#include "jobs/job_test_support.h"
#include "test_support.h"

namespace qs::job_kinds_test {
namespace {

const JobKindRegistration fake_kind{"test-fake-units", [](JobStore &store, const JobInfo &job, const RunOptions &options) {
  return run_job(store, job.id, test::fake_units(static_cast<int>(job.params.at("units"))), test::fake_result, options);
}};

TEST(JobKinds, RegisteredKindResumesItsJob) {
  EXPECT_EQ(find_job_kind("no-such-kind"), nullptr);
  const ResumeJobFunction *resume = find_job_kind("test-fake-units");
  ASSERT_NE(resume, nullptr);
  EXPECT_THROW(register_job_kind("test-fake-units", [](JobStore &, const JobInfo &, const RunOptions &) {
                 return RunOutcome{};
               }),
               Error);

  test::ScratchDir dir;
  JobStore store(dir / "jobs.db", test::fast_store_options());
  const int64_t id = store.create_job("test-fake-units", {{"units", 4}}, 4);
  store.pause_job(id);
  store.resume_job(id);
  const RunOutcome outcome = (*resume)(store, store.job(id), RunOptions{});
  EXPECT_EQ(outcome.state, JobState::done);
  EXPECT_EQ(store.measurements(id).size(), 4u);
}

}  // namespace
}  // namespace qs::job_kinds_test
