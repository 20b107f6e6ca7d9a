// The forward pass on one NVIDIA GPU: the CPU Transformer's model (llama, mistral, qwen2, qwen3,
// mixtral, qwen3_moe; every rope variant, since the cos/sin table is the CPU's own), with its
// weights in GPU memory as f32. Matrix products, attention's two products included, are cuBLAS
// fp32 GEMMs (no TF32); norms, rope, softmax, SiLU and the MoE gather/scatter are kernels of
// ours (gpu/kernels.cu), MoE routing too (gpu/moe_routing.cu: the experts chosen as the CPU pass
// chooses them, so both passes send a token to the same experts). Built only when CMake finds CUDA.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "gpu/device_buffer.h"
#include "infer/compute_device.h"
#include "infer/layer_stage.h"
#include "infer/logits_pass.h"
#include "infer/rope.h"
#include "infer/transformer.h"
#include "infer/weight_layout.h"

namespace qs {

class GpuProductInputs;
class ModelSource;
class ProgressSink;

// What one run of one layer over a batch computed on the way, in GPU memory, for passes that
// start inside the layer (infer/layer_stage.h; the CPU's LayerIntermediates). The feed-forward
// products are kept before the activation (gate, up), so a pass from the up or down product
// applies it as a whole run does and gives the same bits.
struct GpuLayerIntermediates {
  int layer = -1;
  gpu::DeviceBuffer<float> attn_normed, q, k, v, attn, ffn_input, ffn_normed, gate, up;
};

class GpuTransformer : public LogitsPass {
 public:
  // Takes no weights yet: add each with set_weight, then call finish_loading (which checks that
  // every tensor the config needs is there with the right shape, as the CPU pass does).
  GpuTransformer(TransformerConfig config, int device_index = 0, int n_threads = 0);
  ~GpuTransformer() override;
  GpuTransformer(const GpuTransformer &) = delete;
  GpuTransformer &operator=(const GpuTransformer &) = delete;

  // Reads the model tensor by tensor (one tensor in host memory at a time) onto the GPU. Refuses,
  // naming the memory needed and free, a model whose f32 weights do not fit on the GPU. Its
  // products run at `precision`.
  static std::unique_ptr<GpuTransformer> load(const ModelSource &source, int n_threads = 0,
                                              ProgressSink *progress = nullptr,
                                              ProductPrecision precision = ProductPrecision::fp32,
                                              int device_index = 0);
  // All of a CPU model's weights (tests and benchmarks: both passes over the same values).
  static std::unique_ptr<GpuTransformer> from_weights(const TransformerConfig &config, const WeightMap &weights,
                                                      int n_threads = 0, int device_index = 0);

  // Creates or replaces a weight (shape in ggml order, values in host memory).
  void set_weight(std::string_view name, const std::vector<int64_t> &shape, std::span<const float> values);
  void finish_loading();

  const TransformerConfig &config() const override { return config_; }
  int n_threads() const override { return n_threads_; }
  // "cuda:0 (<GPU name>)", with ", tf32" when the products are TF32.
  std::string device_name() const override;
  // fp32 (as constructed) or TF32 products from here on, attention's included.
  void set_product_precision(ProductPrecision precision);
  // The only sink served is an ImatrixCollector (its sums are made on the GPU); others throw.
  void forward(std::span<const int32_t> tokens, float *logits, ActivationSink *sink = nullptr,
               int64_t first_logit = 0) override;
  // Several sequences of sequence_length tokens back to back (0: one sequence), each attending
  // only to itself; logits of rows [first_logit, sequence_length) of each, back to back.
  void forward_sequences(std::span<const int32_t> tokens, int64_t sequence_length, int64_t first_logit, float *logits);

  // Bytes of GPU memory the weights take.
  int64_t weight_bytes() const;
  // Free GPU memory left beside the weights (load) or beside kept intermediates (the reference
  // run) for a pass's activations and attention scores.
  static constexpr int64_t kActivationHeadroomBytes = int64_t{4} << 30;

