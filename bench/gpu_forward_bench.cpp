// The GPU forward pass against cuBLAS's own fp32 speed (built only with the CUDA backend):
//   - BM_SgemmSquare: cuBLAS SGEMM at 8192^3, the card's fp32 GEMM rate.
//   - BM_GemmsOfThePass: the very products one pass of the Llama-3-8B shape over 2,048 tokens
//     issues (weights, attention's QK^T and PV per head, the output for the scored half), timed
//     alone back to back: the pass's ceiling.
//   - BM_ForwardPass/0,1,2: GpuTransformer::forward on the Llama-3-8B, Qwen2.5-7B and Qwen3-30B-A3B
//     shapes (bench/random_models.h: random weights, the first QUANTSCOPE_BENCH_LAYERS layers,
//     default 4: per-layer work is the same in every layer, so fractions are the whole model's).
//     Counter `of_gemms` (dense shapes): the pass's time against its products alone (the
//     issue's target: >= 60 %).
//   - BM_KldUnit/0,1,2: one unit of the exact KLD sweep on each shape, and the sweeps projected.
//   - BM_LayerMetricUnit/0,1,2: one layer-metric-only unit (the types --probes does not run a
//     pass for) on each shape: capturing the inputs of a weight (once per weight) and one unit.
//   - BM_ShippedModelPerplexityChunk: kjv-llama, one 512-token chunk, GPU.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <vector>

#include "bench_support.h"
#include "gpu/device_buffer.h"
#include "gpu/gpu_quantize.h"
#include "gpu/gpu_reference_run.h"
#include "gpu/gpu_transformer.h"
#include "random_models.h"
#include "measure/proxy_metrics.h"
#include "model/model_source.h"

namespace {

using qs::gpu::DeviceBuffer;

constexpr int64_t kTokens = 2048;

int64_t bench_layers() {
  const char *v = std::getenv("QUANTSCOPE_BENCH_LAYERS");
  return v ? std::max(1, std::atoi(v)) : 4;
}

// The benchmarked shapes, by the index Google Benchmark passes.
qs::bench::ModelShape shape_at(int64_t index) {
  switch (index) {
    case 0: return qs::bench::llama3_8b(bench_layers());
    case 1: return qs::bench::qwen2_5_7b(bench_layers());
    default: return qs::bench::qwen3_30b_a3b(bench_layers());
  }
}

struct Gemm {
  int m, n, k, batch;  // column-major cuBLAS shape (m x n result, k deep), batch count
};

// The products of one pass over kTokens with logits for the second half, as GpuTransformer issues them.
std::vector<Gemm> pass_gemms(const qs::TransformerConfig &c) {
  const int T = static_cast<int>(kTokens), E = static_cast<int>(c.n_embd), F = static_cast<int>(c.n_ff);
  const int qw = static_cast<int>(c.n_head * c.head_dim), kvw = static_cast<int>(c.n_head_kv * c.head_dim);
  const int hd = static_cast<int>(c.head_dim), H = static_cast<int>(c.n_head);
  std::vector<Gemm> layer = {{qw, T, E, 1}, {kvw, T, E, 1}, {kvw, T, E, 1}, {T, T, hd, H}, {hd, T, T, H},
                             {E, T, qw, 1}, {F, T, E, 1},   {F, T, E, 1},   {E, T, F, 1}};
  std::vector<Gemm> all;
  for (int il = 0; il < c.n_layer; ++il) all.insert(all.end(), layer.begin(), layer.end());
  all.push_back({static_cast<int>(c.n_vocab), T / 2, E, 1});
  return all;
}

double gemm_flops(const std::vector<Gemm> &gemms) {
  double f = 0;
  for (const Gemm &g : gemms) f += 2.0 * g.m * g.n * g.k * g.batch;
  return f;
}

// Runs the products with cuBLAS on scratch matrices; returns seconds for one round.
double time_gemms(const std::vector<Gemm> &gemms, int rounds) {
  cublasHandle_t blas;
  cublasCreate(&blas);
  size_t most_a = 0, most_b = 0, most_c = 0;
  for (const Gemm &g : gemms) {
    most_a = std::max(most_a, size_t(g.m) * g.k * g.batch);
    most_b = std::max(most_b, size_t(g.k) * g.n * g.batch);
    most_c = std::max(most_c, size_t(g.m) * g.n * g.batch);
  }
  DeviceBuffer<float> a(most_a), b(most_b), c(most_c);
  cudaMemset(a.data(), 0, most_a * 4);
  cudaMemset(b.data(), 0, most_b * 4);
  const float one = 1.0f, zero = 0.0f;
  auto round = [&] {
    for (const Gemm &g : gemms)
      cublasSgemmStridedBatched(blas, CUBLAS_OP_T, CUBLAS_OP_N, g.m, g.n, g.k, &one, a.data(), g.k, int64_t(g.m) * g.k,
                                b.data(), g.k, int64_t(g.k) * g.n, &zero, c.data(), g.m, int64_t(g.m) * g.n, g.batch);
  };
  round();
  cudaDeviceSynchronize();
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r) round();
  cudaDeviceSynchronize();
  cublasDestroy(blas);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / rounds;
}

