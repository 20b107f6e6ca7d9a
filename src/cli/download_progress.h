// What `download` shows while it runs: on a terminal, one bar per file in flight and one for the
// total, redrawn in place (at most 10 times a second); elsewhere (logs, CI) the total as
// ProgressBar prints it, every 10 s. Each finished file gets a line of its own either way.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include "core/progress.h"
#include "hub/hub_api.h"
#include "hub/hub_transfer.h"

namespace qs::cli {

class DownloadProgress final : public ProgressSink {
 public:
  explicit DownloadProgress(bool enabled) : enabled_(enabled), terminal_(::isatty(2) != 0), fallback_(enabled && !terminal_) {}

  // The total, in bytes (ProgressSink).
  void begin(const std::string &label, int64_t total) override {
    fallback_.begin(label + " (bytes)", total);
    std::lock_guard lock(mutex_);
    label_ = label;
    total_ = total;
    draw(true);
  }
  void advance(int64_t done) override {
    fallback_.advance(done);
    std::lock_guard lock(mutex_);
    done_ = done;
    draw(false);
  }
  void end() override {
    fallback_.end();
    std::lock_guard lock(mutex_);
    draw(true);
  }

  void file_progress(const HubFile &file, int64_t bytes_on_disk) {
    std::lock_guard lock(mutex_);
    files_[file.path] = {bytes_on_disk, file.size};
    draw(false);
  }
  void file_done(const HubFile &file, const HubFetchResult &result) {
    std::lock_guard lock(mutex_);
    files_.erase(file.path);
    if (!enabled_) return;
    erase_drawn();
    std::fprintf(stderr, "%s %s (%s)\n", result.reused ? "cached " : "fetched", file.path.c_str(),
                 format_bytes(static_cast<uint64_t>(result.size)).c_str());
    draw(true);
  }

 private:
  static std::string bar(int64_t done, int64_t total, int width) {
    const double fraction = total > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 0.0;
    const int filled = static_cast<int>(fraction * width);
    return std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(width - filled), '.');
  }
  void erase_drawn() {
    for (; lines_drawn_ > 0; --lines_drawn_) std::fputs("\033[1A\033[2K", stderr);
  }
  void draw(bool now) {
    if (!enabled_ || !terminal_) return;
    const auto t = std::chrono::steady_clock::now();
    if (!now && t - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = t;
    erase_drawn();
    for (const auto &[path, progress] : files_) {
      std::fprintf(stderr, "  %-40.40s [%s] %s / %s\n", path.c_str(), bar(progress.first, progress.second, 20).c_str(),
                   format_bytes(static_cast<uint64_t>(std::max<int64_t>(progress.first, 0))).c_str(),
                   format_bytes(static_cast<uint64_t>(std::max<int64_t>(progress.second, 0))).c_str());
      ++lines_drawn_;
    }
    std::fprintf(stderr, "%s [%s] %s / %s\n", label_.c_str(), bar(done_, total_, 30).c_str(),
                 format_bytes(static_cast<uint64_t>(std::max<int64_t>(done_, 0))).c_str(),
                 format_bytes(static_cast<uint64_t>(std::max<int64_t>(total_, 0))).c_str());
    ++lines_drawn_;
    std::fflush(stderr);
  }

  bool enabled_, terminal_;
  ProgressBar fallback_;  // off a terminal
  std::mutex mutex_;
  std::string label_;
  int64_t total_ = 0, done_ = 0;
  std::map<std::string, std::pair<int64_t, int64_t>> files_;  // in flight: bytes on disk, size
  int lines_drawn_ = 0;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace qs::cli
