// Terminal rendering of ProgressBar plus human formatting of sizes and durations.
#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace qs {

ProgressBar::ProgressBar(bool enabled) : enabled_(enabled), is_terminal_(::isatty(2) != 0) {}

void ProgressBar::begin(const std::string &label, int64_t total) {
  std::lock_guard<std::mutex> lock(mutex_);
  label_ = label;
  total_ = total;
  done_ = 0;
  work_start_.reset();
  work_ = 0;
  start_ = last_draw_ = std::chrono::steady_clock::now();
  if (enabled_ && is_terminal_) draw(false);
}

void ProgressBar::advance(int64_t done) {
  std::lock_guard<std::mutex> lock(mutex_);
  advance_locked(done);
}

void ProgressBar::advance_work(int64_t done, double work_fraction) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!work_start_) work_start_ = work_fraction;
  work_ = work_fraction;
  advance_locked(done);
}

void ProgressBar::advance_locked(int64_t done) {
  done_ = done;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  // Off a terminal (logs, CI) a line every 10 s is plenty; on one, redraw at most 10 times/s.
  const auto interval = is_terminal_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(10000);
  if (now - last_draw_ >= interval) {
    last_draw_ = now;
    draw(false);
  }
}

void ProgressBar::end() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (enabled_) draw(true);
}

void ProgressBar::draw(bool final_line) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double fraction = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  constexpr int width = 30;
  const int filled = static_cast<int>(fraction * width);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(width - filled), '.');
  std::string eta = "--";
  const std::optional<double> left =
      work_start_ ? remaining_seconds(elapsed, work_ - *work_start_, 1.0 - work_)
                  : remaining_seconds(elapsed, static_cast<double>(done_), static_cast<double>(total_ - done_));
  if (left && done_ < total_) eta = format_duration(*left);
  const char *lead = is_terminal_ ? "\r\033[K" : "";
  std::fprintf(stderr, "%s%s [%s] %lld/%lld %3.0f%% %s elapsed, ETA %s", lead, label_.c_str(), bar.c_str(),
               static_cast<long long>(done_), static_cast<long long>(total_), fraction * 100.0,
               format_duration(elapsed).c_str(), final_line ? "0s" : eta.c_str());
  if (final_line || !is_terminal_) std::fputc('\n', stderr);
  std::fflush(stderr);
}

std::optional<double> remaining_seconds(double elapsed, double work_done, double work_left) {
  if (!(work_done > 0)) return std::nullopt;
  return elapsed / work_done * std::max(work_left, 0.0);
}

std::string format_duration(double seconds) {
  char buf[32];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else if (seconds < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(seconds) / 60, static_cast<int>(seconds) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(seconds) / 3600, static_cast<int>(seconds) / 60 % 60);
  }
  return buf;
}

std::string format_bytes(uint64_t bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  char buf[32];
  if (unit == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.2f %s", value, units[unit]);
  return buf;
}

}  // namespace qs
