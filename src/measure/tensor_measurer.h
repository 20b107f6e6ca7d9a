// Measures what quantizing one tensor to one type costs, all other tensors unquantized: the proxy
// errors, the tensor's own output error on captured calibration inputs, and the model's mean KLD
// and perplexity change against the cached reference run. Everything that does not depend on the
// type is computed once per tensor and kept while its types are measured (importance, the
// reference output energy), and everything that does not depend on the tensor once per layer
// (the hidden states entering it, its matmuls' inputs).
//
// Two ways to run: on the CPU over a loaded Transformer, or from the model's files, where host
// memory holds the tensor being measured (and the next one), not the model: the quantizers and
// the proxy metrics run on the CPU, and the layer and kld levels on the GPU, which holds the
// model.
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
#include "measure/gpu_unit_comparer.h"
#include "measure/layer_error.h"
#include "measure/metric_level.h"
#include "measure/reference_run.h"
#include "measure/tensor_position.h"
#include "model/model_source.h"
#include "quant/types.h"

namespace qs {

class ProgressSink;

class TensorMeasurer {
 public:
  // On the CPU: chunks may be null for the proxy level. imatrix may be null. The model's weights
  // are swapped while a unit runs and always put back.
  TensorMeasurer(Transformer &model, const Imatrix *imatrix, MetricLevel level, const CalibrationChunks *chunks,
                 ProgressSink *progress = nullptr);
  // From the files of `source`, each tensor read when its units start. The proxy level runs on the
  // CPU; the layer and kld levels need device cuda (the GPU loads the model and runs the passes
  // and the layer metric, its products at `precision`; the token embedding's layer metric, a
  // lookup, stays on the CPU).
  TensorMeasurer(const ModelSource &source, int n_threads, const Imatrix *imatrix, MetricLevel level,
                 const CalibrationChunks *chunks, ProgressSink *progress = nullptr,
                 ComputeDevice device = ComputeDevice::cpu, ProductPrecision precision = ProductPrecision::fp32);

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
    int64_t quantized_on_gpu_units = 0; // units whose type the GPU quantized (gpu/gpu_quantize.h)
  };
  const Timing &timing() const { return timing_; }

  // The quantized-then-dequantized values of a tensor in a type, as the GGUF writer would store
  // them (same per-matrix importance).
  std::vector<float> quantized_values(const std::string &tensor, const QuantType &type);

  // The unit the sweep measures after the next measure() call: on the GPU, its weight is quantized
  // on the CPU threads while the GPU runs that call's pass (the same values as quantizing it in
  // its turn, so the results do not change).
  void set_next_unit(const std::string &tensor, const QuantType &type);

  // The CPU's reference run with logits: kld level on the CPU only.
  const ReferenceRun *reference() const { return level_ == MetricLevel::kld ? reference_.get() : nullptr; }

 private:
  // A tensor's unquantized values: the loaded model's own (not copied), or read from the files.
  struct Original {
    std::vector<int64_t> shape;
    std::shared_ptr<const std::vector<float>> values;
  };
  struct TensorState {
    std::string name;
    Original original;
    int first_layer = 0;
    LayerStage stage = LayerStage::input;  // where in its layer a pass starts
    int64_t n_matrices = 1, n_rows = 1, n_cols = 0;
    std::vector<std::vector<float>> importance;  // per matrix, or empty
    double output_energy = 0;                    // ||X W^T||^2, for the layer metric
  };
  Original read_original(const std::string &tensor) const;
  // `original` (read already, or empty) saves reading the tensor again.
  const TensorState &state_for(const std::string &tensor, Original original = {});
  static PassStart pass_start(const TensorState &state);
  // quantized_values from the weight and the imatrix alone (no per-tensor state): safe beside a pass.
  // `restored`: a buffer to write into (see take_buffer).
  std::vector<float> quantize_restore(const std::string &tensor, const Original &original, const QuantType &type,
                                      std::vector<float> restored = {});
  // Buffers of quantized values whose unit is done, kept for the next units (at most two: this
  // unit's and the one quantized ahead): a fresh buffer of a few hundred MB costs its pages
  // (zeroed and faulted in), which took longer than quantizing into it for the fast types.
  std::vector<float> take_buffer();
  void give_back(std::vector<float> buffer);
  void count_tokens();
  void capture_layer_inputs(int layer);
  double layer_error(const TensorState &state, const std::vector<float> &quantized);
  void measure_kld(const TensorState &state, std::vector<float> quantized, MeasurementRow &row);
  // The GPU's layer metric and KLD of one unit, the next unit quantized meanwhile (unless the GPU
  // quantizes its type). quantized_on_gpu: the values are on the GPU already.
  void measure_on_gpu(const TensorState &state, std::vector<float> &quantized, bool quantized_on_gpu, MetricLevel level,
                      MeasurementRow &row);
  // Throws for a type the tensor cannot take (rows not whole blocks, or no imatrix entry for a type
  // that needs one).
  void check_quantizable(const std::string &tensor, int64_t n_cols, const QuantType &type) const;

  Transformer *model_ = nullptr;        // on the CPU
  const ModelSource *source_ = nullptr; // from the files
  TransformerConfig config_;
  const Imatrix *imatrix_;
  MetricLevel level_;
  const CalibrationChunks *chunks_;
  ThreadPool pool_;
  std::unique_ptr<ReferenceRun> reference_;  // layer and kld levels on the CPU; with logits for kld
  std::unique_ptr<GpuUnitComparer> gpu_;     // layer and kld levels on the GPU
  std::optional<TensorState> state_;
  std::optional<int> captured_layer_;
  MatmulInputCapture captured_;
  std::vector<int64_t> token_counts_;  // for the embedding's layer metric
  Timing timing_;
  struct QuantizedAhead {
    std::string tensor;
    const QuantType *type = nullptr;
    Original original;  // the tensor's, read for it
    std::vector<float> values;
  };
  std::optional<std::pair<std::string, const QuantType *>> next_unit_;
  std::optional<QuantizedAhead> quantized_ahead_;
  std::vector<std::vector<float>> spare_buffers_;
};

}  // namespace qs
