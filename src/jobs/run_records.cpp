// The runner's side of the job store: taking a job's lease, renewing it, committing one finished
// unit (its rows, its progress and the renewed lease in one transaction) and ending the run. Every
// write is guarded by the lease token, so a runner that lost its lease can no longer change the job.
#include "core/error.h"
#include "jobs/job_clock.h"
#include "jobs/job_store.h"
#include "jobs/sqlite_db.h"

namespace qs {
namespace {

JobStore::LeaseCheck read_lease_check(SqliteStatement &returning, const std::filesystem::path &db) {
  JobStore::LeaseCheck check;
  check.held = true;
  if (const auto requested = returning.optional_text(0)) {
    check.requested_state = parse_job_state(*requested);
    if (!check.requested_state)
      fail("job database ", db.string(), " is not a quantscope database or is corrupt (requested state '", *requested,
           "')");
  }
  return check;
}

}  // namespace

bool JobStore::try_acquire(int64_t job_id, const Lease &lease, int64_t units_total, double lease_seconds) {
  std::lock_guard lock(mutex_);
  SqliteTransaction transaction(*db_, SqliteTransaction::Kind::write, cat("taking job ", job_id));
  auto found = read_job(job_id);
  if (!found) fail("no job ", job_id, " in job database ", path_.string());
  const JobInfo &job = *found;
  switch (job.state) {
    case JobState::queued:
    case JobState::running:
      break;
    case JobState::paused:
      fail("job ", job_id, " is paused; `quantscope jobs resume ", job_id, "` lets it run again");
    case JobState::failed:
      fail("job ", job_id, " failed (", job.error, "); `quantscope jobs resume ", job_id, "` retries it");
    case JobState::done:
      fail("job ", job_id, " is already done");
    case JobState::cancelled:
      fail("job ", job_id, " was cancelled");
  }
  if (job.owner == OwnerStatus::alive) return false;
  // Compare-and-swap on the lease we saw: free, expired, or held by the dead process we found.
  // The write transaction already serialises us against other writers; the WHERE clause keeps the
  // take-over atomic on its own too.
  const double now = unix_now_seconds();
  SqliteStatement take(*db_,
                       "UPDATE jobs SET state = 'running', started_at = coalesce(started_at, ?1), updated_at = ?1, "
                       "units_total = ?2, error = NULL, eta_seconds = NULL, lease_host = ?3, lease_pid = ?4, "
                       "lease_pid_start = ?5, lease_token = ?6, lease_expires_at = ?7 "
                       "WHERE id = ?8 AND state IN ('queued', 'running') AND lease_token IS ?9 "
                       "AND (lease_token IS NULL OR lease_expires_at <= ?1 OR ?10)",
                       cat("taking job ", job_id));
  take.bind(1, now)
      .bind(2, units_total)
      .bind(3, lease.owner.host)
      .bind(4, lease.owner.pid)
      .bind(5, lease.owner.start_ticks)
      .bind(6, lease.token)
      .bind(7, now + lease_seconds)
      .bind(8, job_id)
      .bind(9, job.lease ? std::optional<std::string>(job.lease->token) : std::nullopt)
      .bind(10, static_cast<int64_t>(job.owner == OwnerStatus::gone))
      .run();
  const bool taken = db_->changes() == 1;
  transaction.commit();
  return taken;
}

JobStore::LeaseCheck JobStore::renew_lease(int64_t job_id, const std::string &token, double lease_seconds) {
  std::lock_guard lock(mutex_);
  SqliteStatement renew(*db_,
                        "UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND lease_token = ? AND state = 'running' "
                        "RETURNING requested_state",
                        cat("renewing the lease of job ", job_id));
  renew.bind(1, unix_now_seconds() + lease_seconds).bind(2, job_id).bind(3, token);
  if (!renew.step()) return {};
  const LeaseCheck check = read_lease_check(renew, path_);
  renew.run();
  return check;
}

JobStore::LeaseCheck JobStore::check_lease(int64_t job_id, const std::string &token) {
  std::lock_guard lock(mutex_);
  SqliteStatement query(*db_,
                        "SELECT requested_state FROM jobs WHERE id = ? AND lease_token = ? AND state = 'running'",
                        cat("checking the lease of job ", job_id));
  query.bind(1, job_id).bind(2, token);
  if (!query.step()) return {};
  return read_lease_check(query, path_);
}

JobStore::LeaseCheck JobStore::commit_unit(int64_t job_id, const std::string &token, const std::string &unit_key,
                                           const UnitResult &result, int64_t units_done,
                                           std::optional<double> eta_seconds, double lease_seconds) {
  const std::string where = cat("job ", job_id, ", unit ", unit_key);
  for (const auto &row : result.measurements) validate_measurement_row(row, where);
  std::lock_guard lock(mutex_);
  SqliteTransaction transaction(*db_, SqliteTransaction::Kind::write, cat("committing ", where));
  const double now = unix_now_seconds();
  SqliteStatement progress(*db_,
                           "UPDATE jobs SET units_done = ?, eta_seconds = ?, updated_at = ?, lease_expires_at = ? "
                           "WHERE id = ? AND lease_token = ? AND state = 'running' RETURNING requested_state",
                           cat("committing ", where));
  progress.bind(1, units_done).bind(2, eta_seconds).bind(3, now).bind(4, now + lease_seconds).bind(5, job_id).bind(6, token);
  if (!progress.step()) return {};  // the lease is not ours any more: write nothing
  const LeaseCheck check = read_lease_check(progress, path_);
  progress.run();

  {
    SqliteStatement seen(*db_, "SELECT 1 FROM units WHERE job_id = ? AND unit_key = ?", cat("committing ", where));
    seen.bind(1, job_id).bind(2, unit_key);
    if (seen.step()) fail(where, " is already committed; a unit is never stored twice");
  }
  SqliteStatement unit(*db_, "INSERT INTO units (job_id, unit_key, finished_at) VALUES (?, ?, ?)",
                       cat("committing ", where));
  unit.bind(1, job_id).bind(2, unit_key).bind(3, now).run();
  for (const auto &row : result.measurements) insert_measurement(job_id, row, where);
  for (const auto &artifact : result.artifacts) insert_artifact(job_id, artifact);
  transaction.commit();
  return check;
}

bool JobStore::finish_run(int64_t job_id, const std::string &token, JobState state, const std::string &error) {
  if (state == JobState::queued || state == JobState::running)
    fail("job ", job_id, ": a run cannot end in state ", job_state_name(state));
  std::lock_guard lock(mutex_);
  const double now = unix_now_seconds();
  SqliteStatement finish(*db_,
                         "UPDATE jobs SET state = ?1, requested_state = NULL, error = ?2, eta_seconds = NULL, "
                         "updated_at = ?3, finished_at = CASE WHEN ?4 THEN ?3 ELSE NULL END, lease_host = NULL, "
                         "lease_pid = NULL, lease_pid_start = NULL, lease_token = NULL, lease_expires_at = NULL "
                         "WHERE id = ?5 AND lease_token = ?6",
                         cat("ending the run of job ", job_id));
  finish.bind(1, job_state_name(state))
      .bind(2, error.empty() ? std::nullopt : std::optional<std::string>(error))
      .bind(3, now)
      .bind(4, static_cast<int64_t>(job_state_is_final(state)))
      .bind(5, job_id)
      .bind(6, token)
      .run();
  return db_->changes() == 1;
}

}  // namespace qs
