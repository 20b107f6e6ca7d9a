// KL divergence and Δp statistics, computed as llama-perplexity's kl_divergence() computes them
// so that our figures and llama.cpp's can be compared side by side.
#include "infer/kld.h"

#include <algorithm>
#include <cmath>
#include <utility>

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
  float max_logit = logits[0];
  int32_t top = 0;
  for (int64_t i = 1; i < n_vocab; ++i) {
    if (logits[i] > max_logit) max_logit = logits[i], top = static_cast<int32_t>(i);
  }
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

namespace {

// sum_i p_base(i) * (log p_base(i) - log p(i)) in eight double lanes, p_base(i) from `base_prob`:
// compare_logits and PreparedBaseLogits share it so that they agree bit for bit.
template <typename BaseProb>
double sum_kld_terms(const float *logits, float max_logit, double log_sum_exp, const float *base_logits, float base_max,
                     double base_log_sum_exp, int64_t n_vocab, BaseProb base_prob) {
  return lane_sum(n_vocab, [&](int64_t i) {
    const double log_p_base = static_cast<double>(base_logits[i] - base_max) - base_log_sum_exp;
    const double log_p = static_cast<double>(logits[i] - max_logit) - log_sum_exp;
    return static_cast<double>(base_prob(i, log_p_base)) * (log_p_base - log_p);
  });
}

}  // namespace

TokenComparison compare_logits(const float *logits, const float *base_logits, int64_t n_vocab, int32_t target) {
  auto top_and_log_sum_exp = [n_vocab](const float *x, int32_t &top) {
    top = 0;
    for (int64_t i = 1; i < n_vocab; ++i)
      if (x[i] > x[top]) top = static_cast<int32_t>(i);
    return std::pair<float, double>(x[top], std::log(sum_exp_shifted(x, n_vocab, x[top])));
  };
  int32_t top = 0, base_top = 0;
  // Plain variables, not structured bindings: clang 14 cannot capture bindings in the lambda below.
  const std::pair<float, double> ours = top_and_log_sum_exp(logits, top);
  const std::pair<float, double> base = top_and_log_sum_exp(base_logits, base_top);
  const float max_logit = ours.first, base_max = base.first;
  const double log_sum_exp = ours.second, base_log_sum_exp = base.second;
  TokenComparison r;
  r.nll = -target_log_prob(logits, n_vocab, target);
  r.nll_base = -target_log_prob(base_logits, n_vocab, target);
  r.kld = sum_kld_terms(logits, max_logit, log_sum_exp, base_logits, base_max, base_log_sum_exp, n_vocab,
                        [](int64_t, double log_p_base) { return fast_exp(static_cast<float>(log_p_base)); });
  r.same_top = top == base_top;
  r.p_diff = static_cast<float>(std::exp(-r.nll) - std::exp(-r.nll_base));
  return r;
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
      for (int64_t i = 1; i < n_vocab; ++i)
        if (x[i] > x[row.top]) row.top = static_cast<int32_t>(i);
      row.max = x[row.top];
      row.log_sum_exp = std::log(sum_exp_shifted(x, n_vocab, row.max));
      row.nll = -(static_cast<double>(x[targets_[static_cast<size_t>(r)]]) - static_cast<double>(row.max) - row.log_sum_exp);
      float *p = probs_.data() + r * n_vocab;
      for (int64_t i = 0; i < n_vocab; ++i)
        p[i] = fast_exp(static_cast<float>(static_cast<double>(x[i] - row.max) - row.log_sum_exp));
    }
  }, n_threads);
}

TokenComparison PreparedBaseLogits::compare(int64_t r, const float *logits) const {
  const RowSummary &base = rows_[static_cast<size_t>(r)];
  const float *base_logits = base_ + r * n_vocab_;
  const float *p_base = probs_.data() + r * n_vocab_;
  int32_t top = 0;
  for (int64_t i = 1; i < n_vocab_; ++i)
    if (logits[i] > logits[top]) top = static_cast<int32_t>(i);
  const float max_logit = logits[top];
  const double log_sum_exp = std::log(sum_exp_shifted(logits, n_vocab_, max_logit));
  const int32_t target = targets_[static_cast<size_t>(r)];
  TokenComparison result;
  // target_log_prob's formula, from the same max and sum.
  result.nll = -(static_cast<double>(logits[target]) - static_cast<double>(max_logit) - log_sum_exp);
  result.nll_base = base.nll;
  result.kld = sum_kld_terms(logits, max_logit, log_sum_exp, base_logits, base.max, base.log_sum_exp, n_vocab_,
                             [p_base](int64_t i, double) { return p_base[i]; });
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
