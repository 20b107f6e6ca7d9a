#include "gpu/cuda_check.h"

#include "core/error.h"

namespace qs::gpu {

void cuda_check(cudaError_t status, const char *what) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear a non-sticky error so the next call does not report it again
  fail("CUDA: ", what, ": ", cudaGetErrorString(status));
}

}  // namespace qs::gpu
