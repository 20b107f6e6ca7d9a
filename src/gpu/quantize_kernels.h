// Quantize-and-restore kernels: each encodes blocks of a row-major matrix in GPU memory with its
// type's scalar reference (quant/*_blocks.h and *_block_search.h, the CPU's own code compiled for the
// GPU) and decodes them at once, so `restored` holds what the type stores, as f32. One thread per
// block (per super-block for the k-quants).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace qs::gpu {

// restored[n_rows x n_cols] from x[n_rows x n_cols]; importance: n_cols weights, or null.
using QuantizeRestoreFn = void (*)(const float *x, float *restored, int64_t n_rows, int64_t n_cols,
                                   const float *importance, cudaStream_t stream);

void quantize_restore_iq1_m(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                            cudaStream_t stream);
void quantize_restore_iq2_s(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                            cudaStream_t stream);
void quantize_restore_iq3_xxs(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                              cudaStream_t stream);
void quantize_restore_iq3_s(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                            cudaStream_t stream);
void quantize_restore_iq4_nl(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                             cudaStream_t stream);
void quantize_restore_iq4_xs(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                             cudaStream_t stream);

void quantize_restore_q2_k(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                           cudaStream_t stream);
void quantize_restore_q4_k(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                           cudaStream_t stream);
void quantize_restore_q5_k(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                           cudaStream_t stream);

}  // namespace qs::gpu
