// Forward-pass speed: tokens/s of perplexity on the shipped model (kjv-llama, ctx 512, second
// half of each chunk scored), and, in the same run, OpenBLAS sgemm at exactly the matrix shapes
// one pass multiplies (weights, attention per head, output). The summary line gives the forward
// pass's GFLOP/s as a fraction of sgemm's; the target is >= 60 %.
// Model: models/kjv-llama found from the working directory or the binary's parent, or the
// QUANTSCOPE_BENCH_MODEL environment variable. Threads: QUANTSCOPE_THREADS or all cores.
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <memory>
#include <random>
#include <vector>

#include "bench_support.h"
#include "core/parallel.h"
#include "infer/perplexity.h"
#include "infer/transformer.h"
#include "model/model_source.h"
#include "model/tokenizer.h"

namespace {

constexpr int64_t kCtx = 512;
constexpr int64_t kChunksPerIteration = 4;

using qs::bench::model_path;
using qs::bench::process_cpu_seconds;

struct Shared {
  std::unique_ptr<qs::Transformer> model;
  std::vector<int32_t> tokens;
  std::optional<int32_t> bos;
  int n_threads = 0;
  // Measured by the benchmarks below, summarised after the run. *_cpu: per CPU-second of the
  // whole process (all threads), which other load on the machine does not change.
  double forward_gflops = 0, forward_tokens_per_second = 0, sgemm_gflops = 0, sgemm_one_thread_gflops = 0;
  double forward_gflops_cpu = 0, sgemm_gflops_cpu = 0;
};

Shared &shared() {
  static Shared s = [] {
    Shared s;
    s.n_threads = qs::default_thread_count();
    const auto path = model_path();
    const auto source = qs::ModelSource::open(path);
    s.model = qs::Transformer::load(*source, s.n_threads);
    const auto tokenizer = qs::Tokenizer::from_hf_files(path);
    std::ifstream in(path / "eval.txt", std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    s.tokens = tokenizer.encode(text, true);
    if (tokenizer.add_bos()) s.bos = tokenizer.bos_id();
    return s;
  }();
  return s;
}

// One sgemm shape of the pass: C[m x n] = A[m x k] B^T, `count` times per pass.
struct Shape {
  int64_t m, n, k, count;
};

std::vector<Shape> pass_shapes(const qs::TransformerConfig &c) {
  const int64_t q = c.n_head * c.head_dim, kv = c.n_head_kv * c.head_dim, L = c.n_layer;
  std::vector<Shape> shapes = {
      {kCtx, q, c.n_embd, 2 * L},      // attn_q, attn_output (same size)
      {kCtx, kv, c.n_embd, 2 * L},     // attn_k, attn_v
      {kCtx, c.n_ff, c.n_embd, 2 * L}, // ffn_gate, ffn_up
      {kCtx, c.n_embd, c.n_ff, L},     // ffn_down
      {kCtx / 2, c.n_vocab, c.n_embd, 1},  // output, scored half only
      // attention per head: scores (causal: half the products count) and the weighted values
      {kCtx, kCtx, c.head_dim, c.n_head * L},
      {kCtx, c.head_dim, kCtx, c.n_head * L},
  };
  return shapes;
}

void BM_Perplexity(benchmark::State &state) {
  Shared &s = shared();
  qs::PerplexityOptions options;
  options.n_ctx = kCtx;
  options.max_chunks = kChunksPerIteration;
  options.bos_token = s.bos;
  double seconds = 0, cpu_seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = process_cpu_seconds();
    const auto result = qs::compute_perplexity(*s.model, s.tokens, options);
    cpu_seconds += process_cpu_seconds() - cpu_start;
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    benchmark::DoNotOptimize(result.ppl.value);
  }
  const double passes = static_cast<double>(state.iterations() * kChunksPerIteration);
  s.forward_tokens_per_second = passes * kCtx / seconds;
  s.forward_gflops = passes * s.model->flops_per_pass(kCtx, kCtx / 2) / seconds / 1e9;
  s.forward_gflops_cpu = passes * s.model->flops_per_pass(kCtx, kCtx / 2) / cpu_seconds / 1e9;
  state.counters["tokens/s"] = s.forward_tokens_per_second;
  state.counters["GFLOP/s"] = s.forward_gflops;
  state.counters["threads"] = s.n_threads;
}

// sgemm alone, one OpenBLAS call per matrix with OpenBLAS's own threads, at every shape one pass
// multiplies; the rate the forward pass is compared with.
void sgemm_at_pass_shapes(benchmark::State &state, int blas_threads, double Shared::*rate, double Shared::*cpu_rate) {
  Shared &s = shared();
  const auto shapes = pass_shapes(s.model->config());
  std::vector<std::vector<float>> a, b, c;
  std::mt19937 rng(1);
  std::normal_distribution<float> dist;
  for (const Shape &sh : shapes) {
    a.emplace_back(static_cast<size_t>(sh.m * sh.k));
    b.emplace_back(static_cast<size_t>(sh.n * sh.k));
    c.emplace_back(static_cast<size_t>(sh.m * sh.n));
    for (auto &x : a.back()) x = dist(rng);
    for (auto &x : b.back()) x = dist(rng);
  }
  openblas_set_num_threads(blas_threads);
  double flops = 0, seconds = 0, cpu_seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = process_cpu_seconds();
    for (size_t i = 0; i < shapes.size(); ++i) {
      const Shape &sh = shapes[i];
      for (int64_t r = 0; r < sh.count; ++r) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(sh.m), static_cast<int>(sh.n),
                    static_cast<int>(sh.k), 1.0f, a[i].data(), static_cast<int>(sh.k), b[i].data(),
                    static_cast<int>(sh.k), 0.0f, c[i].data(), static_cast<int>(sh.n));
      }
      flops += 2.0 * static_cast<double>(sh.m * sh.n * sh.k * sh.count);
    }
    cpu_seconds += process_cpu_seconds() - cpu_start;
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  openblas_set_num_threads(1);  // the forward pass's own setting (infer/matmul.cpp)
  s.*rate = flops / seconds / 1e9;
  if (cpu_rate) s.*cpu_rate = flops / cpu_seconds / 1e9;
  state.counters["GFLOP/s"] = s.*rate;
  state.counters["threads"] = blas_threads;
}

