// MoE routing and expert dispatch. Experts run one after another (each one's sgemms use the whole
// pool) and add into the output in expert order, as transformers' index_add_ loop does.
#include "infer/moe.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "infer/matmul.h"

namespace qs {

void route_top_k(const float *router_logits, int64_t n_tokens, int64_t n_expert, int64_t k, bool renormalize,
                 int32_t *experts, float *weights) {
  if (k <= 0 || k > n_expert) fail("moe: cannot route to ", k, " of ", n_expert, " experts");
  std::vector<float> probs(static_cast<size_t>(n_expert));
  std::vector<int32_t> order(static_cast<size_t>(n_expert));
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float *logits = router_logits + t * n_expert;
    const float max_logit = *std::max_element(logits, logits + n_expert);
    float sum = 0.0f;
    for (int64_t e = 0; e < n_expert; ++e) sum += (probs[static_cast<size_t>(e)] = std::exp(logits[e] - max_logit));
    for (float &p : probs) p /= sum;
    std::iota(order.begin(), order.end(), 0);
    // Ranked by logit: softmax keeps the order, and two experts whose probabilities round to the
    // same float are still told apart the same way on every device (gpu/moe_routing.h).
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    float chosen_sum = 0.0f;
    for (int64_t j = 0; j < k; ++j) chosen_sum += probs[static_cast<size_t>(order[static_cast<size_t>(j)])];
    for (int64_t j = 0; j < k; ++j) {
      const int32_t e = order[static_cast<size_t>(j)];
      experts[t * k + j] = e;
      weights[t * k + j] = renormalize ? probs[static_cast<size_t>(e)] / chosen_sum : probs[static_cast<size_t>(e)];
    }
  }
}

void moe_ffn(ThreadPool &pool, const float *x, int64_t n_tokens, int64_t n_embd, const MoeWeights &weights,
             float *out, MoeScratch &scratch, ActivationSink *sink) {
  const int64_t n_expert = weights.n_expert, k = weights.n_expert_used, n_ff = weights.n_ff;
  scratch.router_logits.resize(static_cast<size_t>(n_tokens * n_expert));
  scratch.routing_weights.resize(static_cast<size_t>(n_tokens * k));
  scratch.routed_experts.resize(static_cast<size_t>(n_tokens * k));
  if (sink) sink->matmul_input(weights.router_name, -1, x, n_tokens, n_embd);
  matmul(pool, x, n_tokens, n_embd, n_embd, weights.router, n_expert, nullptr, scratch.router_logits.data(), n_expert);
  route_top_k(scratch.router_logits.data(), n_tokens, n_expert, k, weights.renormalize, scratch.routed_experts.data(),
              scratch.routing_weights.data());

  std::fill(out, out + n_tokens * n_embd, 0.0f);
  for (int64_t e = 0; e < n_expert; ++e) {
    // The tokens routed to expert e, in token order, and their weights.
    scratch.expert_tokens.clear();
    scratch.expert_token_weights.clear();
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int64_t j = 0; j < k; ++j) {
        if (scratch.routed_experts[static_cast<size_t>(t * k + j)] == e) {
          scratch.expert_tokens.push_back(t);
          scratch.expert_token_weights.push_back(scratch.routing_weights[static_cast<size_t>(t * k + j)]);
        }
      }
    }
    const int64_t m = static_cast<int64_t>(scratch.expert_tokens.size());
    if (m == 0) continue;
    scratch.gathered.resize(static_cast<size_t>(m * n_embd));
    scratch.expert_out.resize(static_cast<size_t>(m * n_embd));
    for (int64_t r = 0; r < m; ++r) {
      std::copy_n(x + scratch.expert_tokens[static_cast<size_t>(r)] * n_embd, n_embd, scratch.gathered.data() + r * n_embd);
    }
    FfnWeights expert;
    expert.gate = weights.gate_exps + e * n_ff * n_embd;
    expert.up = weights.up_exps + e * n_ff * n_embd;
    expert.down = weights.down_exps + e * n_embd * n_ff;
    expert.n_ff = n_ff;
    expert.gate_name = weights.gate_name;
    expert.up_name = weights.up_name;
    expert.down_name = weights.down_name;
    expert.expert = static_cast<int>(e);
    swiglu_ffn(pool, scratch.gathered.data(), m, n_embd, expert, scratch.expert_out.data(), scratch.ffn, sink);
    for (int64_t r = 0; r < m; ++r) {
      float *dst = out + scratch.expert_tokens[static_cast<size_t>(r)] * n_embd;
      const float *src = scratch.expert_out.data() + r * n_embd;
      const float w = scratch.expert_token_weights[static_cast<size_t>(r)];
      for (int64_t i = 0; i < n_embd; ++i) dst[i] += src[i] * w;
    }
  }
}

}  // namespace qs
