// Speed of comparing one row of logits with a prepared base row (PreparedBaseLogits), the step
// every scored position of every KLD measuring pass takes: the fast compare() against its scalar
// reference compare_reference() (the plain first-max loop and the KL terms one by one), for the
// shipped model's vocabulary (3,840) and a real model's (128,000). Data: base logits N(0, 3^2),
// ours = base + N(0, 0.05^2) as a quantized model's; the rows are cycled (64 rows of 3,840 or 8 of
// 128,000: 1 and 4 MB of base probabilities, like the cache footprint of a handful of rows).
// Run: build/kld_bench [--benchmark_filter=compare/128000]
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "infer/kld.h"

namespace {

struct Rows {
  int64_t n_rows, n_vocab;
  std::vector<float> base, ours;
  std::vector<int32_t> targets;
};

Rows make_rows(int64_t n_vocab, int64_t n_rows) {
  std::mt19937 rng(7);
  std::normal_distribution<float> logit(0.0f, 3.0f), noise(0.0f, 0.05f);
  Rows r{n_rows, n_vocab, std::vector<float>(static_cast<size_t>(n_rows * n_vocab)), {}, {}};
  for (auto &x : r.base) x = logit(rng);
  r.ours = r.base;
  for (auto &x : r.ours) x += noise(rng);
  for (int64_t i = 0; i < n_rows; ++i) r.targets.push_back(static_cast<int32_t>((i * 7919) % n_vocab));
  return r;
}

template <bool kReference>
void compare(benchmark::State &state) {
  const int64_t n_vocab = state.range(0), n_rows = state.range(1);
  const Rows rows = make_rows(n_vocab, n_rows);
  const qs::PreparedBaseLogits prepared(rows.base.data(), n_rows, n_vocab, rows.targets, 1);
  int64_t r = 0;
  double sum_kld = 0;
  for (auto _ : state) {
    const float *logits = rows.ours.data() + r * n_vocab;
    const qs::TokenComparison t = kReference ? prepared.compare_reference(r, logits) : prepared.compare(r, logits);
    benchmark::DoNotOptimize(t);
    sum_kld += t.kld;
    r = r + 1 == n_rows ? 0 : r + 1;
  }
  state.SetItemsProcessed(state.iterations() * n_vocab);
  state.counters["mean_kld"] = sum_kld / static_cast<double>(state.iterations());
}

void compare_reference(benchmark::State &state) { compare<true>(state); }
void compare_fast(benchmark::State &state) { compare<false>(state); }

}  // namespace

BENCHMARK(compare_reference)->Args({3840, 64})->Args({128000, 8});
BENCHMARK(compare_fast)->Args({3840, 64})->Args({128000, 8});

BENCHMARK_MAIN();
