// Quantization and dequantization speed of every type in the table, with the round-trip RMSE on the
// same data as a counter, so speed and accuracy are read side by side (compare with ggml's
// test-quantize-perf). Data: Student-t(3) weights scaled like an LLM's, 64 rows x 4096 columns.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/parallel.h"
#include "quant/quantize_tensor.h"
#include "quant/types.h"

namespace {

constexpr int64_t kRows = 64;
constexpr int64_t kCols = 4096;

const std::vector<float> &weights() {
  static const std::vector<float> w = [] {
    std::mt19937 rng(42);
    std::student_t_distribution<float> dist(3.0f);
    std::vector<float> v(static_cast<size_t>(kRows * kCols));
    for (auto &x : v) x = 0.02f * dist(rng);
    return v;
  }();
  return w;
}

const std::vector<float> &importance() {
  static const std::vector<float> w = [] {
    std::mt19937 rng(43);
    std::normal_distribution<float> dist(0.0f, 1.5f);
    std::vector<float> v(static_cast<size_t>(kCols));
    for (auto &x : v) x = std::exp(dist(rng));
    return v;
  }();
  return w;
}

double rmse(const qs::QuantType &type, const std::vector<uint8_t> &q) {
  std::vector<float> y(weights().size());
  type.dequantize(q.data(), y.data(), kRows * kCols);
  double sum = 0.0;
  for (size_t i = 0; i < y.size(); ++i) sum += std::pow(static_cast<double>(weights()[i]) - y[i], 2);
  return std::sqrt(sum / static_cast<double>(y.size()));
}

void quantize_single_thread(benchmark::State &state, const qs::QuantType *type, bool with_imatrix) {
  const float *imatrix = with_imatrix ? importance().data() : nullptr;
  std::vector<uint8_t> q(static_cast<size_t>(kRows) * type->row_bytes(kCols));
  for (auto _ : state) {
    type->quantize(weights().data(), q.data(), kRows, kCols, imatrix);
    benchmark::DoNotOptimize(q.data());
  }
  state.SetBytesProcessed(state.iterations() * kRows * kCols * static_cast<int64_t>(sizeof(float)));
  state.counters["rmse"] = rmse(*type, q);
  state.counters["bpw"] = type->bits_per_weight();
}

void quantize_all_threads(benchmark::State &state, const qs::QuantType *type, bool with_imatrix) {
  const float *imatrix = with_imatrix ? importance().data() : nullptr;
  std::vector<uint8_t> q(static_cast<size_t>(kRows) * type->row_bytes(kCols));
  for (auto _ : state) {
    qs::quantize_rows(*type, weights().data(), q.data(), kRows, kCols, imatrix);
    benchmark::DoNotOptimize(q.data());
  }
  state.SetBytesProcessed(state.iterations() * kRows * kCols * static_cast<int64_t>(sizeof(float)));
  state.counters["threads"] = qs::default_thread_count();
}

void dequantize_single_thread(benchmark::State &state, const qs::QuantType *type) {
  const auto q = qs::quantize_rows(*type, weights().data(), kRows, kCols, importance().data(), 1);
  std::vector<float> y(weights().size());
  for (auto _ : state) {
    type->dequantize(q.data(), y.data(), kRows * kCols);
    benchmark::DoNotOptimize(y.data());
  }
  // Bytes of f32 output written, the figure the 1 GB/s target refers to.
  state.SetBytesProcessed(state.iterations() * kRows * kCols * static_cast<int64_t>(sizeof(float)));
}

// Registers every type whose kernels exist (a stubbed type throws and is left out).
const bool registered = [] {
  for (const auto &type : qs::all_quant_types()) {
    try {
      std::vector<float> probe(static_cast<size_t>(type.block_size), 0.01f);
      std::vector<uint8_t> out(type.block_bytes);
      type.quantize(probe.data(), out.data(), 1, type.block_size, importance().data());
    } catch (...) {
      continue;
    }
    const std::string name = type.name;
    if (!type.needs_imatrix) {
      benchmark::RegisterBenchmark(("quantize/" + name + "/1thread").c_str(), quantize_single_thread, &type, false);
    }
    benchmark::RegisterBenchmark(("quantize/" + name + "/1thread/imatrix").c_str(), quantize_single_thread, &type, true);
    benchmark::RegisterBenchmark(("quantize/" + name + "/all_threads/imatrix").c_str(), quantize_all_threads, &type, true)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("dequantize/" + name + "/1thread").c_str(), dequantize_single_thread, &type);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
