// The routing kernels: one thread per token chooses its experts (n_expert is at most a few
// hundred, k a handful); one block per expert lists its tokens, a chunk of tokens at a time, each
// thread's place in the list from the warp ballots of the chunk, so the list is in token order
// without atomics and the same on every run.
#include "gpu/moe_routing.h"

#include "core/error.h"
#include "gpu/cuda_check.h"

namespace qs::gpu {
namespace {

constexpr int kTokenThreads = 128;
constexpr int kListThreads = 256;

__global__ void route_kernel(const float *logits, int64_t n_tokens, int n_expert, int k, bool renormalize,
                             int32_t *experts, float *weights) {
  const int64_t t = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (t >= n_tokens) return;
  const float *l = logits + t * n_expert;
  float max_logit = l[0];
  for (int e = 1; e < n_expert; ++e) max_logit = fmaxf(max_logit, l[e]);
  float sum = 0.0f;  // in expert order, as the CPU adds
  for (int e = 0; e < n_expert; ++e) sum += expf(l[e] - max_logit);
  int32_t *chosen = experts + t * k;
  float *chosen_weights = weights + t * k;
  float chosen_sum = 0.0f, previous_logit = 0.0f;
  int previous = -1;
  for (int j = 0; j < k; ++j) {
    // The best expert ranked after the previous pick (by logit descending, then index ascending).
    int best = -1;
    float best_logit = 0.0f;
    for (int e = 0; e < n_expert; ++e) {
      const float v = l[e];
      const bool after = previous < 0 || v < previous_logit || (v == previous_logit && e > previous);
      if (after && (best < 0 || v > best_logit)) {
        best = e;
        best_logit = v;
      }
    }
    chosen[j] = best;
    chosen_weights[j] = expf(best_logit - max_logit) / sum;
    chosen_sum += chosen_weights[j];
    previous = best;
    previous_logit = best_logit;
  }
  if (renormalize)
    for (int j = 0; j < k; ++j) chosen_weights[j] /= chosen_sum;
}

// Block e walks the tokens in chunks of blockDim.x. Counting (fill false): begin[e + 1] = the
// expert's token count. Filling: writes its rows from begin[e] on.
template <bool kFill>
__global__ void expert_rows_kernel(const int32_t *experts, const float *weights, int64_t n_tokens, int k, int64_t *begin,
                                   int64_t *rows, float *row_weights) {
  __shared__ int warp_counts[kListThreads / 32];
  const int e = blockIdx.x, lane = threadIdx.x % 32, warp = threadIdx.x / 32, n_warps = blockDim.x / 32;
  int64_t written = kFill ? begin[e] : 0;
  for (int64_t base = 0; base < n_tokens; base += blockDim.x) {
    const int64_t t = base + threadIdx.x;
    int slot = -1;  // a token's k experts are distinct: at most one slot is e
    if (t < n_tokens)
      for (int j = 0; j < k; ++j)
        if (experts[t * k + j] == e) slot = j;
    const unsigned ballot = __ballot_sync(0xffffffffu, slot >= 0);
    if (lane == 0) warp_counts[warp] = __popc(ballot);
    __syncthreads();
    int before = 0, total = 0;
    for (int w = 0; w < n_warps; ++w) {
      before += w < warp ? warp_counts[w] : 0;
      total += warp_counts[w];
    }
    if (kFill && slot >= 0) {
      const int64_t at = written + before + __popc(ballot & ((1u << lane) - 1u));
      rows[at] = t;
      row_weights[at] = weights[t * k + slot];
    }
    written += total;
    __syncthreads();  // warp_counts is rewritten by the next chunk
  }
  if (!kFill && threadIdx.x == 0) begin[e + 1] = written;
}

__global__ void prefix_sum_kernel(int64_t *begin, int64_t n_expert) {
  begin[0] = 0;
  for (int64_t e = 0; e < n_expert; ++e) begin[e + 1] += begin[e];
}

}  // namespace

void route_top_k(const float *logits, int64_t n_tokens, int64_t n_expert, int64_t k, bool renormalize, int32_t *experts,
                 float *weights, cudaStream_t stream) {
  if (k <= 0 || k > n_expert) fail("moe: cannot route to ", k, " of ", n_expert, " experts");
  if (n_tokens == 0) return;
  const int blocks = static_cast<int>((n_tokens + kTokenThreads - 1) / kTokenThreads);
  route_kernel<<<blocks, kTokenThreads, 0, stream>>>(logits, n_tokens, static_cast<int>(n_expert), static_cast<int>(k),
                                                     renormalize, experts, weights);
  cuda_check(cudaGetLastError(), "routing kernel");
}

void list_expert_rows(const int32_t *experts, const float *weights, int64_t n_tokens, int64_t k, int64_t n_expert,
                      int64_t *begin, int64_t *rows, float *row_weights, cudaStream_t stream) {
  const int grid = static_cast<int>(n_expert), ik = static_cast<int>(k);
  expert_rows_kernel<false><<<grid, kListThreads, 0, stream>>>(experts, weights, n_tokens, ik, begin, rows, row_weights);
  prefix_sum_kernel<<<1, 1, 0, stream>>>(begin, n_expert);
  expert_rows_kernel<true><<<grid, kListThreads, 0, stream>>>(experts, weights, n_tokens, ik, begin, rows, row_weights);
  cuda_check(cudaGetLastError(), "expert list kernels");
}

}  // namespace qs::gpu
