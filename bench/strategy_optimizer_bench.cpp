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

namespace {

// The same instance model as tests/strategy/mix_optimizer_test.cpp: a Llama-style layer's seven
// projections (4096 wide, 1024-wide k/v, 14336 FFN) in 24 ggml types at their real block sizes;
// error falls like exp(-effective bits) times a log-normal per-tensor sensitivity, 15 % noise.
std::vector<qs::MixGroup> realistic_instance(int n_groups, uint32_t seed) {
  struct Type {
    int block, block_bytes;
    double bit_penalty;  // how many bits the type loses to its format against an ideal quantizer
  };
  static const Type types[] = {{256, 50, 0.2},  {256, 54, 0.5}, {256, 56, 0.2},   {256, 66, 0.2},  {256, 66, 0.5},
                               {256, 74, 0.2},  {256, 82, 0.2}, {256, 84, 0.3},   {256, 98, 0.2},  {256, 110, 0.2},
                               {256, 110, 0.3}, {256, 136, 0.2}, {32, 17, 0.4},   {32, 18, 0.5},   {32, 18, 0.25},
                               {256, 144, 0.2}, {32, 20, 0.45}, {32, 22, 0.5},    {256, 176, 0.2}, {32, 24, 0.45},
                               {256, 210, 0.2}, {32, 34, 0.3},  {1, 2, 0.0},      {1, 2, 0.02}};
  static const int64_t shapes[7][2] = {{4096, 4096},  {1024, 4096},  {1024, 4096}, {4096, 4096},
                                       {14336, 4096}, {14336, 4096}, {4096, 14336}};
  std::mt19937 rng(seed);
  std::lognormal_distribution<double> sensitivity(0.0, 1.0), noise(0.0, 0.15);
  std::vector<qs::MixGroup> groups;
  for (int g = 0; g < n_groups; ++g) {
    const int64_t n_elements = shapes[g % 7][0] * shapes[g % 7][1];
    const double tensor_sensitivity = sensitivity(rng);
    qs::MixGroup group;
    for (const Type &t : types) {
      const double bpw = 8.0 * t.block_bytes / t.block;
      group.push_back({static_cast<uint64_t>(n_elements / t.block * t.block_bytes),
                       tensor_sensitivity * std::exp(-(bpw - t.bit_penalty)) * noise(rng)});
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

// The budget of `bpw` bits per weight (option 21 is Q8_0: 34 bytes per 32 weights).
uint64_t budget_at_bpw(const std::vector<qs::MixGroup> &groups, double bpw) {
  double n_weights = 0;
  for (const auto &group : groups) n_weights += static_cast<double>(group[21].bytes) * 32 / 34;
  return static_cast<uint64_t>(n_weights * bpw / 8);
}

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
