// The job runner: lease, renewal thread, unit-by-unit commits, pause/cancel between units, ETA.
#include "jobs/job_runner.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"

namespace qs {

std::unique_ptr<JobRunner> JobRunner::try_start(JobStore &store, int64_t job_id, int64_t units_total,
                                                const RunOptions &options) {
  if (!(options.lease_seconds > 0) || !(options.renew_every_seconds > 0))
    fail("job ", job_id, ": lease and renewal periods must be positive");
  Lease lease{this_process(), new_lease_token(), 0};
  if (!store.try_acquire(job_id, lease, units_total, options.lease_seconds)) return nullptr;
  return std::unique_ptr<JobRunner>(new JobRunner(store, job_id, units_total, options, std::move(lease)));
}

JobRunner::JobRunner(JobStore &store, int64_t job_id, int64_t units_total, const RunOptions &options, Lease lease)
    : store_(store),
      job_id_(job_id),
      units_total_(units_total),
      options_(options),
      lease_(std::move(lease)),
      started_(std::chrono::steady_clock::now()) {
  renew_thread_ = std::thread([this] { renew_loop(); });
}

JobRunner::~JobRunner() {
  if (!finished_) abandon("the runner stopped without finishing the job");
  stop_renewing();
}

void JobRunner::renew_loop() {
  const auto period = std::chrono::duration<double>(options_.renew_every_seconds);
  std::unique_lock lock(renew_mutex_);
  while (!renew_wake_.wait_for(lock, period, [this] { return renew_stop_; })) {
    lock.unlock();
    try {
      const auto check = store_.renew_lease(job_id_, lease_.token, options_.lease_seconds);
      if (!check.held) lease_lost_ = true;
      stop_seen_ = check.requested_state.has_value();
    } catch (const std::exception &) {
      // A busy or failing database: try again next period. If it stays unusable, the lease
      // expires and the next commit finds out.
    }
    lock.lock();
  }
}

void JobRunner::stop_renewing() {
  {
    std::lock_guard lock(renew_mutex_);
    renew_stop_ = true;
  }
  renew_wake_.notify_all();
  if (renew_thread_.joinable()) renew_thread_.join();
}

void JobRunner::fail_lease_lost(const std::string &doing) {
  lease_lost_ = true;
  finished_ = true;  // the job is someone else's now: leave its row alone
  stop_renewing();
  fail("job ", job_id_, " was taken over by another process (or changed by hand) while this one ran it; ", doing,
       " stopped without writing anything");
}

std::optional<JobState> JobRunner::stop_request() {
  const auto check = store_.check_lease(job_id_, lease_.token);
  if (!check.held || lease_lost_) fail_lease_lost("this run");
  stop_seen_ = check.requested_state.has_value();
  return check.requested_state;
}

void JobRunner::commit_unit(const std::string &unit_key, const UnitResult &result, int64_t units_done,
                            std::optional<double> eta_seconds) {
  // This run's own pace: units finished before a crash took unknown time.
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const auto remaining = static_cast<double>(std::max<int64_t>(units_total_ - units_done, 0));
  const double eta = eta_seconds ? *eta_seconds : *remaining_seconds(elapsed, static_cast<double>(units_committed_ + 1), remaining);
  const auto check =
      store_.commit_unit(job_id_, lease_.token, unit_key, result, units_done, eta, options_.lease_seconds);
  if (!check.held) fail_lease_lost(cat("unit ", unit_key));
  ++units_committed_;
  stop_seen_ = check.requested_state.has_value();
}

void JobRunner::finish(JobState state, const std::string &error) {
  stop_renewing();
  finished_ = true;
  if (!store_.finish_run(job_id_, lease_.token, state, error)) fail_lease_lost("ending the run");
}

void JobRunner::abandon(const std::string &why) noexcept {
  if (finished_) return;
  finished_ = true;
  stop_renewing();
  try {
    store_.finish_run(job_id_, lease_.token, JobState::failed, why);
  } catch (...) {
    // The database itself is failing (disk full, I/O error): the job stays "running" under a
    // dead owner, and the next start finds it and resumes it from its last committed unit.
  }
}

RunOutcome run_job(JobStore &store, int64_t job_id, const std::vector<std::string> &units,
                   const UnitFunction &do_unit, const RunOptions &options) {
  {
    std::set<std::string> distinct;
    for (const auto &unit : units)
      if (!distinct.insert(unit).second) fail("job ", job_id, ": unit ", unit, " is listed twice");
  }
  const auto units_total = static_cast<int64_t>(units.size());
  auto runner = JobRunner::try_start(store, job_id, units_total, options);
  if (!runner) {
    const JobInfo job = store.job(job_id);
    if (job.lease)
      fail("job ", job_id, " is already running in process ", job.lease->owner.pid, " on ", job.lease->owner.host);
    fail("job ", job_id, " is already running in another process");
  }

  RunOutcome outcome;
  outcome.units_total = units_total;
  const std::set<std::string> finished = store.finished_units(job_id);
  for (const auto &unit : units) outcome.units_done += finished.count(unit);

  ProgressSink *progress = options.progress;
  if (options.prepare && outcome.units_done < units_total) {
    NullProgress quiet;
    try {
      options.prepare(progress ? *progress : quiet);
    } catch (const std::exception &e) {
      outcome.state = JobState::failed;
      outcome.error = cat("preparing the units: ", e.what());
      runner->finish(JobState::failed, outcome.error);
      return outcome;
    }
  }
  // The work by cost, where the caller weighs units (RunOptions::unit_cost): the ETA's pace is this
  // run's cost done over its time, from here (after the preparation).
  std::map<std::string, double> cost;
  double cost_total = 0, cost_done = 0;
  if (options.unit_cost)
    for (const auto &unit : units) {
      const double c = std::max(options.unit_cost(unit), 0.0);
      cost[unit] = c;
      cost_total += c;
      if (finished.count(unit)) cost_done += c;
    }
  const double cost_done_before = cost_done;
  const auto units_started = std::chrono::steady_clock::now();
  auto report_progress = [&] {
    if (!progress) return;
    if (options.unit_cost)
      progress->advance_work(outcome.units_done, cost_total > 0 ? cost_done / cost_total : 1.0);
    else
      progress->advance(outcome.units_done);
  };
  if (progress)
    progress->begin(options.progress_label.empty() ? cat(store.job(job_id).kind, " job ", job_id) : options.progress_label,
                    units_total);
  report_progress();
  std::optional<JobState> stop;
  try {
    for (const auto &unit : units) {
      if (finished.count(unit)) continue;
      if ((stop = runner->stop_request())) break;
      UnitResult result;
      try {
        result = do_unit(unit);
      } catch (const std::exception &e) {
        outcome.state = JobState::failed;
        outcome.error = cat("unit ", unit, ": ", e.what());
        runner->finish(JobState::failed, outcome.error);
        if (progress) progress->end();
        return outcome;
      }
      std::optional<double> eta;
      if (options.unit_cost) {
        cost_done += cost[unit];
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - units_started).count();
        eta = remaining_seconds(elapsed, cost_done - cost_done_before, cost_total - cost_done);
      }
      runner->commit_unit(unit, result, outcome.units_done + 1, eta);
      ++outcome.units_done;
      ++outcome.units_run;
      report_progress();
    }
    outcome.state = stop ? *stop : JobState::done;
    runner->finish(outcome.state);
  } catch (const std::exception &e) {
    runner->abandon(e.what());
    if (progress) progress->end();
    throw;
  }
  if (progress) progress->end();
  return outcome;
}

}  // namespace qs
