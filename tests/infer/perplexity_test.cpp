// Perplexity and KLD on a small random model: the chunking/BOS/second-half rule and the error
// estimate recomputed by hand from full-chunk logits, the saved log-prob file, KLD of a model with
// itself (zero) and with a perturbed copy (positive), a hand-worked KLD, and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "infer/kld.h"
#include "infer/logprob_file.h"
#include "infer/perplexity.h"
#include "infer/synthetic_model.h"
#include "test_support.h"

namespace qs::perplexity_test {
namespace {

std::vector<int32_t> text_tokens(int n) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  uint32_t state = 12345;
  for (auto &x : t) x = static_cast<int32_t>((state = state * 1103515245u + 12345u) >> 16) % 50;
  return t;
}

Transformer small_model(uint32_t seed = 3) {
  test::SyntheticOptions o;
  const auto config = test::synthetic_config(o);
  return Transformer(config, test::synthetic_weights(config, o, seed), 2);
}

TEST(Perplexity, ScoresSecondHalfOfEachChunkWithBos) {
  Transformer model = small_model();
  const auto tokens = text_tokens(70);  // 4 chunks of 16, 6 tokens left over
  PerplexityOptions options;
  options.n_ctx = 16;
  options.bos_token = 1;
  const auto result = compute_perplexity(model, tokens, options);
  EXPECT_EQ(result.n_chunks, 4);
  EXPECT_EQ(result.n_scored, 4 * 7);  // positions 8..14 predict tokens 9..15

  // By hand: full logits of each chunk (first token -> BOS), log-softmax in double.
  double sum = 0, sum2 = 0;
  for (int c = 0; c < 4; ++c) {
    std::vector<int32_t> chunk(tokens.begin() + c * 16, tokens.begin() + (c + 1) * 16);
    chunk[0] = 1;
    const auto logits = model.forward(chunk);
    for (int p = 8; p < 15; ++p) {
      double mx = -1e300, z = 0;
      for (int v = 0; v < 50; ++v) mx = std::max(mx, double(logits[p * 50 + v]));
      for (int v = 0; v < 50; ++v) z += std::exp(double(logits[p * 50 + v]) - mx);
      const double nll = mx + std::log(z) - logits[p * 50 + tokens[c * 16 + p + 1]];
      sum += nll, sum2 += nll * nll;
    }
  }
  const double mean = sum / 28, ppl = std::exp(mean);
  EXPECT_NEAR(result.ppl.value, ppl, 1e-5 * ppl);
  EXPECT_NEAR(result.ppl.error, ppl * std::sqrt((sum2 / 28 - mean * mean) / 27), 1e-4 * ppl);
  ASSERT_EQ(result.running_ppl.size(), 4u);
  EXPECT_DOUBLE_EQ(result.running_ppl.back(), result.ppl.value);

  options.max_chunks = 2;
  EXPECT_EQ(compute_perplexity(model, tokens, options).n_scored, 14);
}

TEST(Perplexity, RejectsShortAndEmptyText) {
  Transformer model = small_model();
  PerplexityOptions options;
  options.n_ctx = 16;
  EXPECT_THROW(compute_perplexity(model, text_tokens(15), options), Error);
  EXPECT_THROW(compute_perplexity(model, std::vector<int32_t>{}, options), Error);
}

TEST(Kld, HandWorkedTwoDistributions) {
  // base p = (1/2, 1/4, 1/4), ours q = (1/4, 1/2, 1/4) (logits are log-probs plus a constant):
  // KL(p || q) = 1/2 ln 2 + 1/4 ln(1/2) + 0 = ln 2 / 4 = 0.1732868.
  const float base_logits[3] = {std::log(0.5f) + 3, std::log(0.25f) + 3, std::log(0.25f) + 3};
  const float ours[3] = {std::log(0.25f) - 1, std::log(0.5f) - 1, std::log(0.25f) - 1};
  std::vector<uint8_t> record(log_prob_record_bytes(3));
  encode_log_prob_record(base_logits, 3, 2, record.data());
  LogProbRecord r;
  std::memcpy(&r.top_token, record.data(), 4);
  std::memcpy(&r.target_log_prob, record.data() + 4, 8);
  std::memcpy(&r.max_log_prob, record.data() + 12, 4);
  std::memcpy(&r.step, record.data() + 16, 4);
  r.codes = reinterpret_cast<const uint16_t *>(record.data() + 20);
  EXPECT_EQ(r.top_token, 0);
  EXPECT_NEAR(r.log_prob(0), std::log(0.5), 1e-4);
  EXPECT_NEAR(r.log_prob(1), std::log(0.25), 1e-4);
  const auto t = compare_token(ours, 3, r, 2);
  EXPECT_NEAR(t.kld, std::log(2.0) / 4, 2e-4);
  EXPECT_FALSE(t.same_top);
  EXPECT_NEAR(t.p_diff, 0.0f, 1e-6);  // target 2 has 1/4 in both
  EXPECT_NEAR(t.nll, std::log(4.0), 1e-5);
  const auto t1 = compare_token(ours, 3, r, 1);
  EXPECT_NEAR(t1.p_diff, 0.25f, 1e-5);  // 1/2 - 1/4
}

TEST(Kld, ExactFromLogitsInMemory) {
  // The same two distributions as above, from logits: KL = ln 2 / 4 to float precision, and a
  // distribution against itself gives exactly 0.
  const float base_logits[3] = {std::log(0.5f) + 3, std::log(0.25f) + 3, std::log(0.25f) + 3};
  const float ours[3] = {std::log(0.25f) - 1, std::log(0.5f) - 1, std::log(0.25f) - 1};
  const auto t = compare_logits(ours, base_logits, 3, 1);
  EXPECT_NEAR(t.kld, std::log(2.0) / 4, 1e-6);
  EXPECT_NEAR(t.p_diff, 0.25f, 1e-6);
  EXPECT_FALSE(t.same_top);
  const auto self = compare_logits(base_logits, base_logits, 3, 0);
  EXPECT_EQ(self.kld, 0.0);
  EXPECT_EQ(self.p_diff, 0.0f);
  EXPECT_TRUE(self.same_top);
}

TEST(Kld, PreparedBaseComparesExactlyLikeCompareLogits) {
  // Random rows with a wide range (entries far below the top too) and a near-copy of the base.
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  const int64_t n_rows = 9, n_vocab = 1003;
  std::vector<float> base(static_cast<size_t>(n_rows * n_vocab)), ours(base.size());
  std::vector<int32_t> targets;
  for (size_t i = 0; i < base.size(); ++i) {
    base[i] = normal(rng);
    ours[i] = i % 7 == 0 ? base[i] + 0.01f * normal(rng) : normal(rng);
  }
  for (int64_t r = 0; r < n_rows; ++r) targets.push_back(static_cast<int32_t>((r * 311) % n_vocab));
  const PreparedBaseLogits prepared(base.data(), n_rows, n_vocab, targets, 2);
  for (int64_t r = 0; r < n_rows; ++r) {
    const TokenComparison want = compare_logits(ours.data() + r * n_vocab, base.data() + r * n_vocab, n_vocab,
                                                targets[static_cast<size_t>(r)]);
    const TokenComparison got = prepared.compare(r, ours.data() + r * n_vocab);
    EXPECT_EQ(got.kld, want.kld) << r;
    EXPECT_EQ(got.nll, want.nll) << r;
    EXPECT_EQ(got.nll_base, want.nll_base) << r;
    EXPECT_EQ(got.p_diff, want.p_diff) << r;
    EXPECT_EQ(got.same_top, want.same_top) << r;
    EXPECT_GT(got.kld, 0.0);
  }
  // A row compared with itself: exactly what compare_logits gives, and exactly 0 (the same sums
  // on both sides cancel).
  EXPECT_EQ(prepared.compare(4, base.data() + 4 * n_vocab).kld,
            compare_logits(base.data() + 4 * n_vocab, base.data() + 4 * n_vocab, n_vocab, targets[4]).kld);
  EXPECT_EQ(prepared.compare(4, base.data() + 4 * n_vocab).kld, 0.0);
}

// Rows for the KL tests: a base row and ours, as a quantized model, an unrelated one, a nearly
// identical one (KL ~1e-8), a large vocabulary, ties for the top and very negative logits.
struct KlRows {
  std::string what;
  std::vector<float> base, ours;
  int32_t target = 0;
};

std::vector<KlRows> kl_test_rows() {
  std::mt19937 rng(21);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  auto rows = [&](std::string what, int64_t n, float sigma, float noise) {
    KlRows r{std::move(what), std::vector<float>(static_cast<size_t>(n)), {}, static_cast<int32_t>(n / 3)};
    for (auto &x : r.base) x = sigma * normal(rng);
    r.ours = r.base;
    for (auto &x : r.ours) x += noise * normal(rng);
    return r;
  };
  std::vector<KlRows> all;
  all.push_back(rows("unrelated, short", 17, 4.0f, 4.0f));
  all.push_back(rows("unrelated", 1003, 4.0f, 4.0f));
  all.push_back(rows("quantized-like", 3840, 3.0f, 0.05f));
  all.push_back(rows("nearly identical", 3840, 3.0f, 1e-4f));
  all.push_back(rows("nearly identical, vocab 150000", 150000, 3.0f, 1e-4f));
  all.push_back(rows("quantized-like, vocab 150000", 150000, 3.0f, 0.05f));
  all.push_back(rows("peaked, vocab 150000", 150000, 8.0f, 0.3f));
  KlRows ties = rows("ties for the top", 3840, 3.0f, 0.0f);
  for (size_t i = 0; i < ties.base.size(); ++i) {
    ties.base[i] = std::round(ties.base[i] / 2.0f);  // coarse grid: the max in many places
    ties.ours[i] = ties.base[i] + (i % 5 == 0 ? 1.0f : 0.0f);
  }
  all.push_back(ties);
  KlRows negative = rows("very negative logits", 3840, 3.0f, 0.05f);
  for (size_t i = 0; i < negative.base.size(); i += 3) {
    negative.base[i] = -200.0f - 1e4f * uniform(rng);  // e^x underflows: p = 0 in float
    negative.ours[i] = i % 2 == 0 ? negative.base[i] : -100.0f - 1e3f * uniform(rng);
  }
  negative.target = 1;
  all.push_back(negative);
  return all;
}

// KL(base || ours) of the exact softmaxes, term by term in long double with std::exp, and a
// bound on how far the fast path (float fast_exp, double sums) may be from it.
struct KlExact {
  long double kl = 0, rounding_scale = 0, fast_exp_bound = 0;
};

KlExact exact_kl(const std::vector<float> &base, const std::vector<float> &ours) {
  const size_t n = base.size();
  const long double b_max = *std::max_element(base.begin(), base.end());
  const long double x_max = *std::max_element(ours.begin(), ours.end());
  long double b_sum = 0, x_sum = 0;
  for (size_t i = 0; i < n; ++i) b_sum += std::exp(base[i] - b_max), x_sum += std::exp(ours[i] - x_max);
  const long double b_lse = std::log(b_sum), x_lse = std::log(x_sum);
  KlExact e;
  std::vector<long double> p(n), q(n), delta(n);
  for (size_t i = 0; i < n; ++i) {
    const long double log_p = base[i] - b_max - b_lse, log_q = ours[i] - x_max - x_lse;
    p[i] = std::exp(log_p), q[i] = std::exp(log_q), delta[i] = log_p - log_q;
    e.kl += p[i] * delta[i];
    // What the double sums add up: the magnitudes of the terms they sum (the algebraic form sums
    // p (b - b_max) and p (x - x_max), then adds the two log-sum-exps).
    e.rounding_scale += p[i] * (std::abs(base[i] - b_max) + std::abs(ours[i] - x_max));
  }
  e.rounding_scale += std::abs(b_lse) + std::abs(x_lse);
  // fast_exp is within 2 ulp (2^-22 relative) of e^x for its float argument; that argument is
  // the float difference x - max (or the log-prob), within 2^-24 of its size of the exact one.
  //  - each log-sum-exp is then within 2^-22 of exact (a weighted mean of the terms' errors): the
  //    two normalisations move the KL by 2^-21;
  //  - each base probability is within 2^-21 (its exp, and the base log-sum-exp inside it) plus
  //    2^-24 |log p| of exact, which moves the term p delta by that fraction of itself;
  //  - the float rounding of x - max and b - b_max perturbs the logits themselves, which moves the
  //    KL by sum (q - p) eta and sum p (delta - KL) eta to first order.
  // The bound is dominated by the 2^-21 of the normalisations: the fast path cannot resolve KL
  // below ~1e-7 against exact exps (old and new alike), hence also the reference check below.
  e.fast_exp_bound = 0x1p-21L;
  for (size_t i = 0; i < n; ++i)
    e.fast_exp_bound += p[i] * (0x1p-21L + 0x1p-24L * std::abs(std::log(p[i] + 1e-300L))) * std::abs(delta[i]) +
                        0x1p-24L * (std::abs(q[i] - p[i]) * std::abs(ours[i] - x_max) +
                                    p[i] * std::abs(delta[i] - e.kl) * std::abs(base[i] - b_max));
  return e;
}

TEST(Kld, PreparedCompareMatchesItsScalarReference) {
  // compare() forms KL = (A - D) + S (lse - lse_b) from sums; compare_reference() sums
  // p_b (log p_b - log p) term by term, from the same probabilities. Each double sum of n terms
  // in eight lanes rounds at most n/8 + 8 times, by 2^-53 of the sum of the terms' magnitudes
  // (rounding_scale; p differs from p_b by 1e-6 at most), and a few operations follow: the two
  // KLs differ by at most 2 (n/8 + 12) 2^-53 rounding_scale. For nearly identical rows (KL ~1e-8)
  // that is ~1e-12 (n = 3840) to ~4e-11 (n = 150000): the cancellation in A - D and lse - lse_b
  // costs no accuracy against summing the terms.
  for (const KlRows &rows : kl_test_rows()) {
    const int64_t n = static_cast<int64_t>(rows.base.size());
    const PreparedBaseLogits prepared(rows.base.data(), 1, n, {rows.target}, 1);
    const TokenComparison fast = prepared.compare(0, rows.ours.data());
    const TokenComparison ref = prepared.compare_reference(0, rows.ours.data());
    const KlExact exact = exact_kl(rows.base, rows.ours);
    const double bound = static_cast<double>(2.0L * (n / 8 + 12) * 0x1p-53L * exact.rounding_scale);
    EXPECT_NEAR(fast.kld, ref.kld, bound) << rows.what << ": KL " << ref.kld;
    EXPECT_EQ(fast.nll, ref.nll) << rows.what;
    EXPECT_EQ(fast.nll, -target_log_prob(rows.ours.data(), n, rows.target)) << rows.what;
    EXPECT_EQ(fast.nll_base, -target_log_prob(rows.base.data(), n, rows.target)) << rows.what;
    EXPECT_EQ(fast.p_diff, ref.p_diff) << rows.what;
    EXPECT_EQ(fast.same_top, ref.same_top) << rows.what;
    const TokenComparison one_row = compare_logits(rows.ours.data(), rows.base.data(), n, rows.target);
    EXPECT_EQ(one_row.kld, fast.kld) << rows.what;
    EXPECT_EQ(one_row.nll, fast.nll) << rows.what;
  }
}

TEST(Kld, AgreesWithExactKlTermByTerm) {
  for (const KlRows &rows : kl_test_rows()) {
    const int64_t n = static_cast<int64_t>(rows.base.size());
    const PreparedBaseLogits prepared(rows.base.data(), 1, n, {rows.target}, 1);
    const TokenComparison t = prepared.compare(0, rows.ours.data());
    const KlExact exact = exact_kl(rows.base, rows.ours);
    const long double bound = exact.fast_exp_bound + (n / 8 + 12) * 0x1p-53L * exact.rounding_scale;
    EXPECT_NEAR(t.kld, static_cast<double>(exact.kl), static_cast<double>(bound)) << rows.what;
    EXPECT_GT(exact.kl, 0.0L) << rows.what;
    // The top token: the first index of the max on each side, as the plain loop finds it.
    const auto first_max = [](const std::vector<float> &x) { return std::max_element(x.begin(), x.end()) - x.begin(); };
    EXPECT_EQ(t.same_top, first_max(rows.base) == first_max(rows.ours)) << rows.what;
  }
}

TEST(Kld, TiesForTheTopCountTheirFirstIndex) {
  std::vector<float> base(3840, -1.0f), ours(3840, -1.0f);
  base[1000] = 5.0f;
  ours[1000] = ours[3000] = 5.0f;  // tied with a later index: the top is still 1000
  const PreparedBaseLogits prepared(base.data(), 1, 3840, {7}, 1);
  EXPECT_TRUE(prepared.compare(0, ours.data()).same_top);
  EXPECT_TRUE(prepared.compare_reference(0, ours.data()).same_top);
  ours[20] = 5.0f;  // an earlier tie takes the top
  EXPECT_FALSE(prepared.compare(0, ours.data()).same_top);
  EXPECT_FALSE(prepared.compare_reference(0, ours.data()).same_top);
}

TEST(Kld, ModelAgainstItselfIsZeroAndPerturbedIsPositive) {
  test::ScratchDir dir;
  const auto path = dir.path() / "base.logprobs";
  Transformer model = small_model();
  const auto tokens = text_tokens(64);
  PerplexityOptions save;
  save.n_ctx = 16;
  save.bos_token = 1;
  save.save_log_probs = path;
  const auto base_result = compute_perplexity(model, tokens, save);
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  EXPECT_EQ(std::filesystem::file_size(path), 32 + 4 * 64 + 4 * 7 * log_prob_record_bytes(50));

  PerplexityOptions compare;
  compare.kl_base = path;
  const auto self = compute_perplexity(model, std::vector<int32_t>{}, compare);
  ASSERT_TRUE(self.kld);
  EXPECT_EQ(self.kld->count, 28);
  // What is left is the 16-bit rounding of the saved log-probs: each is off by e_i with
  // |e_i| <= step / 2 = 16 / 65535 / 2 = 1.22e-4, so one token's sum_i p_i e^e_i e_i stays within
  // 1.23e-4 of zero, and the mean over tokens, whose errors have both signs, far less.
  EXPECT_LT(std::abs(self.kld->kld.value), 1e-5);
  EXPECT_LT(self.kld->kld_quantiles.max, 1.23e-4);
  EXPECT_GT(self.kld->kld_quantiles.min, -1.23e-4);
  EXPECT_DOUBLE_EQ(self.kld->same_top.value, 1.0);
  EXPECT_EQ(self.kld->p_diff_quantiles.max, 0.0);
  EXPECT_EQ(self.kld->p_diff_quantiles.min, 0.0);
  EXPECT_EQ(self.kld->base_ppl.value, base_result.ppl.value);
  EXPECT_EQ(self.ppl.value, base_result.ppl.value);

  // Scale one FFN: the distributions move.
  auto w = model.weight("blk.1.ffn_down.weight").values;
  for (auto &v : w) v *= 2.0f;
  model.set_weight("blk.1.ffn_down.weight", w);
  const auto perturbed = compute_perplexity(model, tokens, compare);
  EXPECT_GT(perturbed.kld->kld.value, 1e-3);
  EXPECT_GT(perturbed.kld->kld_quantiles.p99, perturbed.kld->kld_quantiles.median);
  EXPECT_EQ(perturbed.kld->base_ppl.value, base_result.ppl.value);
  EXPECT_NE(perturbed.ppl.value, base_result.ppl.value);
  EXPECT_LE(perturbed.kld->same_top.value, 1.0);
}

TEST(Kld, BaseFileMismatchesAreErrors) {
  test::ScratchDir dir;
  const auto path = dir.path() / "base.logprobs";
  Transformer model = small_model();
  PerplexityOptions save;
  save.n_ctx = 16;
  save.save_log_probs = path;
  compute_perplexity(model, text_tokens(40), save);
  PerplexityOptions compare;
  compare.kl_base = path;
  auto other = text_tokens(40);
  other[5] = (other[5] + 1) % 50;
  EXPECT_THROW(compute_perplexity(model, other, compare), Error);
  // A model with another vocabulary.
  test::SyntheticOptions o;
  auto config = test::synthetic_config(o);
  config.n_vocab = 60;
  Transformer bigger(config, test::synthetic_weights(config, o, 1), 1);
  EXPECT_THROW(compute_perplexity(bigger, std::vector<int32_t>{}, compare), Error);
  // Truncated and foreign files.
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 1);
  EXPECT_THROW(LogProbFile{path}, Error);
  std::ofstream(dir.path() / "junk") << "_logits_ and more bytes than a header has";
  EXPECT_THROW(LogProbFile{dir.path() / "junk"}, Error);
  PerplexityOptions both = save;
  both.kl_base = path;
  EXPECT_THROW(compute_perplexity(model, text_tokens(40), both), Error);
}

}  // namespace
}  // namespace qs::perplexity_test
