// Running a job unit by unit, crash-safe: the runner takes the job's lease (so no second process
// runs it), skips the units already recorded, commits each finished unit with the progress in one
// transaction before starting the next, renews its lease from a background thread, obeys pause
// and cancel requests between units, and ends the job done, failed, paused or cancelled.
//
// The measurement sweep uses it like this:
//
//   JobStore store(resolve_job_database_path(db_flag));
//   const int64_t job = store.create_job("measure", params, units.size());
//   std::vector<std::string> units;   // every unit, in the order to run them; for a sweep
//                                     // measurement_unit_key(tensor, type), so CSV imports line up
//   RunOutcome outcome = run_job(store, job, units, [&](const std::string &unit) {
//     UnitResult result;
//     result.measurements.push_back(measure(...));   // the rows this unit produces
//     return result;
//   }, options);
//
// After a crash, running the same call again (same unit list) continues where the dead process
// stopped: no unit is repeated, none is lost.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/progress.h"
#include "jobs/job_store.h"

namespace qs {

struct RunOptions {
  double lease_seconds = 30;       // a lease not renewed for this long lets another process take over
  double renew_every_seconds = 5;  // how often the background thread renews it
  ProgressSink *progress = nullptr;  // a progress bar, or nullptr
  std::string progress_label;        // defaults to "<kind> job <id>"
  // Work every unit needs, done once the lease is held and only when a unit is left (loading a
  // model, a reference run), before the job's own progress begins; it may report on the sink it
  // is given (the options' progress, or one that discards). Throwing fails the job like a unit.
  std::function<void(ProgressSink &)> prepare;
  // What a unit costs relative to the others (any positive scale), where units differ: the ETA
  // (the job's row, the progress bar) then follows the cost left instead of the count left. Unset:
  // every unit alike.
  std::function<double(const std::string &unit)> unit_cost;
  // A secret the job needs and the job database never holds: the Hub token of a download, handed
  // over by the process that runs it (the download command's --token, the server's request).
  std::string hub_token;
};

struct RunOutcome {
  JobState state = JobState::queued;  // done, failed, paused or cancelled
  std::string error;                  // why it failed
  int64_t units_run = 0;              // units this run executed and committed
  int64_t units_done = 0;             // of the unit list, after this run
  int64_t units_total = 0;
};

// Computes one unit of work. Throwing fails the job with the message (the unit is not recorded,
// so resuming the job retries it).
using UnitFunction = std::function<UnitResult(const std::string &unit_key)>;

// Runs `units` (the job's complete, ordered unit list; duplicates are refused) to the end, or until
// paused, cancelled or failed. Throws qs::Error when the job cannot run (another live process holds
// it; it is done, paused, failed or cancelled: resume it first) or the database fails (then the job
// is left to be resumed, with every committed unit kept).
RunOutcome run_job(JobStore &store, int64_t job_id, const std::vector<std::string> &units,
                   const UnitFunction &do_unit, const RunOptions &options = {});

// The lease-holding half of run_job, for callers that drive units themselves.
class JobRunner {
 public:
  // Takes the job's lease; nullptr when a live process holds it. Throws when the job cannot run.
  static std::unique_ptr<JobRunner> try_start(JobStore &store, int64_t job_id, int64_t units_total,
                                              const RunOptions &options);
  ~JobRunner();  // stops renewing; a run never finished is marked failed (if the lease is still ours)
  JobRunner(const JobRunner &) = delete;
  JobRunner &operator=(const JobRunner &) = delete;

  int64_t job_id() const { return job_id_; }
  const Lease &lease() const { return lease_; }

  // Asks the database whether another process wants the job paused or cancelled (between units).
  // Throws qs::Error if the lease was lost (another process took the job over).
  std::optional<JobState> stop_request();
  bool should_stop() { return stop_request().has_value(); }
  // What the renewal thread last saw, without touching the database: for a long unit that wants
  // to give up early (it then throws, and the job fails; or it finishes the unit and stops after).
  bool stop_requested_recently() const { return stop_seen_.load(); }

  // Commits one finished unit with the progress (units_done of units_total) and a fresh ETA: the
  // caller's `eta_seconds` where it weighs units by cost, else this run's pace per unit.
  // Throws qs::Error if the lease was lost (nothing is written then) or the database fails.
  void commit_unit(const std::string &unit_key, const UnitResult &result, int64_t units_done,
                   std::optional<double> eta_seconds = std::nullopt);

  // Ends the run (done, failed, paused, cancelled) and gives the lease back.
  void finish(JobState state, const std::string &error = {});
  // Best effort after an exception: marks the job failed with `why`, never throws.
  void abandon(const std::string &why) noexcept;

 private:
  JobRunner(JobStore &store, int64_t job_id, int64_t units_total, const RunOptions &options, Lease lease);
  void renew_loop();
  void stop_renewing();
  [[noreturn]] void fail_lease_lost(const std::string &doing);

  JobStore &store_;
  int64_t job_id_;
  int64_t units_total_;
  RunOptions options_;
  Lease lease_;
  bool finished_ = false;
  int64_t units_committed_ = 0;  // this run's, for the ETA
  std::chrono::steady_clock::time_point started_;

  std::atomic<bool> stop_seen_{false};
  std::atomic<bool> lease_lost_{false};
  std::mutex renew_mutex_;
  std::condition_variable renew_wake_;
  bool renew_stop_ = false;
  std::thread renew_thread_;
};

}  // namespace qs
