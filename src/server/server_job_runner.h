// The server's own job runner: one thread running jobs one at a time, in the order they were
// handed to it: the ones created or resumed through the API, at start every job a dead process
// left running, and jobs left queued by `--detach` for a while. Jobs run through the kind registry
// (jobs/job_kinds.h), exactly as `quantscope jobs resume` would run them, with no browser needed.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

namespace qs::server {

class ServerJobRunner {
 public:
  explicit ServerJobRunner(std::filesystem::path db);
  ~ServerJobRunner();  // stop()
  ServerJobRunner(const ServerJobRunner &) = delete;
  ServerJobRunner &operator=(const ServerJobRunner &) = delete;

  void start();                // queues the orphaned jobs and starts the thread
  // Run it when the jobs before it are done. hub_token: kept in memory for this job's runs (a
  // download's token is never written to the database).
  void enqueue(int64_t job_id, std::string hub_token = {});
  // Asks the running job to pause (it stops after its current unit, keeping every finished one)
  // and waits for it; queued ids stay queued in the database for the next start.
  void stop();

 private:
  void loop();
  std::optional<int64_t> next_job();
  void run_one(int64_t job_id);
  void queue_stale_jobs();

  std::filesystem::path db_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<int64_t> queue_;
  std::map<int64_t, std::string> hub_tokens_;
  std::optional<int64_t> running_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace qs::server
