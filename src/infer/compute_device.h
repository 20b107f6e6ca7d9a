// Where a forward pass runs: the CPU, or an NVIDIA GPU when this build has the CUDA backend
// (CMake found nvcc) and the machine has a GPU. `--device auto` (the default) takes the GPU when
// there is one. Loading goes through here, so commands never name the GPU classes themselves.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "infer/logits_pass.h"

namespace qs {

class ModelSource;
class ProgressSink;

enum class ComputeDevice { cpu, cuda };

// How the GPU's matrix products round: fp32 (the default: the CPU's precision, so that KLDs of
// 1e-5 and below resolve), or tf32 (tensor cores with 10-bit mantissas: several times the
// products' speed, for a coarser survey; docs/gpu.md says what it costs in agreement). The CPU's
// products are always fp32.
enum class ProductPrecision { fp32, tf32 };

// Whether this binary was built with the CUDA backend.
bool built_with_cuda();
// GPUs the CUDA runtime sees (0 in a build without CUDA, or with no GPU or driver).
int cuda_device_count();

// "auto", "cpu" or "cuda". Throws qs::Error for another word, and for "cuda" where this build has
// no CUDA backend or the machine no GPU (saying which).
ComputeDevice parse_compute_device(std::string_view flag);
const char *compute_device_name(ComputeDevice device);

// "fp32" or "tf32" for a pass on `device`. Throws qs::Error for another word, and for tf32 on the
// CPU.
ProductPrecision parse_product_precision(std::string_view flag, ComputeDevice device);
const char *product_precision_name(ProductPrecision precision);

// The model's weights loaded for a pass on `device` (the CPU Transformer, or the GPU's, its
// products at `precision`).
std::unique_ptr<LogitsPass> load_logits_pass(const ModelSource &source, ComputeDevice device, int n_threads,
                                             ProgressSink *progress = nullptr,
                                             ProductPrecision precision = ProductPrecision::fp32);

}  // namespace qs
