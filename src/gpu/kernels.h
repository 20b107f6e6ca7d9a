// The forward pass's elementwise and row-wise steps on the GPU, as launchers callable from plain
// C++ (kernels.cu holds the kernels). Every launcher queues work on `stream` and returns; the
// matrix products are cuBLAS calls in gpu_transformer.cpp. Row-major throughout, as on the CPU.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace qs::gpu {

// out[t] = table[tokens[t]] for n tokens of n_embd values.
void embed_rows(const int32_t *tokens, int64_t n, const float *table, int64_t n_embd, float *out, cudaStream_t stream);

// RMSNorm of n_rows rows of n values: out = x / sqrt(mean(x^2) + eps) * weight. out may equal x.
void rms_norm_rows(const float *x, const float *weight, float *out, int64_t n_rows, int64_t n, float eps,
                   cudaStream_t stream);

// y[r][j] += bias[j] for n_rows rows of n values.
void add_bias_rows(float *y, const float *bias, int64_t n_rows, int64_t n, cudaStream_t stream);

// Per token t and head h of x (n_tokens rows of n_heads * head_dim): the optional per-head RMSNorm
// (qwen3's q/k norm, weight of head_dim values), then rope at position t % sequence_length with
// the cos/sin table (n_rot / 2 values per position); neox: pairs (i, i + n_rot/2), else (2i, 2i+1).
void norm_and_rope(float *x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const float *head_norm, float eps,
                   const float *cos, const float *sin, int64_t n_rot, bool neox, int64_t sequence_length,
                   cudaStream_t stream);

// n_matrices score matrices of L x L, row i of each: keys j in [max(0, i - window + 1), i] (window
// 0: [0, i]) softmaxed in place, every other entry set to 0 (so P V reads only visible values).
void causal_softmax(float *scores, int64_t n_matrices, int64_t L, int64_t window, cudaStream_t stream);

// out[i] = silu(gate[i]) * up[i] for n values (out may equal gate).
void silu_multiply(const float *gate, const float *up, float *out, int64_t n, cudaStream_t stream);

// x[i] += y[i] for n values.
void add_in_place(float *x, const float *y, int64_t n, cudaStream_t stream);

// out[i] = a[i] - b[i] for n values.
void subtract(const float *a, const float *b, float *out, int64_t n, cudaStream_t stream);

// The sum of x[i]^2 over n values in double, as kSumSquaresPartials partial sums (partials holds
// that many) in a fixed order: adding them in index order gives the same bits on every run.
constexpr int kSumSquaresPartials = 512;
void sum_squares(const float *x, int64_t n, double *partials, cudaStream_t stream);

// dst[r] = src[rows[r]] for m rows of width values.
void gather_rows(const float *src, const int64_t *rows, int64_t m, int64_t width, float *dst, cudaStream_t stream);

// dst[rows[r]] += weights[r] * src[r] for m rows of width values (distinct rows).
void scatter_add_weighted(float *dst, const int64_t *rows, const float *weights, const float *src, int64_t m,
                          int64_t width, cudaStream_t stream);

// log_softmax of each of n_rows rows of n_vocab values, in place (the reference's log-probs).
void log_softmax_rows(float *x, int64_t n_rows, int64_t n_vocab, cudaStream_t stream);

// Per row r: the model's logits x against the reference's log-probs lb (log_softmax'ed):
// kld[r] = sum_i exp(lb_i) (lb_i - log_softmax(x)_i), nll[r] = -log_softmax(x)[targets[r]],
// summed in double.
void kld_rows(const float *logits, const float *base_log_probs, const int32_t *targets, int64_t n_rows, int64_t n_vocab,
              double *kld, double *nll, cudaStream_t stream);

// sums[c] += sum over the n_rows rows of x[r][c]^2, in double (the imatrix's statistics).
void add_column_squares(const float *x, int64_t n_rows, int64_t n_cols, double *sums, cudaStream_t stream);

}  // namespace qs::gpu
