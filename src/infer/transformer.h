// The CPU forward pass of llama-family decoders (llama, mistral, qwen2, qwen3, mixtral, qwen3_moe):
// f32 weights held once, a whole chunk of tokens per pass (positions 0..n-1, causal attention
// inside the chunk, no KV cache). It can start at any layer from a given hidden state, report
// every matmul input and layer input to an ActivationSink, and swap single weights, which is what
// measurement and imatrix collection are built on.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "infer/activation_sink.h"
#include "infer/attention.h"
#include "infer/ffn.h"
#include "infer/layer_stage.h"
#include "infer/logits_pass.h"
#include "infer/moe.h"
#include "infer/rope.h"
#include "infer/thread_pool.h"
#include "infer/transformer_config.h"
#include "infer/weight_layout.h"

namespace qs {

class ModelSource;
class ProgressSink;

struct WeightTensor {
  std::vector<int64_t> shape;  // ggml order: shape[0] is the row length
  std::vector<float> values;
  int64_t n_elements() const;
};
// Weights by GGUF name ("token_embd.weight", "blk.0.attn_q.weight", ...).
using WeightMap = std::map<std::string, WeightTensor, std::less<>>;

class Transformer : public LogitsPass {
 public:
  // Takes the weights by GGUF name; checks that every tensor the config needs is there with the
  // right shape (throws qs::Error naming the tensor). Optional tensors (q/k/v biases, q/k norms,
  // output.weight when embeddings are tied, rope_freqs.weight) are used when present.
  // n_threads <= 0: the default thread count.
  Transformer(TransformerConfig config, WeightMap weights, int n_threads = 0);

  // Reads every tensor of the model as f32 (one copy, converted once).
  static std::unique_ptr<Transformer> load(const ModelSource &source, int n_threads = 0,
                                           ProgressSink *progress = nullptr);

  const TransformerConfig &config() const override { return config_; }
  int n_threads() const override { return pool_.size(); }
  std::string device_name() const override { return "cpu"; }

  // Logits of tokens [first_logit, n) into logits ((n - first_logit) x n_vocab). Computing only
  // the rows one needs saves a part of the output matmul (perplexity scores the second half).
  void forward(std::span<const int32_t> tokens, float *logits, ActivationSink *sink = nullptr,
               int64_t first_logit = 0) override;
  std::vector<float> forward(std::span<const int32_t> tokens, ActivationSink *sink = nullptr);

  // Token embeddings: the hidden state entering layer 0 (n x n_embd).
  std::vector<float> embed(std::span<const int32_t> tokens) const;
  // The hidden state entering `layer` (0 <= layer <= n_layer; n_layer: the final norm's input).
  std::vector<float> hidden_states_before_layer(std::span<const int32_t> tokens, int layer,
                                                ActivationSink *sink = nullptr);
  // The calls below take several chunks at once when sequence_length > 0: n_tokens is then
  // n_tokens / sequence_length sequences back to back, each with positions 0.. and attention only
  // within itself (bigger matrix products than one chunk at a time); 0 means one sequence.
  //
  // Runs layers [first, last) in place on hidden (n_tokens x n_embd).
  void run_layers(int first, int last, float *hidden, int64_t n_tokens, ActivationSink *sink = nullptr,
                  int64_t sequence_length = 0);
  // Runs `layer` in place as a pass wanting logits from first_logit on runs it (trimmed when it is
  // the last layer) and keeps what it computed on the way into `keep`, for forward_from_stage.
  void run_layer_keeping(int layer, float *hidden, int64_t n_tokens, LayerIntermediates &keep,
                         int64_t sequence_length = 0, int64_t first_logit = 0);
  // Layers [first, n_layer) in place, as a pass that wants logits from first_logit on runs them:
  // the last layer only for rows [first_logit, sequence_length) of each sequence (the earlier rows
  // are left stale). output_logits of the result equals forward_from_layer(first, ...).
  void run_layers_for_logits(int first, float *hidden, int64_t n_tokens, int64_t first_logit,
                             int64_t sequence_length = 0);
  // Final norm and output matmul for rows [first_logit, sequence_length) of each sequence of
  // hidden (left unchanged); the logits of the sequences are back to back.
  void output_logits(const float *hidden, int64_t n_tokens, float *logits, ActivationSink *sink = nullptr,
                     int64_t first_logit = 0, int64_t sequence_length = 0);
  // Layers [layer, n_layer) then the output, from the hidden state entering `layer`.
  void forward_from_layer(int layer, std::span<const float> hidden_in, int64_t n_tokens, float *logits,
                          ActivationSink *sink = nullptr, int64_t first_logit = 0, int64_t sequence_length = 0);
  // The same from a point inside `layer`: everything before `stage` and everything the stage's
  // weight does not feed is taken from `kept` (run_layer_keeping of this layer over the same
  // tokens with the same first_logit), so after changing only that weight the result equals
  // forward_from_layer(layer, layer_input, ...) bit for bit. The stages past ffn_input need a
  // dense feed-forward block.
  void forward_from_stage(int layer, LayerStage stage, const LayerIntermediates &kept, std::span<const float> layer_input,
                          int64_t n_tokens, float *logits, int64_t first_logit = 0, int64_t sequence_length = 0);

