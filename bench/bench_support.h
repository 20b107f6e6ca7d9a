// Shared by the benchmarks: where the shipped model is, and the process's CPU time.
#pragma once

#include <time.h>

#include <cstdlib>
#include <filesystem>

namespace qs::bench {

// models/kjv-llama found from the working directory or the binary's parent, or the
// QUANTSCOPE_BENCH_MODEL environment variable.
inline std::filesystem::path model_path() {
  if (const char *env = std::getenv("QUANTSCOPE_BENCH_MODEL")) return env;
  if (std::filesystem::exists("models/kjv-llama/config.json")) return "models/kjv-llama";
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  for (auto dir = exe.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
    if (std::filesystem::exists(dir / "models/kjv-llama/config.json")) return dir / "models/kjv-llama";
  }
  return "models/kjv-llama";
}

// CPU seconds of the whole process (all threads).
inline double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

}  // namespace qs::bench
