// The forward pass's non-GEMM steps. They are memory-bound: one block per row where a row needs a
// reduction (norms, softmax), a flat grid otherwise. Reductions are summed in double where the
// CPU pass does (RMSNorm), in float where it does (softmax), so the two passes differ only by the
// order of additions.
#include "gpu/kernels.h"

#include <cfloat>
#include <cmath>

#include "gpu/cuda_check.h"

namespace qs::gpu {
namespace {

constexpr int kRowThreads = 256;

int flat_blocks(int64_t n, int threads) { return static_cast<int>((n + threads - 1) / threads); }

// Sum (or max) over the block; every thread gets the result. `shared` holds one value per warp.
template <typename T, typename Op>
__device__ T block_reduce(T value, T *shared, Op op) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, n_warps = blockDim.x / 32;
  for (int offset = 16; offset > 0; offset /= 2) value = op(value, __shfl_xor_sync(0xffffffffu, value, offset));
  if (lane == 0) shared[warp] = value;
  __syncthreads();
  T total = shared[0];
  for (int w = 1; w < n_warps; ++w) total = op(total, shared[w]);
  __syncthreads();  // shared is reused by the next reduction
  return total;
}

struct Sum {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a + b; }
};
struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

__global__ void embed_kernel(const int32_t *tokens, int64_t n, const float *table, int64_t n_embd, float *out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n * n_embd) return;
  const int64_t t = i / n_embd, j = i % n_embd;
  out[i] = table[static_cast<int64_t>(tokens[t]) * n_embd + j];
}

__global__ void rms_norm_kernel(const float *x, const float *weight, float *out, int64_t n, float eps) {
  __shared__ double shared[kRowThreads / 32];
  const float *row = x + blockIdx.x * n;
  float *dst = out + blockIdx.x * n;
  double sum = 0.0;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) sum += static_cast<double>(row[j]) * row[j];
  sum = block_reduce(sum, shared, Sum{});
  const float inv_rms = static_cast<float>(1.0 / sqrt(sum / static_cast<double>(n) + eps));
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) dst[j] = weight[j] * (row[j] * inv_rms);
}

__global__ void add_bias_kernel(float *y, const float *bias, int64_t n_rows, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n_rows * n) y[i] += bias[i % n];
}

// One block per (token, head); the head's values pass through shared memory so that the norm
// (a reduction) is complete before any pair is rotated.
__global__ void norm_and_rope_kernel(float *x, int64_t n_heads, int64_t head_dim, const float *head_norm, float eps,
                                     const float *cos, const float *sin, int64_t n_rot, bool neox,
                                     int64_t sequence_length) {
  extern __shared__ float head[];
  __shared__ double partial[kRowThreads / 32];
  const int64_t token = blockIdx.x / n_heads;
  float *v = x + blockIdx.x * head_dim;
  for (int64_t j = threadIdx.x; j < head_dim; j += blockDim.x) head[j] = v[j];
  __syncthreads();
  if (head_norm) {
    double sum = 0.0;
    for (int64_t j = threadIdx.x; j < head_dim; j += blockDim.x) sum += static_cast<double>(head[j]) * head[j];
    sum = block_reduce(sum, partial, Sum{});
    const float inv_rms = static_cast<float>(1.0 / sqrt(sum / static_cast<double>(head_dim) + eps));
    for (int64_t j = threadIdx.x; j < head_dim; j += blockDim.x) head[j] = head_norm[j] * (head[j] * inv_rms);
    __syncthreads();
  }
  const int64_t half = n_rot / 2, pos = token % sequence_length;
  for (int64_t i = threadIdx.x; i < half; i += blockDim.x) {
    const int64_t i0 = neox ? i : 2 * i, i1 = neox ? i + half : 2 * i + 1;
    const float c = cos[pos * half + i], s = sin[pos * half + i];
    const float a = head[i0], b = head[i1];
    head[i0] = a * c - b * s;
    head[i1] = b * c + a * s;
  }
  __syncthreads();
  for (int64_t j = threadIdx.x; j < head_dim; j += blockDim.x) v[j] = head[j];
}

// One block per score row: row i of matrix m is blockIdx.x = m * L + i.
__global__ void causal_softmax_kernel(float *scores, int64_t L, int64_t window) {
  __shared__ float shared[kRowThreads / 32];
  const int64_t i = blockIdx.x % L;
  float *row = scores + blockIdx.x * L;
  const int64_t first = window > 0 ? max(static_cast<int64_t>(0), i - window + 1) : 0;
  float local_max = -FLT_MAX;
  for (int64_t j = first + threadIdx.x; j <= i; j += blockDim.x) local_max = fmaxf(local_max, row[j]);
  const float row_max = block_reduce(local_max, shared, Max{});
  float sum = 0.0f;
  for (int64_t j = first + threadIdx.x; j <= i; j += blockDim.x) {
    const float e = expf(row[j] - row_max);
    row[j] = e;
    sum += e;
  }
  sum = block_reduce(sum, shared, Sum{});
  const float inv = 1.0f / sum;
  for (int64_t j = threadIdx.x; j < L; j += blockDim.x) row[j] = (j >= first && j <= i) ? row[j] * inv : 0.0f;
}

