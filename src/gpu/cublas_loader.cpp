#include "gpu/cublas_loader.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "core/error.h"

namespace qs::gpu {
namespace {

void *open_cublas() {
  const std::string soname = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
  if (void *handle = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL)) return handle;
  const std::string first_error = dlerror();
#ifdef QUANTSCOPE_CUDA_LIBRARY_DIR
  const std::string built_with = std::string(QUANTSCOPE_CUDA_LIBRARY_DIR) + "/" + soname;
  if (void *handle = dlopen(built_with.c_str(), RTLD_NOW | RTLD_LOCAL)) return handle;
#endif
  fail("CUDA: cannot load ", soname, " (cuBLAS): ", first_error);
}

template <typename Function>
void bind(void *handle, const char *name, Function &slot) {
  slot = reinterpret_cast<Function>(dlsym(handle, name));
  if (!slot) fail("CUDA: cuBLAS has no ", name);
}

}  // namespace

const Cublas &cublas() {
  static Cublas api;
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    try {
      void *handle = open_cublas();
      bind(handle, "cublasCreate_v2", api.create);
      bind(handle, "cublasDestroy_v2", api.destroy);
      bind(handle, "cublasSetStream_v2", api.set_stream);
      bind(handle, "cublasSetMathMode", api.set_math_mode);
      bind(handle, "cublasSgemm_v2", api.sgemm);
      bind(handle, "cublasSgemmBatched", api.sgemm_batched);
    } catch (const Error &e) {
      error = e.what();
    }
  });
  if (!error.empty()) throw Error(error);
  return api;
}

}  // namespace qs::gpu
