// `quantscope quantize` end to end on a generated 4.4 GB BF16 Llama (Llama-3-8B's layer shapes, ten
// layers): input gigabytes per second and the process's peak resident memory, against the bound
// "twice the largest tensor + 200 MB". The real binary runs as a child (wait4 gives its peak RSS);
// the model is generated once into $TMPDIR/quantscope-bench-llama-4g and kept for the next run.
#include <benchmark/benchmark.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_support.h"
#include "convert/generated_llama_model.h"

namespace {

namespace fs = std::filesystem;

struct Model {
  fs::path dir;
  uint64_t weight_bytes = 0;
  uint64_t largest_tensor_bytes = 0;
};

const Model &model() {
  static const Model m = [] {
    const qs::test::LlamaShape shape;
    Model m;
    m.dir = fs::temp_directory_path() / "quantscope-bench-llama-4g";
    for (const auto &t : qs::test::llama_tensors(shape)) {
      m.weight_bytes += static_cast<uint64_t>(t.n_elements()) * 2;
      m.largest_tensor_bytes = std::max<uint64_t>(m.largest_tensor_bytes, static_cast<uint64_t>(t.n_elements()) * 2);
    }
    std::error_code ec;
    if (fs::file_size(m.dir / "model.safetensors", ec) < m.weight_bytes || !fs::exists(m.dir / "config.json"))
      qs::test::write_generated_llama(m.dir, qs::bench::model_path(), shape);
    return m;
  }();
  return m;
}

struct ChildRun {
  double seconds = 0;
  double peak_rss_bytes = 0;
  int status = -1;
};

ChildRun run_quantscope(std::vector<std::string> args) {
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char *> argv{const_cast<char *>(QUANTSCOPE_BINARY)};
    for (auto &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(QUANTSCOPE_BINARY, argv.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  ChildRun run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.peak_rss_bytes = static_cast<double>(usage.ru_maxrss) * 1024.0;
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

void BM_QuantizeGeneratedModel(benchmark::State &state, const char *type) {
  const Model &m = model();
  const fs::path out = fs::temp_directory_path() / "quantscope-bench-out.gguf";
  const fs::path db = fs::temp_directory_path() / "quantscope-bench-jobs.db";
  ChildRun run;
  for (auto _ : state) {
    run = run_quantscope({"quantize", m.dir.string(), "--type", type, "-o", out.string(), "--db", db.string()});
    if (run.status != 0) {
      state.SkipWithError("quantscope quantize failed");
      break;
    }
    state.SetIterationTime(run.seconds);
  }
  const double mib = 1024.0 * 1024.0;
  state.counters["input_GB_per_s"] = static_cast<double>(m.weight_bytes) / 1e9 / run.seconds;
  state.counters["input_GB"] = static_cast<double>(m.weight_bytes) / 1e9;
  state.counters["output_MiB"] = static_cast<double>(fs::file_size(out)) / mib;
  state.counters["peak_rss_MiB"] = run.peak_rss_bytes / mib;
  state.counters["largest_tensor_MiB"] = static_cast<double>(m.largest_tensor_bytes) / mib;
  state.counters["rss_bound_MiB"] = (2.0 * static_cast<double>(m.largest_tensor_bytes) + 200e6) / mib;
  fs::remove(out);
  fs::remove(db);
}

// F16: conversion only (I/O and memory bound); Q8_0 and Q4_K: quantization on all cores.
BENCHMARK_CAPTURE(BM_QuantizeGeneratedModel, F16, "F16")->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(BM_QuantizeGeneratedModel, Q8_0, "Q8_0")->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(BM_QuantizeGeneratedModel, Q4_K, "Q4_K")->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
