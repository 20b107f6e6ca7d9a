// The perplexity / KLD driver: chunking, BOS replacement, one forward pass per chunk with logits
// only for the scored half, then per-token log-softmax on all threads.
#include "infer/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>

#include "core/error.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "infer/logprob_file.h"

namespace qs {
namespace {

Estimate perplexity_estimate(double sum_nll, double sum_nll2, int64_t count) {
  // llama.cpp: PPL = exp(mean), error = PPL * sqrt(var / (count - 1)).
  const double mean = sum_nll / static_cast<double>(count);
  const double var = sum_nll2 / static_cast<double>(count) - mean * mean;
  const double ppl = std::exp(mean);
  return {ppl, var > 0 && count > 1 ? ppl * std::sqrt(var / static_cast<double>(count - 1)) : 0.0};
}

}  // namespace

PerplexityResult compute_perplexity(LogitsPass &model, std::span<const int32_t> text_tokens,
                                    const PerplexityOptions &options, ProgressSink *progress) {
  NullProgress no_progress;
  if (!progress) progress = &no_progress;
  const int64_t n_vocab = model.config().n_vocab;
  if (!options.kl_base.empty() && !options.save_log_probs.empty()) {
    fail("perplexity: --save-logits and --kl-base cannot be used together");
  }

  // Where the tokens and the chunking come from: the text, or the base run's file.
  std::unique_ptr<LogProbFile> base;
  std::vector<int32_t> tokens;
  int64_t n_ctx = options.n_ctx;
  std::optional<int32_t> bos = options.bos_token;
  int64_t n_chunks = 0;
  if (!options.kl_base.empty()) {
    base = std::make_unique<LogProbFile>(options.kl_base);
    const auto &h = base->header();
    if (h.n_vocab != n_vocab) {
      fail(options.kl_base.string(), ": saved with a vocabulary of ", h.n_vocab, ", this model has ", n_vocab);
    }
    if (!text_tokens.empty()) {
      const size_t common = std::min(text_tokens.size(), h.tokens.size());
      if (!std::equal(h.tokens.begin(), h.tokens.begin() + static_cast<std::ptrdiff_t>(common), text_tokens.begin())) {
        fail(options.kl_base.string(), ": the text tokenizes differently from the base run that saved this file");
      }
    }
    tokens = h.tokens;
    n_ctx = h.n_ctx;
    bos = h.bos;
    n_chunks = h.n_chunks;
  } else {
    tokens.assign(text_tokens.begin(), text_tokens.end());
    if (n_ctx < 4) fail("perplexity: context of ", n_ctx, " tokens is too small (at least 4)");
    if (tokens.empty()) fail("perplexity: the text is empty");
    if (static_cast<int64_t>(tokens.size()) < n_ctx) {
      fail("perplexity: the text has ", tokens.size(), " tokens, fewer than one context of ", n_ctx,
           " (use a longer text or a smaller --ctx)");
    }
    n_chunks = static_cast<int64_t>(tokens.size()) / n_ctx;
  }
  if (options.max_chunks >= 0) n_chunks = std::min(n_chunks, options.max_chunks);
  if (n_chunks <= 0) fail("perplexity: no chunk to evaluate (--chunks 0?)");
  if (bos && (*bos < 0 || *bos >= n_vocab)) fail("perplexity: BOS token ", *bos, " is outside the vocabulary");

  const int64_t first = n_ctx / 2;
  const int64_t n_scored_per_chunk = n_ctx - 1 - first;
  std::unique_ptr<LogProbWriter> writer;
  const uint64_t record_bytes = log_prob_record_bytes(static_cast<uint32_t>(n_vocab));
  std::vector<uint8_t> records;
  if (!options.save_log_probs.empty()) {
    LogProbFileHeader h;
    h.n_vocab = static_cast<uint32_t>(n_vocab);
    h.n_ctx = static_cast<uint32_t>(n_ctx);
    h.n_chunks = static_cast<uint32_t>(n_chunks);
    h.first_scored = static_cast<uint32_t>(first);
    h.bos = bos;
    h.tokens.assign(tokens.begin(), tokens.begin() + n_chunks * n_ctx);
    writer = std::make_unique<LogProbWriter>(options.save_log_probs, h);
    records.resize(static_cast<size_t>(n_scored_per_chunk) * record_bytes);
  }

  PerplexityResult result;
  result.n_ctx = n_ctx;
  result.n_chunks = n_chunks;
  result.n_tokens_in_text = static_cast<int64_t>(tokens.size());
  KldAccumulator kld;
  std::vector<float> logits(static_cast<size_t>((n_ctx - first) * n_vocab));
  std::vector<double> nll(static_cast<size_t>(n_scored_per_chunk));
  std::vector<TokenComparison> comparisons(base ? static_cast<size_t>(n_scored_per_chunk) : 0);
  std::vector<int32_t> chunk(static_cast<size_t>(n_ctx));
  double sum_nll = 0.0, sum_nll2 = 0.0;
  int64_t count = 0;

  progress->begin("perplexity", n_chunks);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t c = 0; c < n_chunks; ++c) {
    std::copy_n(tokens.begin() + c * n_ctx, n_ctx, chunk.begin());
    if (bos) chunk[0] = *bos;
    // Logits for positions [first, n_ctx); position p predicts the original token at p + 1.
    model.forward(chunk, logits.data(), nullptr, first);
    const int32_t *next = tokens.data() + c * n_ctx + first + 1;
    parallel_for(n_scored_per_chunk, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const float *row = logits.data() + i * n_vocab;
        if (base) {
          comparisons[static_cast<size_t>(i)] =
              compare_token(row, n_vocab, base->record(static_cast<uint32_t>(c), static_cast<uint32_t>(i)), next[i]);
          nll[static_cast<size_t>(i)] = comparisons[static_cast<size_t>(i)].nll;
        } else {
          nll[static_cast<size_t>(i)] = -target_log_prob(row, n_vocab, next[i]);
          if (writer) encode_log_prob_record(row, n_vocab, next[i], records.data() + i * record_bytes);
        }
      }
    }, model.n_threads());
    for (int64_t i = 0; i < n_scored_per_chunk; ++i) {
      sum_nll += nll[static_cast<size_t>(i)];
      sum_nll2 += nll[static_cast<size_t>(i)] * nll[static_cast<size_t>(i)];
      if (base) kld.add(comparisons[static_cast<size_t>(i)]);
    }
    count += n_scored_per_chunk;
    if (writer) writer->write_chunk(records);
    result.running_ppl.push_back(std::exp(sum_nll / static_cast<double>(count)));
    progress->advance(c + 1);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress->end();
  if (writer) writer->finish();

  result.n_scored = count;
  result.mean_nll = sum_nll / static_cast<double>(count);
  result.ppl = perplexity_estimate(sum_nll, sum_nll2, count);
  result.tokens_per_second = result.seconds > 0 ? static_cast<double>(n_chunks * n_ctx) / result.seconds : 0.0;
  if (base) result.kld = kld.statistics();
  return result;
}

}  // namespace qs
