// The budget optimiser of the strategy step (strategy/mix_optimizer.h) on realistic instances:
// 600 and 3000 tensors x 24 types at 2.7, 3.5 and 4.8 bits per weight. Counters: search nodes,
// whether the optimum was proven, the gap to the LP bound (absolute and relative to the error), how
// much worse the seed's greedy is, and the process's peak memory (VmHWM, reset before each benchmark;
// freed memory that malloc keeps does not show as new peak, so peak_over_start is a lower bound).
// Run: build/strategy_optimizer_bench [--benchmark_filter=pareto]
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "strategy/mix_optimizer.h"
#include "strategy/realistic_mix_instance.h"  // tests/strategy/, shared with the test

namespace {

using qs::test::budget_at_bpw;
using qs::test::realistic_instance;

// A field of /proc/self/status in MiB ("VmHWM", "VmRSS"); 0 if unreadable.
double status_mib(const std::string &field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
  return 0;
}

// Resets VmHWM to the current RSS (Linux: "5" to clear_refs), so the next reading is this run's peak.
void reset_peak_memory() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

const std::vector<qs::MixGroup> &instance(int n_groups) {
  static const auto small = realistic_instance(600, 1), large = realistic_instance(3000, 1);
  return n_groups == 600 ? small : large;
}

// Args: tensors, bits per weight x 10.
void optimize(benchmark::State &state) {
  const auto &groups = instance(static_cast<int>(state.range(0)));
  const uint64_t budget = budget_at_bpw(groups, static_cast<double>(state.range(1)) / 10);
  const double rss_before = status_mib("VmRSS");
  reset_peak_memory();
  std::optional<qs::MixSolution> s;
  for (auto _ : state) {
    s = qs::optimize_mix(groups, budget);
    benchmark::DoNotOptimize(s);
  }
  const auto greedy = qs::greedy_mix(groups, budget);
  state.counters["nodes"] = static_cast<double>(s->nodes);
  state.counters["proven"] = s->proven_optimal;
  state.counters["gap"] = s->error - s->lower_bound;
  state.counters["gap_rel"] = (s->error - s->lower_bound) / s->error;
  state.counters["greedy_excess_rel"] = greedy->error / s->error - 1;
  state.counters["peak_MiB"] = status_mib("VmHWM");
  state.counters["peak_over_start_MiB"] = status_mib("VmHWM") - rss_before;
}

// Args: tensors.
void pareto(benchmark::State &state) {
  const auto &groups = instance(static_cast<int>(state.range(0)));
  const double rss_before = status_mib("VmRSS");
  reset_peak_memory();
  size_t points = 0, curve_bytes = 0;
  for (auto _ : state) {
    const qs::ParetoCurve curve = qs::pareto_curve(groups);
    points = curve.size();
    curve_bytes = curve.steps.capacity() * sizeof(qs::ParetoStep) + curve.start_choice.capacity() * sizeof(int);
    benchmark::DoNotOptimize(curve.steps.data());
  }
  state.counters["points"] = static_cast<double>(points);
  state.counters["curve_MiB"] = static_cast<double>(curve_bytes) / (1024.0 * 1024.0);
  state.counters["peak_MiB"] = status_mib("VmHWM");
  state.counters["peak_over_start_MiB"] = status_mib("VmHWM") - rss_before;
}

}  // namespace

BENCHMARK(optimize)->ArgsProduct({{600, 3000}, {27, 35, 48}})->Unit(benchmark::kMillisecond);
BENCHMARK(pareto)->Arg(600)->Arg(3000)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
