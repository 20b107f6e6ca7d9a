// Tokenizer speed on the shipped model's eval text (models/kjv-llama/eval.txt, 195 KB): encode
// and decode, one thread, bytes of text per second.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "model/tokenizer.h"

namespace {

const std::filesystem::path kModelDir = std::filesystem::path(__FILE__).parent_path().parent_path() / "models/kjv-llama";

std::string eval_text() {
  std::ifstream in(kModelDir / "eval.txt", std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void BM_TokenizerLoad(benchmark::State &state) {
  for (auto _ : state) benchmark::DoNotOptimize(qs::Tokenizer::from_hf_files(kModelDir));
}
BENCHMARK(BM_TokenizerLoad)->Unit(benchmark::kMillisecond);

void BM_TokenizerEncodeEval(benchmark::State &state) {
  const qs::Tokenizer tokenizer = qs::Tokenizer::from_hf_files(kModelDir);
  const std::string text = eval_text();
  size_t n_tokens = 0;
  for (auto _ : state) {
    const auto ids = tokenizer.encode(text, true);
    n_tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
  state.counters["tokens"] = double(n_tokens);
}
BENCHMARK(BM_TokenizerEncodeEval)->Unit(benchmark::kMillisecond);

void BM_TokenizerDecodeEval(benchmark::State &state) {
  const qs::Tokenizer tokenizer = qs::Tokenizer::from_hf_files(kModelDir);
  const std::string text = eval_text();
  const auto ids = tokenizer.encode(text, false);
  for (auto _ : state) benchmark::DoNotOptimize(tokenizer.decode(ids));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
}
BENCHMARK(BM_TokenizerDecodeEval)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
