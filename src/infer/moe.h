// Mixture-of-experts feed-forward (mixtral, qwen3_moe): a router picks the top k experts of each
// token from the softmax of its logits, each expert is a SwiGLU block run on its own tokens, and
// the outputs are summed with the routing weights.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "infer/activation_sink.h"
#include "infer/ffn.h"
#include "infer/thread_pool.h"

namespace qs {

// For each token: softmax over the n_expert router logits, the k largest probabilities (ranked by
// logit; ties: the lower expert index first) in descending order into experts[t*k ..] and
// weights[t*k ..], renormalised to sum to 1 when `renormalize` (mixtral always; qwen3_moe per
// norm_topk_prob).
void route_top_k(const float *router_logits, int64_t n_tokens, int64_t n_expert, int64_t k, bool renormalize,
                 int32_t *experts, float *weights);

struct MoeWeights {
  const float *router = nullptr;     // [n_expert x n_embd]
  const float *gate_exps = nullptr;  // [n_expert x n_ff x n_embd]
  const float *up_exps = nullptr;    // [n_expert x n_ff x n_embd]
  const float *down_exps = nullptr;  // [n_expert x n_embd x n_ff]
  int64_t n_expert = 0, n_expert_used = 0, n_ff = 0;
  bool renormalize = true;
  std::string_view router_name, gate_name, up_name, down_name;
};

struct MoeScratch {
  std::vector<float> router_logits, routing_weights, gathered, expert_out;
  std::vector<int32_t> routed_experts;
  std::vector<int64_t> expert_tokens;
  std::vector<float> expert_token_weights;
  FfnScratch ffn;
};

// out[n_tokens x n_embd] = sum over each token's chosen experts of weight * expert(x).
void moe_ffn(ThreadPool &pool, const float *x, int64_t n_tokens, int64_t n_embd, const MoeWeights &weights,
             float *out, MoeScratch &scratch, ActivationSink *sink);

}  // namespace qs
