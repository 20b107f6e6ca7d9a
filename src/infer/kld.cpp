// KL divergence and Δp statistics, computed as llama-perplexity's kl_divergence() computes them
// so that our figures and llama.cpp's can be compared side by side.
#include "infer/kld.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"
#include "core/percentile.h"
#include "infer/vector_math.h"

namespace qs {
namespace {

// Mean and standard error of the mean from running sums, as llama.cpp: no error under 11 values.
Estimate mean_and_uncertainty(double sum, double sum2, int64_t count) {
  if (count < 1) return {};
  const double mean = sum / static_cast<double>(count);
  double var = sum2 / static_cast<double>(count) - mean * mean;
  const double error = var > 0 && count > 10 ? std::sqrt(var / static_cast<double>(count - 1)) : 0.0;
  return {mean, error};
}

double covariance(double sum_a, double sum_b, double sum_ab, int64_t count) {
  if (count < 10) return 0.0;
  const double n = static_cast<double>(count);
  return (sum_ab / n - (sum_a / n) * (sum_b / n)) / (n - 1);
}

Quantiles quantiles(std::vector<float> values) {
  Quantiles q;
  if (values.empty()) return q;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  q.max = values.back();
  q.min = values.front();
  q.median = n % 2 == 0 ? 0.5 * (values[n / 2] + values[n / 2 - 1]) : values[n / 2];
  q.p99_9 = percentile_of_sorted(values, 0.999);
  q.p99 = percentile_of_sorted(values, 0.99);
  q.p95 = percentile_of_sorted(values, 0.95);
  q.p90 = percentile_of_sorted(values, 0.90);
  q.p75 = percentile_of_sorted(values, 0.75);
  q.p25 = percentile_of_sorted(values, 0.25);
  q.p10 = percentile_of_sorted(values, 0.10);
  q.p5 = percentile_of_sorted(values, 0.05);
  q.p1 = percentile_of_sorted(values, 0.01);
  q.p0_1 = percentile_of_sorted(values, 0.001);
  return q;
}

}  // namespace

TokenComparison compare_token(const float *logits, int64_t n_vocab, const LogProbRecord &base, int32_t target) {
  const int32_t top = static_cast<int32_t>(first_max_index(logits, n_vocab));
  const float max_logit = logits[top];
  const double sum_exp = sum_exp_shifted(logits, n_vocab, max_logit);
  const float log_sum_exp = static_cast<float>(std::log(sum_exp));

  TokenComparison r;
  // Our log-probs are formed exactly as encode_log_prob_record forms the base's, so that a model
  // compared with its own saved file gets the same top and target values bit for bit.
  r.nll = -target_log_prob(logits, n_vocab, target);
  r.nll_base = -base.target_log_prob;
  // sum over base entries above the cut of p_base (log p_base - log p).
  auto term = [&](int64_t i) {
    const float log_p_base = base.log_prob(i);
    const float log_p = logits[i] - max_logit - log_sum_exp;  // as encode_log_prob_record forms it
    return log_p_base > -kLogProbRange
               ? static_cast<double>(fast_exp(log_p_base)) * static_cast<double>(log_p_base - log_p)
               : 0.0;
  };
  r.kld = lane_sum(n_vocab, term);
  r.same_top = top == base.top_token;
  r.p_diff = static_cast<float>(std::exp(-r.nll) - std::exp(-r.nll_base));
  return r;
}

TokenComparison compare_logits(const float *logits, const float *base_logits, int64_t n_vocab, int32_t target) {
  return PreparedBaseLogits(base_logits, 1, n_vocab, {target}, 1).compare(0, logits);
}

PreparedBaseLogits::PreparedBaseLogits(const float *base_logits, int64_t n_rows, int64_t n_vocab,
                                       const std::vector<int32_t> &targets, int n_threads)
    : base_(base_logits), n_rows_(n_rows), n_vocab_(n_vocab), targets_(targets) {
  if (static_cast<int64_t>(targets.size()) != n_rows) fail("prepared base: ", targets.size(), " targets for ", n_rows, " rows");
  rows_.resize(static_cast<size_t>(n_rows));
  probs_.resize(static_cast<size_t>(n_rows * n_vocab));
  parallel_for(n_rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float *x = base_logits + r * n_vocab;
      RowSummary &row = rows_[static_cast<size_t>(r)];
      row.top = static_cast<int32_t>(first_max_index(x, n_vocab));
      row.max = x[row.top];
      row.log_sum_exp = std::log(sum_exp_shifted(x, n_vocab, row.max));
      row.nll = -(static_cast<double>(x[targets_[static_cast<size_t>(r)]]) - static_cast<double>(row.max) - row.log_sum_exp);
      float *p = probs_.data() + r * n_vocab;
      for (int64_t i = 0; i < n_vocab; ++i)
        p[i] = fast_exp(static_cast<float>(static_cast<double>(x[i] - row.max) - row.log_sum_exp));
      row.prob_sum = lane_sum(n_vocab, [p](int64_t i) { return static_cast<double>(p[i]); });
      // The same kernel as compare()'s D, so that a row compared with itself gets D == A exactly.
      row.weighted_gap_sum = exp_and_gap_sums(x, p, n_vocab, row.max).gap;
    }
  }, n_threads);
}

