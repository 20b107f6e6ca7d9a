// The GPU forward pass against cuBLAS's own fp32 speed (built only with the CUDA backend):
//   - BM_SgemmSquare: cuBLAS SGEMM at 8192^3, the card's fp32 GEMM rate.
//   - BM_GemmsOfThePass: the very products one pass of the Llama-3-8B shape over 2,048 tokens
//     issues (weights, attention's QK^T and PV per head, the output for the scored half), timed
//     alone back to back: the pass's ceiling.
//   - BM_ForwardPass8BShape: GpuTransformer::forward on that shape (random weights, the first
//     QUANTSCOPE_BENCH_LAYERS layers, default 4, of the 32: per-layer work is the same in every
//     layer, so the fraction is that of the whole model). Counter `of_gemms`: the pass's time
//     against the products alone (the target: >= 60 %).
//   - BM_KldUnit8BShape: one unit of the exact KLD sweep on that shape, and the sweep projected.
//   - BM_ShippedModelPerplexityChunk: kjv-llama, one 512-token chunk, GPU.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "gpu/device_buffer.h"
#include "gpu/gpu_reference_run.h"
#include "gpu/gpu_transformer.h"
#include "model/model_source.h"

namespace {

using qs::gpu::DeviceBuffer;

constexpr int64_t kTokens = 2048;

qs::TransformerConfig llama3_8b_shape(int64_t n_layer) {
  qs::TransformerConfig c;
  c.architecture = "llama (Llama-3-8B shape, random weights)";
  c.n_vocab = 128256;
  c.n_embd = 4096;
  c.n_layer = n_layer;
  c.n_head = 32;
  c.n_head_kv = 8;
  c.head_dim = 128;
  c.n_ff = 14336;
  c.rms_norm_eps = 1e-5f;
  c.rope.style = qs::RopeStyle::Normal;
  c.rope.theta = 500000.0f;
  c.rope.n_rot = 128;
  return c;
}

int64_t bench_layers() {
  const char *v = std::getenv("QUANTSCOPE_BENCH_LAYERS");
  return v ? std::max(1, std::atoi(v)) : 4;
}

// Uniform values of the given spread, filled by all cores (an 8B tensor set is billions of values).
void fill_random(std::vector<float> &values, float spread, uint32_t seed, float offset = 0.0f) {
  const unsigned n_threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  const size_t per = (values.size() + n_threads - 1) / n_threads;
  for (unsigned t = 0; t < n_threads; ++t)
    threads.emplace_back([&, t] {
      uint64_t state = (uint64_t{seed} << 32) ^ (t * 0x9E3779B97F4A7C15ull) ^ 1;
      const size_t end = std::min(values.size(), (t + 1) * per);
      for (size_t i = t * per; i < end; ++i) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        values[i] = offset + spread * (static_cast<float>(state >> 40) / 16777216.0f - 0.5f);
      }
    });
  for (auto &th : threads) th.join();
}

