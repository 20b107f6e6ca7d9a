// The quant types the GPU quantizes itself: one row each, naming its kernel (gpu/quantize_kernels.h).
// A type's kernel runs the CPU's scalar reference, so its values are the CPU quantizer's, bit for
// bit (tests/gpu/gpu_quantize_test.cpp, type by type); a type not listed is quantized on the CPU.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "quant/types.h"

namespace qs::gpu {

bool quantizes_on_gpu(const QuantType &type);

// restored = type's decode(encode(x)) for a row-major n_rows x n_cols matrix in GPU memory;
// importance: n_cols weights in GPU memory, or null. n_cols must be whole blocks.
void quantize_restore(const QuantType &type, const float *x, float *restored, int64_t n_rows, int64_t n_cols,
                      const float *importance, cudaStream_t stream);

}  // namespace qs::gpu
