// The measurement sweep on the shipped model at each metric level: wall time of the full sweep
// (every quantizable tensor x the default ladder), where the time goes, how many full forward
// passes one exact KLD unit costs thanks to the layer cache (target <= 0.5), and how busy the
// threads are (CPU seconds / (wall seconds x threads), target >= 90 %).
// Calibration: models/kjv-llama/calibration.txt, QUANTSCOPE_BENCH_CTX tokens per chunk (512) x
// QUANTSCOPE_BENCH_CHUNKS chunks (2). Threads: QUANTSCOPE_THREADS or all cores.
// Run: build/measure_bench [--benchmark_filter=sweep/kld]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "bench_support.h"
#include "core/parallel.h"
#include "infer/text_input.h"
#include "measure/measure_plan.h"
#include "measure/tensor_measurer.h"
#include "model/model_source.h"

namespace {

int64_t env_int(const char *name, int64_t fallback) {
  const char *value = std::getenv(name);
  return value ? std::atoll(value) : fallback;
}

void sweep(benchmark::State &state, qs::MetricLevel level) {
  const auto source = qs::ModelSource::open(qs::bench::model_path());
  const int n_threads = static_cast<int>(env_int("QUANTSCOPE_THREADS", qs::default_thread_count()));
  auto model = qs::Transformer::load(*source, n_threads);
  const int64_t n_ctx = env_int("QUANTSCOPE_BENCH_CTX", 512), n_chunks = env_int("QUANTSCOPE_BENCH_CHUNKS", 2);
  const auto text = qs::tokenize_text_file(*source, qs::bench::model_path() / "calibration.txt", n_ctx);
  const qs::CalibrationChunks chunks(text.tokens, n_ctx, n_chunks, text.bos);
  qs::MeasureRequest request;
  request.metric = level;
  const auto units = qs::plan_measurement_units(request, *source, nullptr);

  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = qs::bench::process_cpu_seconds();
    qs::TensorMeasurer measurer(*model, nullptr, level, &chunks);
    for (const auto &unit : units) benchmark::DoNotOptimize(measurer.measure(unit.tensor, *unit.type));
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double cpu = qs::bench::process_cpu_seconds() - cpu_start;
    const auto &t = measurer.timing();
    state.counters["units"] = static_cast<double>(units.size());
    state.counters["sweep_s"] = wall;
    state.counters["quantize_s"] = t.quantize_seconds;
    state.counters["layer_metric_s"] = t.layer_seconds;
    state.counters["kld_s"] = t.kld_seconds;
    state.counters["threads_busy"] = cpu / (wall * n_threads);
    if (level == qs::MetricLevel::kld) {
      // What a unit would cost without the cache: a pass from the embeddings with the same weight
      // swapped in, over the same batches, compared with the reference the same way. Timed right
      // after the same unit's cached pass, for every 4th unit of a second sweep, so that both
      // sides of the ratio see the same machine (a shared VM drifts by 10-20 % over a minute).
      qs::TensorMeasurer paired(*model, nullptr, level, &chunks);
      qs::ReferenceRun uncached(*model, chunks);
      double cached_seconds = 0, full_seconds = 0;
      int64_t n_paired = 0;
      for (size_t i = 0; i < units.size(); ++i) {
        const double kld_before = paired.timing().kld_seconds;
        benchmark::DoNotOptimize(paired.measure(units[i].tensor, *units[i].type));
        if (i % 4 != 0) continue;
        cached_seconds += paired.timing().kld_seconds - kld_before;
        auto values = paired.quantized_values(units[i].tensor, *units[i].type);
        const auto pass_start = std::chrono::steady_clock::now();
        benchmark::DoNotOptimize(uncached.compare_with_weight(units[i].tensor, std::move(values), {}));
        full_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - pass_start).count();
        ++n_paired;
      }
      const double unit_s = cached_seconds / static_cast<double>(n_paired);
      const double full_s = full_seconds / static_cast<double>(n_paired);
      state.counters["full_pass_s"] = full_s;
      state.counters["passes_per_unit"] = unit_s / full_s;
      std::fprintf(stderr, "kld: over %ld paired units a full pass with comparison takes %.4f s, a cached unit %.4f s "
                   "= %.3f full passes\n", static_cast<long>(n_paired), full_s, unit_s, unit_s / full_s);
    }
    std::fprintf(stderr, "%s: %zu units in %.1f s (quantize %.1f s, layer metric %.1f s, kld %.1f s), threads busy %.0f %%\n",
                 qs::metric_level_name(level), units.size(), wall, t.quantize_seconds, t.layer_seconds, t.kld_seconds,
                 100.0 * cpu / (wall * n_threads));
  }
}

BENCHMARK_CAPTURE(sweep, proxy, qs::MetricLevel::proxy)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();
BENCHMARK_CAPTURE(sweep, layer, qs::MetricLevel::layer)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();
BENCHMARK_CAPTURE(sweep, kld, qs::MetricLevel::kld)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