TokenComparison PreparedBaseLogits::compare(int64_t r, const float *logits) const {
  const RowSummary &base = rows_[static_cast<size_t>(r)];
  const float *p_base = probs_.data() + r * n_vocab_;
  const int32_t top = static_cast<int32_t>(first_max_index(logits, n_vocab_));
  const float max_logit = logits[top];
  // One pass for sum_exp_shifted's sum (the same bits, so the NLL is target_log_prob's) and
  // D = sum_i p_b(i) (x_i - max).
  const ExpAndGapSums sums = exp_and_gap_sums(logits, p_base, n_vocab_, max_logit);
  const double log_sum_exp = std::log(sums.exp);
  const int32_t target = targets_[static_cast<size_t>(r)];
  TokenComparison result;
  // target_log_prob's formula, from the same max and sum.
  result.nll = -(static_cast<double>(logits[target]) - static_cast<double>(max_logit) - log_sum_exp);
  result.nll_base = base.nll;
  // With log p_b(i) = (b_i - b_max) - lse_b and log p(i) = (x_i - max) - lse,
  //   KL = sum_i p_b(i) (log p_b(i) - log p(i)) = (A - D) + S (lse - lse_b).
  // For nearly equal rows A ~ D and lse ~ lse_b cancel, but A and D are double sums of exact
  // products, so their difference keeps the absolute accuracy (~1e-16 |A| times the summation's
  // growth) of summing the KL terms one by one, as compare_reference does.
  result.kld = (base.weighted_gap_sum - sums.gap) + base.prob_sum * (log_sum_exp - base.log_sum_exp);
  result.same_top = top == base.top;
  result.p_diff = static_cast<float>(std::exp(-result.nll) - std::exp(-result.nll_base));
  return result;
}

TokenComparison PreparedBaseLogits::compare_reference(int64_t r, const float *logits) const {
  const RowSummary &base = rows_[static_cast<size_t>(r)];
  const float *base_logits = base_ + r * n_vocab_;
  const float *p_base = probs_.data() + r * n_vocab_;
  const int32_t top = static_cast<int32_t>(first_max_index_ref(logits, n_vocab_));
  const float max_logit = logits[top];
  const double log_sum_exp = std::log(sum_exp_shifted_ref(logits, n_vocab_, max_logit));
  const int32_t target = targets_[static_cast<size_t>(r)];
  TokenComparison result;
  result.nll = -(static_cast<double>(logits[target]) - static_cast<double>(max_logit) - log_sum_exp);
  result.nll_base = base.nll;
  result.kld = lane_sum(n_vocab_, [&](int64_t i) {
    const double log_p_base = static_cast<double>(base_logits[i] - base.max) - base.log_sum_exp;
    const double log_p = static_cast<double>(logits[i] - max_logit) - log_sum_exp;
    return static_cast<double>(p_base[i]) * (log_p_base - log_p);
  });
  result.same_top = top == base.top;
  result.p_diff = static_cast<float>(std::exp(-result.nll) - std::exp(-result.nll_base));
  return result;
}

