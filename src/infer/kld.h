// Comparing a model's next-token distributions with a base model's saved ones, token by token,
// and the summary llama-perplexity --kl-divergence prints: both perplexities and their ratio,
// KL divergence mean and quantiles, Δp (change of the correct token's probability) and how often
// the top token agrees.
#pragma once

#include <cstdint>
#include <vector>

#include "infer/logprob_file.h"

namespace qs {

struct Estimate {
  double value = 0.0;
  double error = 0.0;  // one standard error
};

struct TokenComparison {
  double kld = 0.0;     // KL(base || ours) in nats, over base entries above -16 nats (llama.cpp's cut)
  float p_diff = 0.0f;  // p_ours(target) - p_base(target)
  bool same_top = false;
  double nll = 0.0;       // -log p_ours(target)
  double nll_base = 0.0;  // -log p_base(target)
};

// One scored position: our logits row against the base record; target is the next token.
TokenComparison compare_token(const float *logits, int64_t n_vocab, const LogProbRecord &base, int32_t target);

// The same from the base model's logits in memory: exact (no 16-bit rounding, no -16 nats cut),
// for measurements that keep reference logits around instead of a file. It is
// PreparedBaseLogits's computation for one row, so the two agree bit for bit.
TokenComparison compare_logits(const float *logits, const float *base_logits, int64_t n_vocab, int32_t target);

// Base rows prepared once for many comparisons (a measurement compares hundreds of quantized
// models with one reference): each row's top token, max, log-sum-exp, target NLL, probabilities
// p_b (fast_exp of each log-prob) and two sums over them are computed here, so compare() makes one
// pass for the new row's max and one for its exp sum and sum_i p_b(i) (x_i - max).
// compare(r, logits) returns exactly (bit for bit) compare_logits(logits, base row r, target r).
class PreparedBaseLogits {
 public:
  // base_logits: n_rows x n_vocab, kept by pointer (must outlive this); targets: one per row.
  PreparedBaseLogits(const float *base_logits, int64_t n_rows, int64_t n_vocab, const std::vector<int32_t> &targets,
                     int n_threads = 0);
  TokenComparison compare(int64_t row, const float *logits) const;
  // The scalar reference compare() is checked and timed against: the plain first-max loop and
  // KL = sum_i p_b(i) (log p_b(i) - log p(i)) term by term in double. Its KL differs from
  // compare()'s only by double rounding; top, NLL and Δp are the same bits.
  TokenComparison compare_reference(int64_t row, const float *logits) const;
  int64_t n_vocab() const { return n_vocab_; }

 private:
  struct RowSummary {
    int32_t top = 0;
    float max = 0;
    double log_sum_exp = 0;
    double nll = 0;
    double prob_sum = 0;          // S = sum_i p_b(i), 1 up to fast_exp's rounding
    double weighted_gap_sum = 0;  // A = sum_i p_b(i) (b_i - max)
  };
  const float *base_;
  int64_t n_rows_, n_vocab_;
  std::vector<int32_t> targets_;
  std::vector<RowSummary> rows_;
  std::vector<float> probs_;  // p_b: fast_exp of each base log-prob
};

// llama.cpp's percentile: linear interpolation at fraction * (n - 1) of the sorted values.
struct Quantiles {
  double max = 0, p99_9 = 0, p99 = 0, p95 = 0, p90 = 0, p75 = 0, median = 0, p25 = 0, p10 = 0, p5 = 0, p1 = 0,
         p0_1 = 0, min = 0;
};

struct KldStatistics {
  int64_t count = 0;
  Estimate ppl, base_ppl;
  double log_ppl_correlation = 0.0;  // Cor(ln PPL(Q), ln PPL(base))
  Estimate ln_ppl_ratio, ppl_ratio, ppl_diff;
  Estimate kld;
  Quantiles kld_quantiles;
  Estimate p_diff;  // mean Δp
  Quantiles p_diff_quantiles;
  Estimate rms_p_diff;
  Estimate same_top;  // fraction of positions whose top token agrees
};

class KldAccumulator {
 public:
  void add(const TokenComparison &token);
  int64_t count() const { return count_; }
  KldStatistics statistics() const;

 private:
  int64_t count_ = 0, n_same_top_ = 0;
  double sum_nll_ = 0, sum_nll2_ = 0, sum_nll_base_ = 0, sum_nll_base2_ = 0, sum_nll_nll_base_ = 0;
  double sum_kld_ = 0, sum_kld2_ = 0, sum_p_diff_ = 0, sum_p_diff2_ = 0, sum_p_diff4_ = 0;
  std::vector<float> kld_values_, p_diff_values_;
};

}  // namespace qs
