// Shared pieces of the job store tests: fake units whose rows are computed by hand-checkable
// arithmetic, child processes (fork, then kill or wait), a pipe that lets a child start one unit
// per token, and bounded waiting for a condition.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "jobs/job_store.h"
#include "jobs/measurement_row.h"

namespace qs::test {

// Unit i measures tensor "blk.<i/2>.ffn_up.weight" as Q4_K (even i) or Q8_0 (odd i).
inline std::string fake_tensor(int i) { return "blk." + std::to_string(i / 2) + ".ffn_up.weight"; }
inline std::string fake_type(int i) { return i % 2 == 0 ? "Q4_K" : "Q8_0"; }

inline std::vector<std::string> fake_units(int n) {
  std::vector<std::string> units;
  for (int i = 0; i < n; ++i) units.push_back(measurement_unit_key(fake_tensor(i), fake_type(i)));
  return units;
}

inline int fake_unit_index(const std::string &key) {
  // "blk.<b>.ffn_up.weight:<type>" -> 2*b + (type == Q8_0)
  const int block = std::stoi(key.substr(4));
  return 2 * block + (key.substr(key.rfind(':') + 1) == "Q8_0" ? 1 : 0);
}

// The row unit i must produce: bits of the type (4.5 for Q4_K, 8.5 for Q8_0 by their block layouts),
// params = 4096 * (block + 1), rmse = 1 / (i + 1), kld = i / 1024 (exact in binary), no other metrics.
inline MeasurementRow fake_row(int i) {
  MeasurementRow row;
  row.tensor = fake_tensor(i);
  row.type = fake_type(i);
  row.bits = i % 2 == 0 ? 4.5 : 8.5;
  row.params = 4096 * (i / 2 + 1);
  row.set(Metric::rmse, 1.0 / (i + 1)).set(Metric::kld, i / 1024.0);
  return row;
}

inline UnitResult fake_result(const std::string &key) {
  UnitResult result;
  result.measurements.push_back(fake_row(fake_unit_index(key)));
  return result;
}

// Polls `condition` until it holds; false after a deadline far beyond any normal run (so a hang
// fails the test instead of blocking it forever). Never used to judge speed.
inline bool wait_until(const std::function<bool()> &condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

// Runs `body` in a forked child and ends the child with its return value (or 99 if it threw).
// A child that opens the database must be forked while the parent holds no JobStore open (SQLite
// forbids carrying a connection into a child); children open their own.
inline pid_t fork_child(const std::function<int()> &body) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid != 0) return pid;
  int code = 99;
  try {
    code = body();
  } catch (const std::exception &e) {
    std::fprintf(stderr, "child %d: %s\n", static_cast<int>(getpid()), e.what());
  } catch (...) {
  }
  std::fflush(nullptr);
  _exit(code);
}

// The child's exit code, or 128 + signal if a signal ended it.
inline int wait_child(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

// A pipe of tokens: the parent grants n, the child takes one before each unit, so the parent
// decides how far the child can get without relying on timing.
class UnitGate {
 public:
  UnitGate() {
    if (pipe(fds_) != 0) std::terminate();
  }
  ~UnitGate() {
    close_read();
    close_write();
  }
  void grant(int n) {
    for (int i = 0; i < n; ++i)
      while (write(fds_[1], "t", 1) != 1) {
      }
  }
  void take(int n = 1) {
    for (int i = 0; i < n; ++i) {
      char token;
      while (read(fds_[0], &token, 1) != 1) {
      }
    }
  }
  // Counts the tokens left, up to end of file (every write end must be closed by then).
  int drain() {
    int count = 0;
    char buffer[256];
    for (;;) {
      const ssize_t got = read(fds_[0], buffer, sizeof buffer);
      if (got > 0) count += static_cast<int>(got);
      else if (got == 0 || errno != EINTR) return count;
    }
  }
  void close_read() {
    if (fds_[0] >= 0) close(fds_[0]);
    fds_[0] = -1;
  }
  void close_write() {
    if (fds_[1] >= 0) close(fds_[1]);
    fds_[1] = -1;
  }

 private:
  int fds_[2] = {-1, -1};
};

// Appends one line with a single write(2): a SIGKILL leaves the line whole or absent.
inline void append_line(const std::string &path, const std::string &line) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) std::terminate();
  const std::string text = line + "\n";
  if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) std::terminate();
  close(fd);
}

inline std::vector<std::string> read_lines(const std::string &path) {
  std::vector<std::string> lines;
  std::ifstream file(path);
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  return lines;
}

// Options for tests that do not need every commit on the platter (a killed process keeps WAL
// commits either way; only power loss needs FULL).
inline JobStore::Options fast_store_options() {
  JobStore::Options options;
  options.synchronous_full = false;
  return options;
}

}  // namespace qs::test
