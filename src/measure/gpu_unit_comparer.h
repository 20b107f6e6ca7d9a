// What the GPU measures of one unit (a weight replaced by its quantized values, every other
// weight the reference's): its layer metric and the model's KLD. The GPU holds the whole model
// and the reference run (gpu/gpu_reference_run.h); it is made here, so that measurement code never
// names GPU classes: in a build without CUDA, making one throws.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "infer/compute_device.h"
#include "measure/calibration.h"
#include "measure/reference_run.h"
#include "quant/types.h"

namespace qs {

class ModelSource;
class ProgressSink;

struct UnitComparison {
  std::optional<double> layer_error;  // when asked for
  std::optional<KldResult> kld;       // when asked for
};

class GpuUnitComparer {
 public:
  virtual ~GpuUnitComparer() = default;
  // `name` with `values`: layer_error, its product's output error on the inputs the reference
  // feeds it (measure/layer_error.h; not for a weight acting at the embeddings, a lookup that the
  // CPU measures from token counts); kld, the pass from `start` with the weight swapped in (put
  // back before returning).
  virtual UnitComparison compare(const std::string &name, const std::vector<float> &values, const PassStart &start,
                                 bool layer_error, bool kld) = 0;

  // Whether quantize() runs `type` on the GPU (with the CPU quantizer's bits); other types are
  // quantized on the CPU and handed to compare().
  virtual bool quantizes(const QuantType &type) const = 0;
  // Weight `name` (the GPU's copy) quantized to `type` and back, matrix m with importance[m] (or
  // none when importance is empty), into GPU memory for compare_quantized; the values also come
  // back into `restored` (for the proxy metrics).
  virtual void quantize(const std::string &name, const QuantType &type,
                        const std::vector<std::vector<float>> &importance, std::vector<float> &restored) = 0;
  // compare() on the values the last quantize() of `name` left on the GPU.
  virtual UnitComparison compare_quantized(const std::string &name, const PassStart &start, bool layer_error,
                                           bool kld) = 0;
};

// Loads the model onto the GPU tensor by tensor (host memory holds one tensor) and runs the
// reference over the chunks there, every product (the reference's and the units') at `precision`.
std::unique_ptr<GpuUnitComparer> make_gpu_unit_comparer(const ModelSource &source, const CalibrationChunks &chunks,
                                                         int n_threads, ProgressSink *progress = nullptr,
                                                         ProductPrecision precision = ProductPrecision::fp32);

}  // namespace qs