void BM_SgemmAtPassShapes(benchmark::State &state) {
  sgemm_at_pass_shapes(state, shared().n_threads, &Shared::sgemm_gflops, &Shared::sgemm_gflops_cpu);
}
void BM_SgemmAtPassShapesOneThread(benchmark::State &state) {
  sgemm_at_pass_shapes(state, 1, &Shared::sgemm_one_thread_gflops, nullptr);
}

BENCHMARK(BM_Perplexity)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_SgemmAtPassShapes)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_SgemmAtPassShapesOneThread)->Unit(benchmark::kMillisecond)->MinTime(1.0);

}  // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  const Shared &s = shared();
  if (s.forward_gflops > 0 && s.sgemm_gflops > 0) {
    std::printf("\nforward pass: %.0f tokens/s, %.1f GFLOP/s on %d threads = %.0f %% of OpenBLAS sgemm at the same "
                "shapes (%.1f GFLOP/s on %d threads), %.0f %% of %d x one-thread sgemm (%.1f GFLOP/s each)\n",
                s.forward_tokens_per_second, s.forward_gflops, s.n_threads, 100.0 * s.forward_gflops / s.sgemm_gflops,
                s.sgemm_gflops, s.n_threads, 100.0 * s.forward_gflops / (s.n_threads * s.sgemm_one_thread_gflops),
                s.n_threads, s.sgemm_one_thread_gflops);
    std::printf("per CPU-second (all threads; unaffected by other load): forward %.1f GFLOP/s, sgemm %.1f GFLOP/s "
                "= %.0f %%\n",
                s.forward_gflops_cpu, s.sgemm_gflops_cpu, 100.0 * s.forward_gflops_cpu / s.sgemm_gflops_cpu);
  }
  benchmark::Shutdown();
  return 0;
}
