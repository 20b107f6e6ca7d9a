// The GPU's KldComparer for a measurement (gpu/gpu_reference_run.h), made here so that the
// measurement code never names GPU classes: in a build without CUDA this throws.
#pragma once

#include <memory>

#include "infer/transformer.h"
#include "measure/calibration.h"
#include "measure/reference_run.h"

namespace qs {

class ProgressSink;

// Uploads the model's weights (as they are now: the reference) to the GPU and runs the reference
// over the chunks there.
std::unique_ptr<KldComparer> make_gpu_kld_comparer(const Transformer &model, const CalibrationChunks &chunks,
                                                   ProgressSink *progress = nullptr);

}  // namespace qs
