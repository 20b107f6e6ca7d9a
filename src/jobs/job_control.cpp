// Pause, cancel and resume from any process. Each decision (read the job, choose, write) happens
// inside one write transaction, so it cannot interleave with a runner taking or finishing the job.
// A job without a live runner changes state at once; a live runner is asked through
// requested_state and obeys between units (it is the only writer of its job's state while it runs).
#include "core/error.h"
#include "jobs/job_clock.h"
#include "jobs/job_store.h"
#include "jobs/sqlite_db.h"

namespace qs {
namespace {

bool has_live_runner(const JobInfo &job) { return job.state == JobState::running && job.owner == OwnerStatus::alive; }

void set_requested_state(SqliteDatabase &db, int64_t id, std::optional<JobState> requested) {
  SqliteStatement update(db, "UPDATE jobs SET requested_state = ?, updated_at = ? WHERE id = ?",
                         cat("asking the runner of job ", id));
  if (requested) update.bind(1, job_state_name(*requested));
  else update.bind_null(1);
  update.bind(2, unix_now_seconds()).bind(3, id).run();
}

// Sets the state of a job nobody runs, dropping any lease left by a dead runner and any request.
void set_state_directly(SqliteDatabase &db, int64_t id, JobState state) {
  const bool final_state = job_state_is_final(state);
  SqliteStatement update(db,
                         "UPDATE jobs SET state = ?1, requested_state = NULL, eta_seconds = NULL, updated_at = ?2, "
                         "finished_at = CASE WHEN ?3 THEN ?2 ELSE NULL END, "
                         "error = CASE WHEN ?4 THEN NULL ELSE error END, "
                         "lease_host = NULL, lease_pid = NULL, lease_pid_start = NULL, lease_token = NULL, "
                         "lease_expires_at = NULL WHERE id = ?5",
                         cat("changing the state of job ", id));
  const double now = unix_now_seconds();
  update.bind(1, job_state_name(state))
      .bind(2, now)
      .bind(3, static_cast<int64_t>(final_state))
      .bind(4, static_cast<int64_t>(state == JobState::queued))
      .bind(5, id)
      .run();
}

std::string owner_words(const JobInfo &job) {
  if (!job.lease) return "";
  return cat(" (process ", job.lease->owner.pid, " on ", job.lease->owner.host, ")");
}

}  // namespace

ControlResult JobStore::pause_job(int64_t id) {
  std::lock_guard lock(mutex_);
  SqliteTransaction transaction(*db_, SqliteTransaction::Kind::write, cat("pausing job ", id));
  auto found = read_job(id);
  if (!found) fail("no job ", id, " in job database ", path_.string());
  const JobInfo &job = *found;
  ControlResult result{job.state};
  switch (job.state) {
    case JobState::queued:
      set_state_directly(*db_, id, JobState::paused);
      result = {JobState::paused, true, false};
      break;
    case JobState::running:
      if (!has_live_runner(job)) {  // its process died: nobody would obey a request
        set_state_directly(*db_, id, JobState::paused);
        result = {JobState::paused, true, false};
      } else if (job.requested_state == JobState::cancelled) {
        fail("job ", id, " is being cancelled", owner_words(job), "; it cannot be paused");
      } else {
        if (job.requested_state != JobState::paused) set_requested_state(*db_, id, JobState::paused);
        result = {JobState::running, job.requested_state != JobState::paused, true};
      }
      break;
    case JobState::paused:
      break;
    default:
      fail("job ", id, " is ", job_state_name(job.state), "; only a queued or running job can be paused");
  }
  transaction.commit();
  return result;
}

ControlResult JobStore::cancel_job(int64_t id) {
  std::lock_guard lock(mutex_);
  SqliteTransaction transaction(*db_, SqliteTransaction::Kind::write, cat("cancelling job ", id));
  auto found = read_job(id);
  if (!found) fail("no job ", id, " in job database ", path_.string());
  const JobInfo &job = *found;
  ControlResult result{job.state};
  switch (job.state) {
    case JobState::queued:
    case JobState::paused:
    case JobState::failed:
      set_state_directly(*db_, id, JobState::cancelled);
      result = {JobState::cancelled, true, false};
      break;
    case JobState::running:
      if (!has_live_runner(job)) {
        set_state_directly(*db_, id, JobState::cancelled);
        result = {JobState::cancelled, true, false};
      } else {
        if (job.requested_state != JobState::cancelled) set_requested_state(*db_, id, JobState::cancelled);
        result = {JobState::running, job.requested_state != JobState::cancelled, true};
      }
      break;
    case JobState::cancelled:
      break;
    case JobState::done:
      fail("job ", id, " is already done; there is nothing to cancel");
  }
  transaction.commit();
  return result;
}

ControlResult JobStore::resume_job(int64_t id) {
  std::lock_guard lock(mutex_);
  SqliteTransaction transaction(*db_, SqliteTransaction::Kind::write, cat("resuming job ", id));
  auto found = read_job(id);
  if (!found) fail("no job ", id, " in job database ", path_.string());
  const JobInfo &job = *found;
  ControlResult result{job.state};
  switch (job.state) {
    case JobState::paused:
    case JobState::failed:
      set_state_directly(*db_, id, JobState::queued);
      result = {JobState::queued, true, false};
      break;
    case JobState::running:
      if (!has_live_runner(job)) {
        set_state_directly(*db_, id, JobState::queued);
        result = {JobState::queued, true, false};
      } else {
        // Still running: take back a pause or cancel it has not acted on yet.
        if (job.requested_state) set_requested_state(*db_, id, std::nullopt);
        result = {JobState::running, job.requested_state.has_value(), false};
      }
      break;
    case JobState::queued:
      break;
    case JobState::done:
      fail("job ", id, " is already done; there is nothing to resume");
    case JobState::cancelled:
      fail("job ", id, " was cancelled and cannot be resumed; start a new job");
  }
  transaction.commit();
  return result;
}

}  // namespace qs
