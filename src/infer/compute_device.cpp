#include "infer/compute_device.h"

#include "core/error.h"
#include "infer/transformer.h"
#include "model/model_source.h"

#ifdef QUANTSCOPE_HAS_CUDA
#include <cuda_runtime_api.h>

#include "gpu/gpu_transformer.h"
#endif

namespace qs {

bool built_with_cuda() {
#ifdef QUANTSCOPE_HAS_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef QUANTSCOPE_HAS_CUDA
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // no driver or no device: not an error here, just no GPU
    return 0;
  }
  return count;
#else
  return 0;
#endif
}

ComputeDevice parse_compute_device(std::string_view flag) {
  if (flag == "cpu") return ComputeDevice::cpu;
  if (flag == "auto") return cuda_device_count() > 0 ? ComputeDevice::cuda : ComputeDevice::cpu;
  if (flag == "cuda") {
    if (!built_with_cuda()) fail("--device cuda: this quantscope was built without the CUDA backend (CMake found no nvcc)");
    if (cuda_device_count() == 0) fail("--device cuda: no NVIDIA GPU is visible (no device, or no driver)");
    return ComputeDevice::cuda;
  }
  fail("--device: '", flag, "' is not one of auto, cpu, cuda");
}

const char *compute_device_name(ComputeDevice device) { return device == ComputeDevice::cuda ? "cuda" : "cpu"; }

ProductPrecision parse_product_precision(std::string_view flag, ComputeDevice device) {
  if (flag == "fp32") return ProductPrecision::fp32;
  if (flag == "tf32") {
    if (device != ComputeDevice::cuda)
      fail("--precision tf32: TF32 is the GPU's tensor-core mode (--device cuda); the CPU's products are fp32");
    return ProductPrecision::tf32;
  }
  fail("--precision: '", flag, "' is not one of fp32, tf32");
}

const char *product_precision_name(ProductPrecision precision) {
  return precision == ProductPrecision::tf32 ? "tf32" : "fp32";
}

std::unique_ptr<LogitsPass> load_logits_pass(const ModelSource &source, ComputeDevice device, int n_threads,
                                             ProgressSink *progress, ProductPrecision precision) {
#ifdef QUANTSCOPE_HAS_CUDA
  if (device == ComputeDevice::cuda) return GpuTransformer::load(source, n_threads, progress, precision);
#else
  if (device == ComputeDevice::cuda) fail("this quantscope was built without the CUDA backend");
#endif
  return Transformer::load(source, n_threads, progress);
}

}  // namespace qs