void BM_SgemmSquare(benchmark::State &state) {
  const std::vector<Gemm> square = {{8192, 8192, 8192, 1}};
  double seconds = 0;
  for (auto _ : state) {
    seconds = time_gemms(square, 5);
    state.SetIterationTime(seconds);
  }
  state.counters["TFLOP/s"] = gemm_flops(square) / seconds / 1e12;
}
BENCHMARK(BM_SgemmSquare)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_GemmsOfThePass(benchmark::State &state) {
  const auto gemms = pass_gemms(qs::bench::llama3_8b(bench_layers()).config);
  double seconds = 0;
  for (auto _ : state) {
    seconds = time_gemms(gemms, 3);
    state.SetIterationTime(seconds);
  }
  state.counters["TFLOP/s"] = gemm_flops(gemms) / seconds / 1e12;
  state.counters["layers"] = static_cast<double>(bench_layers());
}
BENCHMARK(BM_GemmsOfThePass)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_ForwardPass(benchmark::State &state) {
  const qs::bench::ModelShape shape = shape_at(state.range(0));
  const qs::TransformerConfig &config = shape.config;
  state.SetLabel(shape.name);
  const auto model = qs::bench::random_gpu_model(shape);
  std::vector<int32_t> tokens(static_cast<size_t>(kTokens));
  for (int64_t i = 0; i < kTokens; ++i) tokens[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7919) % config.n_vocab);
  std::vector<float> logits(static_cast<size_t>(kTokens / 2 * config.n_vocab));
  model->forward(tokens, logits.data(), nullptr, kTokens / 2);  // warm-up: allocations, rope table
  double seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    model->forward(tokens, logits.data(), nullptr, kTokens / 2);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(seconds);
  }
  if (config.n_expert == 0) {  // dense: against cuBLAS at the pass's own products
    const auto gemms = pass_gemms(config);
    state.counters["TFLOP/s"] = gemm_flops(gemms) / seconds / 1e12;
    state.counters["of_gemms"] = time_gemms(gemms, 3) / seconds;
  }
  state.counters["layers"] = static_cast<double>(config.n_layer);
  state.counters["tokens/s"] = static_cast<double>(kTokens) / seconds;
  state.counters["s_per_pass_all_layers"] = seconds / static_cast<double>(config.n_layer) * static_cast<double>(shape.full_layers);
}
BENCHMARK(BM_ForwardPass)->Arg(0)->Arg(1)->Arg(2)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5);

// What the unit benchmarks start from: the shape's random model on the GPU with its reference run
// over 4 chunks of 512 token ids spread over the vocabulary, and random values for an FFN down
// weight standing in for a quantized one.
struct UnitSetup {
  qs::bench::ModelShape shape;
  qs::CalibrationChunks chunks;
  qs::GpuReferenceRun reference;
  std::vector<float> values;

