// MoE routing on a hand-worked router and the expert dispatch against a per-token naive sum.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "infer/moe.h"

namespace qs::moe_test {
namespace {

TEST(MoeRouting, HandWorkedTopTwo) {
  // Logits (0, ln 2, ln 3, ln 4) -> softmax (1, 2, 3, 4) / 10. Top 2: expert 3 (0.4) then
  // expert 2 (0.3); renormalised 4/7 and 3/7.
  const float logits[4] = {0, std::log(2.0f), std::log(3.0f), std::log(4.0f)};
  int32_t experts[2];
  float weights[2];
  route_top_k(logits, 1, 4, 2, false, experts, weights);
  EXPECT_EQ(experts[0], 3);
  EXPECT_EQ(experts[1], 2);
  EXPECT_NEAR(weights[0], 0.4f, 1e-6);
  EXPECT_NEAR(weights[1], 0.3f, 1e-6);
  route_top_k(logits, 1, 4, 2, true, experts, weights);
  EXPECT_NEAR(weights[0], 4.0f / 7, 1e-6);
  EXPECT_NEAR(weights[1], 3.0f / 7, 1e-6);
}

TEST(MoeRouting, TiesPickTheLowerExpert) {
  const float logits[3] = {1, 2, 2};
  int32_t experts[1];
  float weights[1];
  route_top_k(logits, 1, 3, 1, true, experts, weights);
  EXPECT_EQ(experts[0], 1);
  EXPECT_FLOAT_EQ(weights[0], 1.0f);
}

// exp(-1e-8) rounds to 1 in float: both probabilities are the same float, but the logits say
// which is larger, and the larger wins (the GPU's routing ranks the same way).
TEST(MoeRouting, ExpertsWhoseProbabilitiesRoundTheSameAreRankedByLogit) {
  const float logits[3] = {-1e-8f, 0.0f, -5.0f};
  ASSERT_EQ(std::exp(logits[0]), std::exp(logits[1]));
  int32_t experts[2];
  float weights[2];
  route_top_k(logits, 1, 3, 2, false, experts, weights);
  EXPECT_EQ(experts[0], 1);
  EXPECT_EQ(experts[1], 0);
  EXPECT_EQ(weights[0], weights[1]);
}

struct CaptureCounts : ActivationSink {
  std::vector<std::string> names;
  std::vector<int> experts;
  std::vector<int64_t> rows;
  void matmul_input(std::string_view name, int expert, const float *, int64_t n_rows, int64_t) override {
    names.emplace_back(name);
    experts.push_back(expert);
    rows.push_back(n_rows);
  }
};

TEST(MoeFfn, MatchesPerTokenSumAndReportsRoutedRows) {
  const int64_t n_tokens = 9, n_embd = 6, n_expert = 4, k = 2, n_ff = 5;
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 0.7f);
  auto fill = [&](size_t n) {
    std::vector<float> v(n);
    for (auto &x : v) x = dist(rng);
    return v;
  };
  const auto x = fill(n_tokens * n_embd), router = fill(n_expert * n_embd);
  const auto gate = fill(n_expert * n_ff * n_embd), up = fill(n_expert * n_ff * n_embd), down = fill(n_expert * n_embd * n_ff);
  for (bool renormalize : {true, false}) {
    MoeWeights w{router.data(), gate.data(), up.data(), down.data(), n_expert, k, n_ff, renormalize,
                 "r", "g", "u", "d"};
    std::vector<float> out(n_tokens * n_embd);
    MoeScratch scratch;
    ThreadPool pool(2);
    CaptureCounts sink;
    moe_ffn(pool, x.data(), n_tokens, n_embd, w, out.data(), scratch, &sink);

    int64_t routed_rows = 0;
    for (size_t i = 0; i < sink.names.size(); ++i) {
      if (sink.names[i] == "g") routed_rows += sink.rows[i];
      if (sink.names[i] == "r") {
        EXPECT_EQ(sink.rows[i], n_tokens);
      }
    }
    EXPECT_EQ(routed_rows, n_tokens * k);

    for (int64_t t = 0; t < n_tokens; ++t) {
      const float *xt = x.data() + t * n_embd;
      std::vector<double> probs(n_expert);
      double sum = 0;
      for (int64_t e = 0; e < n_expert; ++e) {
        double logit = 0;
        for (int64_t i = 0; i < n_embd; ++i) logit += double(router[e * n_embd + i]) * xt[i];
        sum += probs[e] = std::exp(logit);
      }
      for (auto &p : probs) p /= sum;
      std::vector<int64_t> order(n_expert);
      for (int64_t e = 0; e < n_expert; ++e) order[e] = e;
      std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return probs[a] > probs[b]; });
      const double chosen = probs[order[0]] + probs[order[1]];
      std::vector<double> expected(n_embd, 0.0);
      for (int j = 0; j < k; ++j) {
        const int64_t e = order[j];
        const double weight = renormalize ? probs[e] / chosen : probs[e];
        std::vector<double> h(n_ff);
        for (int64_t f = 0; f < n_ff; ++f) {
          double g = 0, u = 0;
          for (int64_t i = 0; i < n_embd; ++i) {
            g += double(gate[(e * n_ff + f) * n_embd + i]) * xt[i];
            u += double(up[(e * n_ff + f) * n_embd + i]) * xt[i];
          }
          h[f] = g / (1 + std::exp(-g)) * u;
        }
        for (int64_t i = 0; i < n_embd; ++i) {
          double d = 0;
          for (int64_t f = 0; f < n_ff; ++f) d += double(down[(e * n_embd + i) * n_ff + f]) * h[f];
          expected[i] += weight * d;
        }
      }
      for (int64_t i = 0; i < n_embd; ++i) EXPECT_NEAR(out[t * n_embd + i], expected[i], 1e-4) << "token " << t;
    }
  }
}

}  // namespace
}  // namespace qs::moe_test
