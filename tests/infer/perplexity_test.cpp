// Perplexity and KLD on a small random model: the chunking/BOS/second-half rule and the error
// estimate recomputed by hand from full-chunk logits, the saved log-prob file, KLD of a model with
// itself (zero) and with a perturbed copy (positive), a hand-worked KLD, and bad input.
#include <gtest/gtest.h>

#include <random>

#include <cmath>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "infer/kld.h"
#include "infer/logprob_file.h"
#include "infer/perplexity.h"
#include "infer/synthetic_model.h"
#include "test_support.h"

namespace qs {
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
  // A row compared with itself: exactly what compare_logits gives (zero up to fast_exp's rounding).
  EXPECT_EQ(prepared.compare(4, base.data() + 4 * n_vocab).kld,
            compare_logits(base.data() + 4 * n_vocab, base.data() + 4 * n_vocab, n_vocab, targets[4]).kld);
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
}  // namespace qs
