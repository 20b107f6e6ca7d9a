// Measures what quantizing one tensor to one type costs, all other tensors unquantized: the proxy
// errors, the tensor's own output error on captured calibration inputs, and the model's mean KLD
// and perplexity change against the cached reference run. Everything that does not depend on the
// type is computed once per tensor and kept while its types are measured (importance, the
// reference output energy), and everything that does not depend on the tensor once per layer
// (the hidden states entering it, its matmuls' inputs).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/imatrix.h"
#include "infer/compute_device.h"
#include "infer/transformer.h"
#include "jobs/measurement_row.h"
#include "measure/calibration.h"
#include "measure/layer_error.h"
#include "measure/metric_level.h"
#include "measure/reference_run.h"
#include "measure/tensor_position.h"
#include "quant/types.h"

namespace qs {

class ProgressSink;

class TensorMeasurer {
 public:
  // chunks may be null for the proxy level. imatrix may be null. The model's weights are swapped
  // while a unit runs and always put back.
  // device cuda: the kld level's passes and comparisons run on the GPU (the proxy and layer
  // metrics stay on the CPU).
  TensorMeasurer(Transformer &model, const Imatrix *imatrix, MetricLevel level, const CalibrationChunks *chunks,
                 ProgressSink *progress = nullptr, ComputeDevice device = ComputeDevice::cpu);

  // The row for `tensor` in `type`: bits, params and every metric of the level (the weighted
  // relative MSE only when the imatrix has the tensor). `level` may stop short of the measurer's.
  MeasurementRow measure(const std::string &tensor, const QuantType &type);
  MeasurementRow measure(const std::string &tensor, const QuantType &type, MetricLevel level);

  // Where the time went, for the benchmark: seconds quantizing, on the layer metric, on KLD passes
  // (and how many units ran them), and on the reference run.
  struct Timing {
    double quantize_seconds = 0, layer_seconds = 0, kld_seconds = 0, reference_seconds = 0;
    int64_t kld_units = 0;
    int64_t quantized_ahead_units = 0;  // units whose weight was quantized during the previous unit's GPU pass
  };
  const Timing &timing() const { return timing_; }

  // The quantized-then-dequantized values of a tensor in a type, as the GGUF writer would store
  // them (same per-matrix importance).
  std::vector<float> quantized_values(const std::string &tensor, const QuantType &type);

  // The unit the sweep measures after the next measure() call: on the GPU, its weight is quantized
  // on the CPU threads while the GPU runs that call's pass (the same values as quantizing it in
  // its turn, so the results do not change).
  void set_next_unit(const std::string &tensor, const QuantType &type);

  // The reference run with logits: kld level only.
  const ReferenceRun *reference() const { return level_ == MetricLevel::kld && !gpu_kld_ ? reference_.get() : nullptr; }

 private:
  struct TensorState {
    std::string name;
    int first_layer = 0;
    LayerStage stage = LayerStage::input;  // where in its layer a pass starts
    int64_t n_matrices = 1, n_rows = 1, n_cols = 0;
    std::vector<std::vector<float>> importance;  // per matrix, or empty
    double output_energy = 0;                    // ||X W^T||^2, for the layer metric
  };
  const TensorState &state_for(const std::string &tensor);
  // quantized_values from the weight and the imatrix alone (no per-tensor state): safe beside a pass.
  std::vector<float> quantize_restore(const std::string &tensor, const QuantType &type);
  void capture_layer_inputs(int layer);
  double layer_error(const TensorState &state, const std::vector<float> &quantized);
  void measure_kld(const TensorState &state, std::vector<float> quantized, MeasurementRow &row);

  Transformer &model_;
  const Imatrix *imatrix_;
  MetricLevel level_;
  const CalibrationChunks *chunks_;
  ThreadPool pool_;
  std::unique_ptr<ReferenceRun> reference_;  // layer and kld levels; with logits for kld on the CPU
  std::unique_ptr<KldComparer> gpu_kld_;     // kld level on the GPU
  std::optional<TensorState> state_;
  std::optional<int> captured_layer_;
  MatmulInputCapture captured_;
  std::vector<int64_t> token_counts_;  // for the embedding's layer metric
  Timing timing_;
  struct QuantizedAhead {
    std::string tensor;
    const QuantType *type = nullptr;
    std::vector<float> values;
  };
  std::optional<std::pair<std::string, const QuantType *>> next_unit_;
  std::optional<QuantizedAhead> quantized_ahead_;
};

}  // namespace qs