  // The pieces of a pass, on GPU memory, for callers that keep states between passes (the GPU
  // reference run of a measurement). hidden: n_tokens x n_embd on the GPU; sequences of L tokens.
  // Throws qs::Error for token ids outside the vocabulary or a length that is not whole sequences.
  void check_tokens(std::span<const int32_t> tokens, int64_t sequence_length, int64_t first_logit) const;
  void embed(std::span<const int32_t> tokens, float *hidden);
  void run_layers(int first, int last, float *hidden, int64_t n_tokens, int64_t sequence_length);
  // One layer from `start` inside it, on hidden = the state entering the layer: what comes before
  // start is taken from `kept` (an earlier run of this layer over the same tokens and weights but
  // the one start's product uses); the result equals a whole run's bit for bit. keep (if set)
  // receives what this run computed.
  void run_layer(int layer, float *hidden, int64_t n_tokens, int64_t sequence_length,
                 LayerStage start = LayerStage::input, const GpuLayerIntermediates *kept = nullptr,
                 GpuLayerIntermediates *keep = nullptr);
  // GPU memory a layer's intermediates over n_tokens take.
  int64_t intermediate_bytes(int64_t n_tokens) const;
  // Final norm and output product of rows [first_logit, L) of each sequence; the logits stay on
  // the GPU in a buffer of the model's, valid until the next pass.
  const float *output_logits(const float *hidden, int64_t n_tokens, int64_t first_logit, int64_t sequence_length);
  // Exchanges a weight's GPU values with `values` (at least as many): swapping in a quantized
  // copy and back costs no copy and no host memory.
  void swap_weight(std::string_view name, gpu::DeviceBuffer<float> &values);
  int64_t weight_elements(std::string_view name) const;
  const std::vector<int64_t> &weight_shape(std::string_view name) const;
  cudaStream_t stream() const { return stream_; }
  // While set, every product's input is shown to `inputs` (the imatrix's sums, the layer metric's
  // capture); null: off.
  void record_inputs(GpuProductInputs *inputs) { recorded_inputs_ = inputs; }
  // y[rows x n_out] = x[rows x n_in] W^T for a W of n_out rows of n_in in GPU memory (cuBLAS fp32).
  void multiply(const float *x, int64_t rows, int64_t n_in, const float *weight, int64_t n_out, float *y) {
    linear(x, rows, n_in, weight, n_out, nullptr, y);
  }
  // A weight's values in GPU memory (weight_elements of them).
  const float *weight_values(std::string_view name) const;
  void synchronize();

 private:
  struct DeviceWeight {
    std::vector<int64_t> shape;
    int64_t n_elements = 0;
    gpu::DeviceBuffer<float> values;
  };
  using Entry = std::map<std::string, DeviceWeight, std::less<>>::value_type;
  using Layer = LayerTensors<const Entry>;
  struct Scratch {
    gpu::DeviceBuffer<int32_t> tokens;
    gpu::DeviceBuffer<float> hidden, normed, q, k, v, attn, proj, scores, logits, ffn_gate, ffn_up, gathered, expert_out;
    gpu::DeviceBuffer<float> router_logits, token_route_weights, route_weights, rope_cos, rope_sin;
    gpu::DeviceBuffer<int32_t> routed_experts;
    gpu::DeviceBuffer<int64_t> rows, expert_begin, logit_rows;
    std::array<int64_t, 3> logit_rows_key{-1, -1, -1};  // (tokens, first logit, sequence length) of logit_rows
    gpu::DeviceBuffer<float *> attention_pointers;
    int64_t rope_positions = 0;
  };

  const Entry *require(const std::string &name, const std::vector<int64_t> &shape) const;
  const Entry *optional(const std::string &name, const std::vector<int64_t> &shape) const;
  void ensure_rope_table(int64_t n_positions);
  // y[rows x n_out] = x[rows x n_in] W^T (+ bias), W the weight's [n_out rows of n_in].
  void linear(const float *x, int64_t rows, int64_t n_in, const float *weight, int64_t n_out, const float *bias,
              float *y);
  void attention(int64_t n_tokens, int64_t sequence_length);
  void dense_ffn(const Layer &layer, const float *x, int64_t rows, float *out, LayerStage start,
                 const GpuLayerIntermediates *kept, GpuLayerIntermediates *keep);
  void moe_ffn(const Layer &layer, const float *x, int64_t rows, float *out);
  // Adds x (rows x cols, the input of w's product) to the recorded inputs, when recording.
  void record(const Entry *w, int expert, const float *x, int64_t rows, int64_t cols);

  TransformerConfig config_;
  int device_ = 0;
  int n_threads_ = 1;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  ProductPrecision precision_ = ProductPrecision::fp32;
  std::map<std::string, DeviceWeight, std::less<>> weights_;
  const Entry *token_embd_ = nullptr, *output_norm_ = nullptr, *output_ = nullptr;
  std::vector<Layer> layers_;
  bool loaded_ = false;
  GpuProductInputs *recorded_inputs_ = nullptr;
  Scratch scratch_;
  // The host copy the attention pointer table is built in; the MoE lists' offsets.
  std::vector<float *> host_pointers_;
  std::vector<const void *> pointer_table_key_;  // the buffers and shape the uploaded table is for
  std::vector<int64_t> host_expert_begin_;
};

}  // namespace qs