__global__ void silu_multiply_kernel(const float *gate, const float *up, float *out, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float g = gate[i];
  out[i] = g / (1.0f + expf(-g)) * up[i];
}

__global__ void add_kernel(float *x, const float *y, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) x[i] += y[i];
}

__global__ void subtract_kernel(const float *a, const float *b, float *out, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = a[i] - b[i];
}

// Block b sums the squares of elements b, b + stride, ... (grid-stride; the grid is fixed by the
// caller), so which element meets which in the sum never depends on timing.
__global__ void sum_squares_kernel(const float *x, int64_t n, double *partials) {
  __shared__ double shared[kRowThreads / 32];
  double sum = 0.0;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride) {
    const double v = x[i];
    sum += v * v;
  }
  sum = block_reduce(sum, shared, Sum{});
  if (threadIdx.x == 0) partials[blockIdx.x] = sum;
}

__global__ void gather_rows_kernel(const float *src, const int64_t *rows, int64_t m, int64_t width, float *dst) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= m * width) return;
  const int64_t r = i / width, j = i % width;
  dst[i] = src[rows[r] * width + j];
}

__global__ void scatter_add_weighted_kernel(float *dst, const int64_t *rows, const float *weights, const float *src,
                                            int64_t m, int64_t width) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= m * width) return;
  const int64_t r = i / width, j = i % width;
  dst[rows[r] * width + j] += weights[r] * src[i];
}

// log-sum-exp of a row, every thread gets it (max first, then the sum of exp in double).
__device__ double row_log_sum_exp(const float *row, int64_t n, float *shared_max, double *shared_sum) {
  float local_max = -FLT_MAX;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) local_max = fmaxf(local_max, row[j]);
  const float row_max = block_reduce(local_max, shared_max, Max{});
  double sum = 0.0;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) sum += exp(static_cast<double>(row[j] - row_max));
  sum = block_reduce(sum, shared_sum, Sum{});
  return row_max + log(sum);
}

__global__ void log_softmax_kernel(float *x, int64_t n_vocab) {
  __shared__ float shared_max[kRowThreads / 32];
  __shared__ double shared_sum[kRowThreads / 32];
  float *row = x + blockIdx.x * n_vocab;
  const double lse = row_log_sum_exp(row, n_vocab, shared_max, shared_sum);
  for (int64_t j = threadIdx.x; j < n_vocab; j += blockDim.x) row[j] = static_cast<float>(row[j] - lse);
}

__global__ void kld_kernel(const float *logits, const float *base, const int32_t *targets, int64_t n_vocab, double *kld,
                           double *nll) {
  __shared__ float shared_max[kRowThreads / 32];
  __shared__ double shared_sum[kRowThreads / 32];
  const float *x = logits + blockIdx.x * n_vocab;
  const float *lb = base + blockIdx.x * n_vocab;
  const double lse = row_log_sum_exp(x, n_vocab, shared_max, shared_sum);
  double sum = 0.0;
  for (int64_t j = threadIdx.x; j < n_vocab; j += blockDim.x) {
    const double b = lb[j];
    sum += exp(b) * (b - (static_cast<double>(x[j]) - lse));
  }
  sum = block_reduce(sum, shared_sum, Sum{});
  if (threadIdx.x == 0) {
    kld[blockIdx.x] = sum;
    nll[blockIdx.x] = lse - static_cast<double>(x[targets[blockIdx.x]]);
  }
}

// One thread per column, walking the rows (neighbouring threads read neighbouring columns).
__global__ void column_squares_kernel(const float *x, int64_t n_rows, int64_t n_cols, double *sums) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (c >= n_cols) return;
  double sum = 0.0;
  for (int64_t r = 0; r < n_rows; ++r) {
    const double v = x[r * n_cols + c];
    sum += v * v;
  }
  sums[c] += sum;
}

constexpr int kFlatThreads = 256;

}  // namespace

void add_column_squares(const float *x, int64_t n_rows, int64_t n_cols, double *sums, cudaStream_t stream) {
  if (n_rows == 0) return;
  column_squares_kernel<<<flat_blocks(n_cols, kFlatThreads), kFlatThreads, 0, stream>>>(x, n_rows, n_cols, sums);
  cuda_check(cudaGetLastError(), "column squares kernel");
}