void KldAccumulator::add(const TokenComparison &t) {
  ++count_;
  sum_nll_ += t.nll;
  sum_nll2_ += t.nll * t.nll;
  sum_nll_base_ += t.nll_base;
  sum_nll_base2_ += t.nll_base * t.nll_base;
  sum_nll_nll_base_ += t.nll * t.nll_base;
  sum_kld_ += t.kld;
  sum_kld2_ += t.kld * t.kld;
  const double p_diff = t.p_diff, p_diff2 = p_diff * p_diff;
  sum_p_diff_ += p_diff;
  sum_p_diff2_ += p_diff2;
  sum_p_diff4_ += p_diff2 * p_diff2;
  n_same_top_ += t.same_top ? 1 : 0;
  kld_values_.push_back(static_cast<float>(t.kld));
  p_diff_values_.push_back(t.p_diff);
}

KldStatistics KldAccumulator::statistics() const {
  KldStatistics s;
  s.count = count_;
  if (count_ == 0) return s;
  const Estimate log_ppl = mean_and_uncertainty(sum_nll_, sum_nll2_, count_);
  const Estimate log_ppl_base = mean_and_uncertainty(sum_nll_base_, sum_nll_base2_, count_);
  s.ppl = {std::exp(log_ppl.value), std::exp(log_ppl.value) * log_ppl.error};
  s.base_ppl = {std::exp(log_ppl_base.value), std::exp(log_ppl_base.value) * log_ppl_base.error};
  const double cov = covariance(sum_nll_, sum_nll_base_, sum_nll_nll_base_, count_);
  const double error_product = log_ppl.error * log_ppl_base.error;
  s.log_ppl_correlation = error_product > 0 ? cov / error_product : 0.0;
  s.ln_ppl_ratio.value = log_ppl.value - log_ppl_base.value;
  s.ln_ppl_ratio.error = std::sqrt(std::max(0.0, log_ppl.error * log_ppl.error +
                                                     log_ppl_base.error * log_ppl_base.error - 2.0 * cov));
  s.ppl_ratio = {std::exp(s.ln_ppl_ratio.value), std::exp(s.ln_ppl_ratio.value) * s.ln_ppl_ratio.error};
  const double ppl_cov = s.ppl.value * s.base_ppl.value * cov;
  s.ppl_diff.value = s.ppl.value - s.base_ppl.value;
  s.ppl_diff.error = std::sqrt(std::max(0.0, s.ppl.error * s.ppl.error + s.base_ppl.error * s.base_ppl.error - 2.0 * ppl_cov));
  s.kld = mean_and_uncertainty(sum_kld_, sum_kld2_, count_);
  s.kld_quantiles = quantiles(kld_values_);
  s.p_diff = mean_and_uncertainty(sum_p_diff_, sum_p_diff2_, count_);
  s.p_diff_quantiles = quantiles(p_diff_values_);
  const Estimate p_diff_mse = mean_and_uncertainty(sum_p_diff2_, sum_p_diff4_, count_);
  s.rms_p_diff.value = std::sqrt(p_diff_mse.value);
  s.rms_p_diff.error = s.rms_p_diff.value > 0 ? 0.5 / s.rms_p_diff.value * p_diff_mse.error : 0.0;
  const double top = static_cast<double>(n_same_top_) / static_cast<double>(count_);
  s.same_top.value = top;
  s.same_top.error = count_ > 1 ? std::sqrt(top * (1 - top) / static_cast<double>(count_ - 1)) : 0.0;
  return s;
}

}  // namespace qs