  explicit UnitSetup(benchmark::State &state)
      : shape(shape_at(state.range(0))),
        chunks(calibration(shape.config)),
        reference(qs::bench::random_gpu_model(shape), chunks),
        values(static_cast<size_t>(reference.model().weight_elements(down_weight(0)))) {
    state.SetLabel(shape.name);
    qs::bench::fill_random(values, 0.03f, 99);
  }
  int last_layer() const { return static_cast<int>(shape.config.n_layer) - 1; }
  std::string down_weight(int layer) const {
    return "blk." + std::to_string(layer) + (shape.config.n_expert > 0 ? ".ffn_down_exps.weight" : ".ffn_down.weight");
  }

 private:
  static qs::CalibrationChunks calibration(const qs::TransformerConfig &config) {
    const int64_t n_ctx = 512, n_chunks = 4;
    std::vector<int32_t> text(static_cast<size_t>(n_ctx * n_chunks + 1));
    for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<int32_t>((i * 7919 + 13) % config.n_vocab);
    return qs::CalibrationChunks(text, n_ctx, n_chunks, std::nullopt);
  }
};

// One exact unit of the KLD sweep on the 8B shape: swap a weight in on the GPU, run from its layer
// over 4 chunks of 512 tokens (the second half of each scored), compare on the GPU. Units starting
// at the first and at the last benchmarked layer give the time of one layer and of the rest (the
// output and the comparison); from them the mean unit of the 32-layer model (starting at 16.5
// layers from the end on average) and the default sweep (225 tensors x 16 types) are projected
// (from whole layers: a sweep's units start at their product, which the last layer's down weight
// from its product shows).
void BM_KldUnit(benchmark::State &state) {
  UnitSetup setup(state);
  const qs::bench::ModelShape &shape = setup.shape;
  const int last = setup.last_layer();
  const std::string first_name = setup.down_weight(0), last_name = setup.down_weight(last);
  auto unit = [&](const std::string &name, int layer, qs::LayerStage stage = qs::LayerStage::input) {
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(setup.reference.compare_with_weight(name, setup.values, {qs::PassStart::At::layer, layer, stage}));
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const qs::LayerStage down_product = shape.config.n_expert > 0 ? qs::LayerStage::ffn_input : qs::LayerStage::ffn_down;
  double from_first = 0, from_last = 0, from_last_product = 0;
  for (auto _ : state) {
    // Each unit twice, timing the second: the first moves the cache (once per layer in a sweep).
    unit(last_name, last);
    from_last = unit(last_name, last);  // one layer + output + compare
    unit(last_name, last, down_product);
    from_last_product = unit(last_name, last, down_product);  // the down product + output + compare
    unit(first_name, 0);
    from_first = unit(first_name, 0);   // every layer + output + compare
    state.SetIterationTime(from_first);
  }
  const double per_layer = last > 0 ? (from_first - from_last) / last : from_first;
  const double rest = from_last - per_layer;
  // A sweep's units start on average halfway down the model.
  const double mean_unit = (static_cast<double>(shape.full_layers) + 1) / 2 * per_layer + rest;
  const double tensors = static_cast<double>(shape.quantizable_tensors());
  state.counters["s_unit_from_layer0"] = from_first;
  state.counters["s_unit_from_last"] = from_last;
  state.counters["s_unit_from_last_down_product"] = from_last_product;
  state.counters["s_per_layer"] = per_layer;
  state.counters["s_mean_unit"] = mean_unit;
  state.counters["min_sweep_16_types"] = tensors * 16 * mean_unit / 60;
  state.counters["min_probes_2_types"] = tensors * 2 * mean_unit / 60;
}
BENCHMARK(BM_KldUnit)->Arg(0)->Arg(1)->Arg(2)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_LayerMetricUnit(benchmark::State &state) {
  UnitSetup setup(state);
  qs::GpuReferenceRun &reference = setup.reference;
  const int layer = setup.last_layer();
  const std::string name = setup.down_weight(layer);
  auto unit = [&] {
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(reference.compare(name, setup.values, {qs::PassStart::At::layer, layer}, true, false));
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  reference.compare("blk.0.attn_q.weight", std::vector<float>(static_cast<size_t>(reference.model().weight_elements("blk.0.attn_q.weight"))),
                    {qs::PassStart::At::layer, 0}, true, false);  // moves the cache away, so the first unit captures
  const double first = unit();  // moves the cache one layer on, captures the weight's inputs, measures
  double seconds = 0;
  for (auto _ : state) {
    seconds = unit();
    state.SetIterationTime(seconds);
  }
  state.counters["s_first_unit_of_weight"] = first;
  state.counters["s_unit"] = seconds;
}
BENCHMARK(BM_LayerMetricUnit)->Arg(0)->Arg(1)->Arg(2)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

// Quantizing one FFN weight of the 8B shape (14336 x 4096, random Student-t-like values) to a type
// and back, on the GPU (gpu/gpu_quantize.h) and on every CPU thread (the measurement's own
// quantize_restore_matrix), with the ratio: what a unit of that type costs each side.
void BM_QuantizeRestoreFfnWeight(benchmark::State &state, const char *type_name) {
  const qs::QuantType &type = qs::quant_type_by_name(type_name);
  const int64_t rows = 14336, cols = 4096, n = rows * cols;
  std::vector<float> values(static_cast<size_t>(n)), restored(values.size());
  qs::bench::fill_random(values, 0.02f, 17);
  qs::gpu::DeviceBuffer<float> in, out;
  in.upload(values.data(), values.size(), nullptr);
  out.reserve(values.size());
  qs::gpu::quantize_restore(type, in.data(), out.data(), rows, cols, nullptr, nullptr);  // warm-up
  qs::gpu::cuda_check(cudaDeviceSynchronize(), "bench");
  double gpu_seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    qs::gpu::quantize_restore(type, in.data(), out.data(), rows, cols, nullptr, nullptr);
    qs::gpu::cuda_check(cudaDeviceSynchronize(), "bench");
    gpu_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(gpu_seconds);
  }
  qs::ThreadPool pool(0);
  const auto start = std::chrono::steady_clock::now();
  qs::quantize_restore_matrix(pool, type, values.data(), restored.data(), rows, cols, nullptr);
  const double cpu_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  state.counters["ms_gpu"] = gpu_seconds * 1e3;
  state.counters["ms_cpu_all_threads"] = cpu_seconds * 1e3;
  state.counters["cpu_threads"] = pool.size();
  state.counters["gpu_speedup"] = cpu_seconds / gpu_seconds;
}
BENCHMARK_CAPTURE(BM_QuantizeRestoreFfnWeight, IQ1_M, "IQ1_M")->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(BM_QuantizeRestoreFfnWeight, IQ2_S, "IQ2_S")->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(BM_QuantizeRestoreFfnWeight, IQ3_XXS, "IQ3_XXS")->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(BM_QuantizeRestoreFfnWeight, IQ3_S, "IQ3_S")->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK_CAPTURE(BM_QuantizeRestoreFfnWeight, IQ4_NL, "IQ4_NL")->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK_CAPTURE(BM_QuantizeRestoreFfnWeight, IQ4_XS, "IQ4_XS")->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK_CAPTURE(BM_QuantizeRestoreFfnWeight, Q5_K, "Q5_K")->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK_CAPTURE(BM_QuantizeRestoreFfnWeight, Q4_K, "Q4_K")->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK_CAPTURE(BM_QuantizeRestoreFfnWeight, Q2_K, "Q2_K")->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_ShippedModelPerplexityChunk(benchmark::State &state) {
  const auto source = qs::ModelSource::open(qs::bench::model_path());
  const auto model = qs::GpuTransformer::load(*source);
  std::vector<int32_t> tokens(512);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 31 + 5) % model->config().n_vocab);
  std::vector<float> logits(256 * static_cast<size_t>(model->config().n_vocab));
  model->forward(tokens, logits.data(), nullptr, 256);
  for (auto _ : state) model->forward(tokens, logits.data(), nullptr, 256);
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * 512, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ShippedModelPerplexityChunk)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