std::unique_ptr<qs::GpuTransformer> random_model(const qs::TransformerConfig &c) {
  auto model = std::make_unique<qs::GpuTransformer>(c);
  std::vector<float> host;
  uint32_t seed = 1;
  auto add = [&](const std::string &name, std::vector<int64_t> shape, float spread, float offset = 0.0f) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    host.resize(static_cast<size_t>(n));
    fill_random(host, spread, seed++, offset);
    model->set_weight(name, shape, host);
  };
  const int64_t qw = c.n_head * c.head_dim, kvw = c.n_head_kv * c.head_dim;
  add("token_embd.weight", {c.n_embd, c.n_vocab}, 0.1f);
  add("output_norm.weight", {c.n_embd}, 0.1f, 1.0f);
  add("output.weight", {c.n_embd, c.n_vocab}, 0.05f);
  for (int il = 0; il < c.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    add(p + "attn_norm.weight", {c.n_embd}, 0.1f, 1.0f);
    add(p + "attn_q.weight", {c.n_embd, qw}, 0.03f);
    add(p + "attn_k.weight", {c.n_embd, kvw}, 0.03f);
    add(p + "attn_v.weight", {c.n_embd, kvw}, 0.03f);
    add(p + "attn_output.weight", {qw, c.n_embd}, 0.03f);
    add(p + "ffn_norm.weight", {c.n_embd}, 0.1f, 1.0f);
    add(p + "ffn_gate.weight", {c.n_embd, c.n_ff}, 0.03f);
    add(p + "ffn_up.weight", {c.n_embd, c.n_ff}, 0.03f);
    add(p + "ffn_down.weight", {c.n_ff, c.n_embd}, 0.03f);
  }
  model->finish_loading();
  return model;
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
  const auto gemms = pass_gemms(llama3_8b_shape(bench_layers()));
  double seconds = 0;
  for (auto _ : state) {
    seconds = time_gemms(gemms, 3);
    state.SetIterationTime(seconds);
  }
  state.counters["TFLOP/s"] = gemm_flops(gemms) / seconds / 1e12;
  state.counters["layers"] = static_cast<double>(bench_layers());
}
BENCHMARK(BM_GemmsOfThePass)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_ForwardPass8BShape(benchmark::State &state) {
  const auto config = llama3_8b_shape(bench_layers());
  const auto model = random_model(config);
  std::vector<int32_t> tokens(static_cast<size_t>(kTokens));
  for (int64_t i = 0; i < kTokens; ++i) tokens[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7919) % config.n_vocab);
  std::vector<float> logits(static_cast<size_t>(kTokens / 2 * config.n_vocab));
  model->forward(tokens, logits.data(), nullptr, kTokens / 2);  // warm-up: allocations, rope table
  const auto gemms = pass_gemms(config);
  const double gemm_seconds = time_gemms(gemms, 3);
  double seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    model->forward(tokens, logits.data(), nullptr, kTokens / 2);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(seconds);
  }
  state.counters["TFLOP/s"] = gemm_flops(gemms) / seconds / 1e12;
  state.counters["of_gemms"] = gemm_seconds / seconds;
  state.counters["layers"] = static_cast<double>(config.n_layer);
  state.counters["s_per_32_layers"] = seconds / static_cast<double>(config.n_layer) * 32.0;
}
BENCHMARK(BM_ForwardPass8BShape)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(5);

// One exact unit of the KLD sweep on the 8B shape: swap a weight in on the GPU, run from its layer
// over 4 chunks of 512 tokens (the second half of each scored), compare on the GPU. Units starting
// at the first and at the last benchmarked layer give the time of one layer and of the rest (the
// output and the comparison); from them the mean unit of the 32-layer model (starting at 16.5
// layers from the end on average) and the default sweep (225 tensors x 16 types) are projected.
void BM_KldUnit8BShape(benchmark::State &state) {
  const auto config = llama3_8b_shape(bench_layers());
  const int64_t n_ctx = 512, n_chunks = 4;
  std::vector<int32_t> text(static_cast<size_t>(n_ctx * n_chunks + 1));
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<int32_t>((i * 7919 + 13) % config.n_vocab);
  const qs::CalibrationChunks chunks(text, n_ctx, n_chunks, std::nullopt);
  qs::GpuReferenceRun reference(random_model(config), chunks);
  const int last = static_cast<int>(config.n_layer) - 1;
  const std::string first_name = "blk.0.ffn_down.weight", last_name = "blk." + std::to_string(last) + ".ffn_down.weight";
  std::vector<float> values(static_cast<size_t>(config.n_ff * config.n_embd));
  fill_random(values, 0.03f, 99);
  auto unit = [&](const std::string &name, int layer) {
    std::vector<float> quantized = values;  // a unit hands its quantized values over (moved)
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(reference.compare_with_weight(name, std::move(quantized), {qs::PassStart::At::layer, layer}));
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  unit(last_name, last);  // warm-up
  double from_first = 0, from_last = 0;
  for (auto _ : state) {
    // Each unit twice, timing the second: the first moves the cache (once per layer in a sweep).
    unit(last_name, last);
    from_last = unit(last_name, last);  // one layer + output + compare
    unit(first_name, 0);
    from_first = unit(first_name, 0);   // every layer + output + compare
    state.SetIterationTime(from_first);
  }
  const double per_layer = last > 0 ? (from_first - from_last) / last : from_first;
  const double rest = from_last - per_layer;
  const double mean_unit_32 = 16.5 * per_layer + rest;
  state.counters["s_unit_from_layer0"] = from_first;
  state.counters["s_unit_from_last"] = from_last;
  state.counters["s_per_layer"] = per_layer;
  state.counters["s_mean_unit_32_layers"] = mean_unit_32;
  state.counters["min_sweep_3600_units"] = 3600 * mean_unit_32 / 60;
  state.counters["min_probes_450_units"] = 450 * mean_unit_32 / 60;
}
BENCHMARK(BM_KldUnit8BShape)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(3);

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