void log_softmax_rows(float *x, int64_t n_rows, int64_t n_vocab, cudaStream_t stream) {
  if (n_rows == 0) return;
  log_softmax_kernel<<<static_cast<unsigned>(n_rows), kRowThreads, 0, stream>>>(x, n_vocab);
  cuda_check(cudaGetLastError(), "log-softmax kernel");
}

void kld_rows(const float *logits, const float *base_log_probs, const int32_t *targets, int64_t n_rows, int64_t n_vocab,
              double *kld, double *nll, cudaStream_t stream) {
  if (n_rows == 0) return;
  kld_kernel<<<static_cast<unsigned>(n_rows), kRowThreads, 0, stream>>>(logits, base_log_probs, targets, n_vocab, kld, nll);
  cuda_check(cudaGetLastError(), "KLD kernel");
}

void embed_rows(const int32_t *tokens, int64_t n, const float *table, int64_t n_embd, float *out, cudaStream_t stream) {
  if (n == 0) return;
  embed_kernel<<<flat_blocks(n * n_embd, kFlatThreads), kFlatThreads, 0, stream>>>(tokens, n, table, n_embd, out);
  cuda_check(cudaGetLastError(), "embedding kernel");
}

void rms_norm_rows(const float *x, const float *weight, float *out, int64_t n_rows, int64_t n, float eps,
                   cudaStream_t stream) {
  if (n_rows == 0) return;
  rms_norm_kernel<<<static_cast<unsigned>(n_rows), kRowThreads, 0, stream>>>(x, weight, out, n, eps);
  cuda_check(cudaGetLastError(), "RMSNorm kernel");
}

void add_bias_rows(float *y, const float *bias, int64_t n_rows, int64_t n, cudaStream_t stream) {
  if (n_rows == 0) return;
  add_bias_kernel<<<flat_blocks(n_rows * n, kFlatThreads), kFlatThreads, 0, stream>>>(y, bias, n_rows, n);
  cuda_check(cudaGetLastError(), "bias kernel");
}

void norm_and_rope(float *x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const float *head_norm, float eps,
                   const float *cos, const float *sin, int64_t n_rot, bool neox, int64_t sequence_length,
                   cudaStream_t stream) {
  if (n_tokens == 0) return;
  const unsigned blocks = static_cast<unsigned>(n_tokens * n_heads);
  const size_t shared = static_cast<size_t>(head_dim) * sizeof(float);
  norm_and_rope_kernel<<<blocks, 128, shared, stream>>>(x, n_heads, head_dim, head_norm, eps, cos, sin, n_rot, neox,
                                                         sequence_length);
  cuda_check(cudaGetLastError(), "norm and rope kernel");
}

void causal_softmax(float *scores, int64_t n_matrices, int64_t L, int64_t window, cudaStream_t stream) {
  if (n_matrices == 0 || L == 0) return;
  causal_softmax_kernel<<<static_cast<unsigned>(n_matrices * L), kRowThreads, 0, stream>>>(scores, L, window);
  cuda_check(cudaGetLastError(), "softmax kernel");
}

void silu_multiply(const float *gate, const float *up, float *out, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  silu_multiply_kernel<<<flat_blocks(n, kFlatThreads), kFlatThreads, 0, stream>>>(gate, up, out, n);
  cuda_check(cudaGetLastError(), "SiLU kernel");
}

void add_in_place(float *x, const float *y, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  add_kernel<<<flat_blocks(n, kFlatThreads), kFlatThreads, 0, stream>>>(x, y, n);
  cuda_check(cudaGetLastError(), "add kernel");
}

void subtract(const float *a, const float *b, float *out, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  subtract_kernel<<<flat_blocks(n, kFlatThreads), kFlatThreads, 0, stream>>>(a, b, out, n);
  cuda_check(cudaGetLastError(), "subtract kernel");
}

void sum_squares(const float *x, int64_t n, double *partials, cudaStream_t stream) {
  sum_squares_kernel<<<kSumSquaresPartials, kRowThreads, 0, stream>>>(x, n, partials);
  cuda_check(cudaGetLastError(), "sum of squares kernel");
}

void gather_rows(const float *src, const int64_t *rows, int64_t m, int64_t width, float *dst, cudaStream_t stream) {
  if (m == 0) return;
  gather_rows_kernel<<<flat_blocks(m * width, kFlatThreads), kFlatThreads, 0, stream>>>(src, rows, m, width, dst);
  cuda_check(cudaGetLastError(), "gather kernel");
}

void scatter_add_weighted(float *dst, const int64_t *rows, const float *weights, const float *src, int64_t m,
                          int64_t width, cudaStream_t stream) {
  if (m == 0) return;
  scatter_add_weighted_kernel<<<flat_blocks(m * width, kFlatThreads), kFlatThreads, 0, stream>>>(dst, rows, weights,
                                                                                                 src, m, width);
  cuda_check(cudaGetLastError(), "scatter kernel");
}

}  // namespace qs::gpu