  // Weight access. weight() throws naming the tensor when it does not exist.
  bool has_weight(std::string_view name) const;
  const WeightTensor &weight(std::string_view name) const;
  // Replaces a tensor's values (same element count; e.g. a quantized-then-dequantized copy) and
  // returns the previous ones, so a caller can put them back.
  std::vector<float> set_weight(std::string_view name, std::vector<float> values);
  // Every weight a matmul reads, in execution order (experts: the stacked tensor once).
  std::vector<std::string> matmul_weight_names() const;
  const WeightMap &weights() const { return weights_; }

  // Floating-point operations (2 per multiply-add) of one pass over n_tokens with logits for
  // n_logits of them: the weight matmuls
  // (MoE: n_expert_used experts per token) plus causal attention.
  double flops_per_pass(int64_t n_tokens, int64_t n_logits) const;

 private:
  using Entry = WeightMap::value_type;
  using Layer = LayerTensors<Entry>;
  // Which rows of a layer go past attention: all, or (a last layer feeding logits that start at
  // first_row) only rows [first_row, sequence_length) of each sequence, listed in Scratch::selected
  // by rows_for_layer.
  struct RowSelection {
    int64_t sequence_length = 0;
    int64_t first_row = 0;
  };
  // Where run_attention_block / run_ffn_block start (products before `start` and those its weight
  // does not feed come from `kept`), and where they keep their intermediates.
  struct StagePlan {
    LayerStage start = LayerStage::input;
    const LayerIntermediates *kept = nullptr;
    LayerIntermediates *keep = nullptr;
  };
  struct Scratch {
    std::vector<float> hidden, normed, q, k, v, attn, proj, gathered;
    std::vector<int64_t> selected;
    std::vector<std::vector<float>> attention;
    FfnScratch ffn;
    MoeScratch moe;
  };

  Entry *require(const std::string &name, std::vector<int64_t> shape);
  Entry *optional(const std::string &name, std::vector<int64_t> shape);
  void bind_weights();
  void embed_into(std::span<const int32_t> tokens, std::vector<float> &hidden) const;
  int64_t sequence_length_of(int64_t n_tokens, int64_t sequence_length) const;
  // The rows layer il computes past attention in a pass wanting logits from first_logit on (all
  // but in the last layer); lists them in Scratch::selected.
  RowSelection rows_for_layer(int il, int64_t n_tokens, int64_t sequence_length, int64_t first_logit);
  // Copies the selected rows of `rows` (width values each) into Scratch::gathered.
  const float *gather_selected(const float *rows, int64_t width);
  void run_layer(int il, float *hidden, int64_t n_tokens, const RowSelection &rows, ActivationSink *sink);
  void run_attention_block(int il, float *hidden, int64_t n_tokens, const RowSelection &rows, ActivationSink *sink,
                           const StagePlan &plan);
  void run_ffn_block(int il, float *hidden, int64_t n_tokens, const RowSelection &rows, ActivationSink *sink,
                     const StagePlan &plan);
  void add_rows(float *hidden, const float *update, int64_t m, bool selected);
  // Layers [first_layer, n_layer) (the last trimmed to the rows the logits need) and the output.
  void finish_pass(int first_layer, float *hidden, int64_t n_tokens, float *logits, ActivationSink *sink,
                   int64_t first_logit, int64_t sequence_length);
  void ensure_rope_positions(int64_t n_positions);
  void rms_norm_rows(const float *x, const float *weight, float *out, int64_t n_rows);

  TransformerConfig config_;
  WeightMap weights_;
  ThreadPool pool_;
  Entry *token_embd_ = nullptr, *output_norm_ = nullptr, *output_ = nullptr;
  std::vector<Layer> layers_;
  RopeTable rope_;
  Scratch scratch_;
};

}  // namespace qs
