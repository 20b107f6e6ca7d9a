#include "gpu/gpu_quantize.h"

#include <utility>

#include "core/error.h"
#include "gpu/quantize_kernels.h"

namespace qs::gpu {
namespace {

constexpr std::pair<GgmlType, QuantizeRestoreFn> kGpuQuantizers[] = {
    {GgmlType::Q2_K, quantize_restore_q2_k},
    {GgmlType::Q4_K, quantize_restore_q4_k},
    {GgmlType::Q5_K, quantize_restore_q5_k},
    {GgmlType::IQ1_M, quantize_restore_iq1_m},
    {GgmlType::IQ2_S, quantize_restore_iq2_s},
    {GgmlType::IQ3_XXS, quantize_restore_iq3_xxs},
    {GgmlType::IQ3_S, quantize_restore_iq3_s},
    {GgmlType::IQ4_NL, quantize_restore_iq4_nl},
    {GgmlType::IQ4_XS, quantize_restore_iq4_xs},
};

QuantizeRestoreFn kernel_for(const QuantType &type) {
  for (const auto &[id, kernel] : kGpuQuantizers)
    if (id == type.id) return kernel;
  return nullptr;
}

}  // namespace

bool quantizes_on_gpu(const QuantType &type) { return kernel_for(type) != nullptr; }

void quantize_restore(const QuantType &type, const float *x, float *restored, int64_t n_rows, int64_t n_cols,
                      const float *importance, cudaStream_t stream) {
  const QuantizeRestoreFn kernel = kernel_for(type);
  if (!kernel) fail("the GPU does not quantize ", type.name);
  if (n_cols % type.block_size != 0) fail("rows of ", n_cols, " values do not fit ", type.name, " blocks of ", type.block_size);
  kernel(x, restored, n_rows, n_cols, importance, stream);
}

}  // namespace qs::gpu
