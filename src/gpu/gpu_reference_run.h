// The measurement's reference run on the GPU: the unquantized model's log-probs of every scored
// position and the hidden state entering one layer, per batch of chunks, all in GPU memory. A
// unit uploads its quantized weight once; the layer metric compares it with the original on the
// inputs the weight's product gets (captured once per weight, gpu_input_capture.h); the KLD swaps
// it in (no copy of the original: the buffers exchange), runs from the weight's product (the
// layer's other intermediates kept from one run of that layer, as the CPU run keeps them) and
// compares on the GPU; only two doubles per scored position come back.
#pragma once

#include <memory>
#include <vector>

#include "gpu/device_buffer.h"
#include "gpu/gpu_input_capture.h"
#include "gpu/gpu_transformer.h"
#include "measure/calibration.h"
#include "measure/gpu_unit_comparer.h"

namespace qs {

class ProgressSink;

class GpuReferenceRun final : public GpuUnitComparer {
 public:
  GpuReferenceRun(std::unique_ptr<GpuTransformer> model, const CalibrationChunks &chunks, ProgressSink *progress = nullptr,
                  int64_t max_batch_tokens = 4096);

  UnitComparison compare(const std::string &name, const std::vector<float> &values, const PassStart &start,
                         bool layer_error, bool kld) override;
  bool quantizes(const QuantType &type) const override;
  void quantize(const std::string &name, const QuantType &type, const std::vector<std::vector<float>> &importance,
                std::vector<float> &restored) override;
  UnitComparison compare_quantized(const std::string &name, const PassStart &start, bool layer_error, bool kld) override;
  KldResult compare_with_weight(const std::string &name, const std::vector<float> &values, const PassStart &start) {
    return *compare(name, values, start, false, true).kld;
  }
  double mean_nll() const { return mean_nll_; }
  // KLD passes that started at their weight's product inside a layer (the rest: at a layer, at the
  // embeddings, or all of them where the intermediates did not fit in GPU memory).
  int64_t passes_from_a_product() const { return passes_from_a_product_; }
  GpuTransformer &model() { return *model_; }

 private:
  struct Batch {
    int64_t first_chunk = 0, n_chunks = 0;
    std::vector<int32_t> tokens;             // the chunks' inputs back to back
    gpu::DeviceBuffer<float> hidden;         // entering layer_
    gpu::DeviceBuffer<float> base_log_probs; // rows_per_chunk rows per chunk
    gpu::DeviceBuffer<int32_t> targets;      // per row (0 where a row predicts nothing)
    GpuLayerIntermediates kept;              // of kept_layer_
  };
  void move_to(int layer);
  // A copy of n_tokens hidden states (GPU memory) in work_, for a pass to run on.
  float *working_copy(const float *hidden, int64_t n_tokens);
  // Sums KLD and NLL over the scored rows of every batch, the model as it is, from `start`: from
  // its stage inside the layer with from_product (keep_layer holds that layer), else from the layer.
  KldResult compare_from(const PassStart &start, bool from_product);
  // Keeps `layer`'s intermediates over every batch (reference weights), when they fit in GPU
  // memory beside a pass; false when they do not (passes then start at the layer).
  bool keep_layer(int layer);
  // Per-row KLD and NLL of the batch's logits (on the GPU) against its base, summed on the host in
  // row order over the scored rows.
  void add_rows(const Batch &batch, const float *logits, double &sum_kld, double &sum_nll);
  // The inputs of `name`'s product in `layer` (n_layer: the output matrix) over every batch, and
  // their energy through the original weight.
  void capture_inputs(const std::string &name, int layer);
  // The layer metric of the values in swapped_ against the weight `name` holds.
  double layer_error(const std::string &name, int layer);

  std::unique_ptr<GpuTransformer> model_;
  const CalibrationChunks &chunks_;
  int64_t rows_per_chunk_ = 0;
  std::vector<Batch> batches_;
  int layer_ = 0;
  int kept_layer_ = -1;
  bool intermediates_fit_ = true;
  int64_t passes_from_a_product_ = 0;
  double mean_nll_ = 0;
  gpu::DeviceBuffer<float> work_, swapped_, difference_, importance_;
  std::string quantized_name_;  // whose values quantize() left in swapped_
  std::unique_ptr<GpuInputCapture> capture_;
  double reference_energy_ = 0;  // ||X W^T||^2 of the captured weight
  gpu::DeviceBuffer<double> kld_, nll_;
  std::vector<double> host_kld_, host_nll_;
};

}  // namespace qs
