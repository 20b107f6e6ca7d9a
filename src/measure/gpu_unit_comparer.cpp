#include "measure/gpu_unit_comparer.h"

#include "core/error.h"

#ifdef QUANTSCOPE_HAS_CUDA
#include "gpu/gpu_reference_run.h"
#endif

namespace qs {

std::unique_ptr<GpuUnitComparer> make_gpu_unit_comparer(const ModelSource &source, const CalibrationChunks &chunks,
                                                         int n_threads, ProgressSink *progress,
                                                         ProductPrecision precision) {
#ifdef QUANTSCOPE_HAS_CUDA
  return std::make_unique<GpuReferenceRun>(GpuTransformer::load(source, n_threads, progress, precision), chunks, progress);
#else
  fail("this quantscope was built without the CUDA backend");
#endif
}

}  // namespace qs
