// ServerJobRunner: a queue, a thread, and the job kind registry.
#include "server/server_job_runner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "jobs/job_clock.h"
#include "jobs/job_kinds.h"
#include "jobs/job_store.h"

namespace qs::server {
namespace {

// A job queued this long ago by another process (`measure --detach`) is waiting for a runner: a
// CLI run that creates its job and starts it at once is far quicker, so it is never taken over.
constexpr double kStaleQueuedSeconds = 10;
constexpr auto kIdlePoll = std::chrono::seconds(2);

// Whether this runner may take the job now: queued, or left running by a process that is gone.
bool runnable(const JobInfo &job) {
  return job.state == JobState::queued || (job.state == JobState::running && job.owner == OwnerStatus::gone);
}

}  // namespace

ServerJobRunner::ServerJobRunner(std::filesystem::path db) : db_(std::move(db)) {}

ServerJobRunner::~ServerJobRunner() { stop(); }

void ServerJobRunner::start() {
  JobStore store(db_);
  for (const JobInfo &job : store.orphaned_jobs()) enqueue(job.id);
  thread_ = std::thread([this] { loop(); });
}

void ServerJobRunner::enqueue(int64_t job_id, std::string hub_token) {
  {
    std::lock_guard lock(mutex_);
    if (!hub_token.empty()) hub_tokens_[job_id] = std::move(hub_token);
    if (std::find(queue_.begin(), queue_.end(), job_id) != queue_.end() || running_ == job_id) return;
    queue_.push_back(job_id);
  }
  wake_.notify_all();
}

void ServerJobRunner::stop() {
  std::optional<int64_t> running;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    running = running_;
  }
  wake_.notify_all();
  if (running) {
    try {
      JobStore store(db_);
      store.pause_job(*running);
    } catch (const std::exception &e) {
      std::fprintf(stderr, "quantscope serve: could not pause job %lld: %s\n", static_cast<long long>(*running), e.what());
    }
  }
  if (thread_.joinable()) thread_.join();
}

std::optional<int64_t> ServerJobRunner::next_job() {
  std::unique_lock lock(mutex_);
  while (!stopping_ && queue_.empty()) {
    if (wake_.wait_for(lock, kIdlePoll) == std::cv_status::timeout) {
      lock.unlock();
      queue_stale_jobs();
      lock.lock();
    }
  }
  if (stopping_) return std::nullopt;
  const int64_t id = queue_.front();
  queue_.pop_front();
  running_ = id;
  return id;
}

void ServerJobRunner::queue_stale_jobs() {
  try {
    JobStore store(db_);
    const double now = unix_now_seconds();
    for (const JobInfo &job : store.list_jobs())
      if (job.state == JobState::queued && now - job.updated_at > kStaleQueuedSeconds && find_job_kind(job.kind))
        enqueue(job.id);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "quantscope serve: reading the job database: %s\n", e.what());
  }
}

void ServerJobRunner::run_one(int64_t job_id) {
  try {
    JobStore store(db_);
    const auto job = store.find_job(job_id);
    if (!job || !runnable(*job)) return;  // paused or cancelled while it waited, or done elsewhere
    const ResumeJobFunction *run = find_job_kind(job->kind);
    if (!run) {
      std::fprintf(stderr, "quantscope serve: job %lld: no command of this quantscope runs jobs of kind '%s'\n",
                   static_cast<long long>(job_id), job->kind.c_str());
      return;
    }
    RunOptions options;
    {
      std::lock_guard lock(mutex_);
      if (const auto token = hub_tokens_.find(job_id); token != hub_tokens_.end()) options.hub_token = token->second;
    }
    const RunOutcome outcome = (*run)(store, *job, options);
    if (job_state_is_final(outcome.state)) {
      std::lock_guard lock(mutex_);
      hub_tokens_.erase(job_id);
    }
    std::fprintf(stderr, "quantscope serve: job %lld %s at %lld/%lld units%s%s\n", static_cast<long long>(job_id),
                 job_state_name(outcome.state), static_cast<long long>(outcome.units_done),
                 static_cast<long long>(outcome.units_total), outcome.error.empty() ? "" : ": ", outcome.error.c_str());
  } catch (const std::exception &e) {
    // Another process holds it, or the database failed: the job keeps its state for a later run.
    std::fprintf(stderr, "quantscope serve: job %lld not run: %s\n", static_cast<long long>(job_id), e.what());
  }
}

void ServerJobRunner::loop() {
  while (const auto id = next_job()) {
    run_one(*id);
    std::lock_guard lock(mutex_);
    running_.reset();
  }
}

}  // namespace qs::server
