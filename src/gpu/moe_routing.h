// MoE routing on the GPU, as the CPU pass routes (infer/moe.h, route_top_k): each token's k experts
// of largest router logit with their softmax weights, then every expert's tokens listed in token
// order, so the experts' products run on the rows the CPU pass gives them. Only the n_expert + 1
// list offsets go to the host (to size each expert's product), not the router's logits.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace qs::gpu {

// Per token t of n_tokens rows of n_expert logits: experts[t*k + j] the j-th largest logit's expert
// (ties: the lower index first), weights[t*k + j] its softmax probability, divided by the sum of
// the k chosen when renormalize. Choosing by logit is choosing by probability (softmax keeps the
// order) without two exp implementations ever ranking a near tie differently.
void route_top_k(const float *logits, int64_t n_tokens, int64_t n_expert, int64_t k, bool renormalize, int32_t *experts,
                 float *weights, cudaStream_t stream);

// Expert e's tokens, in token order, are rows[begin[e], begin[e + 1]) with their routing weights in
// row_weights; begin has n_expert + 1 entries. All in GPU memory; rows and row_weights hold
// n_tokens * k.
void list_expert_rows(const int32_t *experts, const float *weights, int64_t n_tokens, int64_t k, int64_t n_expert,
                      int64_t *begin, int64_t *rows, float *row_weights, cudaStream_t stream);

}  // namespace qs::gpu
