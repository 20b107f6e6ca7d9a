// A progress bar for long work, like llama.cpp's and huggingface_hub's: label, bar, done/total,
// rate and ETA on stderr, redrawn in place on a terminal and printed sparsely otherwise.
// Library code reports progress through ProgressSink so that the CLI (bar), the job store
// (database row) and the server (events) can all watch the same work.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace qs {

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void begin(const std::string &label, int64_t total) = 0;
  virtual void advance(int64_t done) = 0;  // absolute count of finished units
  // advance() with the share of the work done (0..1), where units differ in cost: the ETA then
  // follows the work rather than the count. The first call after begin() is where this run
  // started (a resumed job's earlier units took no time of its).
  virtual void advance_work(int64_t done, double work_fraction) { advance(done); }
  virtual void end() = 0;
};

// Seconds left at this run's pace: `elapsed` seconds did `work_done` (this run's, in any unit),
// `work_left` remains; unknown (nullopt) before any work is done.
std::optional<double> remaining_seconds(double elapsed, double work_done, double work_left);

// Discards everything; the default when nobody watches.
class NullProgress final : public ProgressSink {
 public:
  void begin(const std::string &, int64_t) override {}
  void advance(int64_t) override {}
  void end() override {}
};

class ProgressBar final : public ProgressSink {
 public:
  explicit ProgressBar(bool enabled = true);
  void begin(const std::string &label, int64_t total) override;
  void advance(int64_t done) override;
  void advance_work(int64_t done, double work_fraction) override;
  void end() override;

 private:
  void advance_locked(int64_t done);
  void draw(bool final_line);
  bool enabled_;
  bool is_terminal_;
  std::mutex mutex_;
  std::string label_;
  int64_t total_ = 0;
  int64_t done_ = 0;
  std::optional<double> work_start_;  // the work share at this run's start, once advance_work is used
  double work_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12.3s"
std::string format_bytes(uint64_t bytes);     // "1.50 GiB"

}  // namespace qs
