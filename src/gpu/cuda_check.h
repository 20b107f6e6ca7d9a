// CUDA and cuBLAS status codes turned into qs::Error, naming the step that failed (an out-of-memory
// GPU, a lost device, a bad launch), so a GPU failure reaches the user as one clear line.
#pragma once

#include <cuda_runtime_api.h>

namespace qs::gpu {

void cuda_check(cudaError_t status, const char *what);

}  // namespace qs::gpu
