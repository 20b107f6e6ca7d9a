#include "measure/gpu_kld.h"

#include "core/error.h"

#ifdef QUANTSCOPE_HAS_CUDA
#include "gpu/gpu_reference_run.h"
#endif

namespace qs {

std::unique_ptr<KldComparer> make_gpu_kld_comparer(const Transformer &model, const CalibrationChunks &chunks,
                                                   ProgressSink *progress) {
#ifdef QUANTSCOPE_HAS_CUDA
  return std::make_unique<GpuReferenceRun>(GpuTransformer::from_weights(model.config(), model.weights(), model.n_threads()),
                                           chunks, progress);
#else
  fail("this quantscope was built without the CUDA backend");
#endif
}

}  // namespace qs
