// cuBLAS loaded when the first GPU pass is made, not when quantscope starts: linked directly,
// libcublas and libcublasLt (hundreds of MB) cost every command ~0.4 s of start-up, GPU or not.
// The CUDA runtime is linked statically (it touches the driver only when called).
#pragma once

#include <cublas_v2.h>

namespace qs::gpu {

// The cuBLAS entry points the GPU pass uses.
struct Cublas {
  decltype(&cublasCreate_v2) create = nullptr;
  decltype(&cublasDestroy_v2) destroy = nullptr;
  decltype(&cublasSetStream_v2) set_stream = nullptr;
  decltype(&cublasSetMathMode) set_math_mode = nullptr;
  decltype(&cublasSgemm_v2) sgemm = nullptr;
  decltype(&cublasSgemmBatched) sgemm_batched = nullptr;
};

// Loads libcublas once (by its soname, then from the toolkit this was built with); throws
// qs::Error naming the library when it cannot.
const Cublas &cublas();

}  // namespace qs::gpu
