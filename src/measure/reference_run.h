// The unquantized model's run over the calibration chunks, kept so that measuring one quantized
// tensor starts where that tensor first acts instead of at the token embeddings: the reference
// logits of every scored position (to compare with), the hidden states entering one layer at a
// time, and that layer's intermediates (Q, K, V, attention, feed-forward products), so that a
// pass starts at the very product the changed weight is in.
// A sweep visits layers in increasing order, so reaching the next layer costs one layer pass;
// going back restarts from the embeddings.
//
// Chunks are run several at a time as one batch (independent sequences, see Transformer), which
// makes the matrix products larger and the threads busier than one chunk at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "infer/kld.h"
#include "infer/transformer.h"
#include "measure/calibration.h"

namespace qs {

class ProgressSink;

// How far the model as it is now (some weights swapped) is from the reference.
struct KldResult {
  double kld = 0;        // mean KL(reference || model) over every scored position, nats
  double delta_ppl = 0;  // the model's perplexity minus the reference's
};

// Where a measuring pass starts: the first point the changed weights act on.
struct PassStart {
  enum class At { embeddings, layer };
  At at = At::embeddings;
  int layer = 0;                          // for layer: 0..n_layer (n_layer: only the output)
  LayerStage stage = LayerStage::input;   // where in that layer
};

class ReferenceRun {
 public:
  // Runs the whole model once over every chunk for the reference logits (progress: one step per
  // batch). max_batch_tokens bounds the tokens per batch (at least one chunk). Without logits
  // (with_logits false) only the layer-by-layer hidden states are kept, for the layer metric's
  // inputs; logits(), mean_nll() and the comparisons are then not available.
  // The intermediates of one layer over every batch are kept whole when they take at most
  // max_intermediate_bytes (see intermediates()).
  static constexpr int64_t kMaxIntermediateBytes = int64_t{2} << 30;
  ReferenceRun(Transformer &model, const CalibrationChunks &chunks, ProgressSink *progress = nullptr,
               int64_t max_batch_tokens = 4096, bool with_logits = true,
               int64_t max_intermediate_bytes = kMaxIntermediateBytes);

  const CalibrationChunks &chunks() const { return chunks_; }
  struct Batch {
    int64_t first_chunk = 0, n_chunks = 0;
  };
  const std::vector<Batch> &batches() const { return batches_; }
  // Logits of positions [first_scored, n_ctx) of chunk c: (n_ctx - first_scored) rows x n_vocab;
  // the chunks of a batch are back to back.
  const float *logits(int64_t c) const;
  double mean_nll() const { return mean_nll_; }  // over every scored position

  // The cache (hidden states, intermediates) is computed with the weights the model holds when it
  // is computed: the reference weights, for the comparisons to mean anything.
  //
  // Makes hidden(b) the state entering `layer` (0..n_layer). At n_layer only the rows the logits
  // read are valid (the last layer ran trimmed, as in every pass that ends in logits).
  void move_to(int layer);
  int layer() const { return layer_; }
  const std::vector<float> &hidden(int64_t batch) const { return hidden_[static_cast<size_t>(batch)]; }
  // What layer() (< n_layer) computes on the way over batch b: computed once per layer, for
  // every batch at once. When keeping all of it for every batch would take more than
  // max_intermediate_bytes, only the state after the attention block is kept (ffn_input), and
  // passes start at the layer or at its feed-forward block.
  const LayerIntermediates &intermediates(int64_t batch);
  // The stage a pass for a weight acting at `stage` starts from, given what is kept.
  LayerStage available_stage(LayerStage stage) const;

  // The token inputs of a batch, back to back.
  std::vector<int32_t> batch_tokens(int64_t batch) const;

  // The model with whatever weights it holds now, run from the embeddings over every batch and
  // compared with the reference's distributions.
  KldResult compare_whole_model();
  // The model with one weight replaced by `values` (the original is put back before returning),
  // run from `start`, the first point that weight acts on (nothing before it may differ from the
  // reference), from the cached states and intermediates. Moves the cache to start.layer.
  KldResult compare_with_weight(const std::string &name, std::vector<float> values, const PassStart &start);

 private:
  void restart_from_embeddings();
  // The pass from `start` with the weights as they are; the cache must already be at start.
  KldResult compare_from(const PassStart &start);

  Transformer &model_;
  const CalibrationChunks &chunks_;
  std::vector<Batch> batches_;
  int64_t rows_per_chunk_ = 0;
  std::vector<float> logits_;
  std::unique_ptr<PreparedBaseLogits> prepared_;  // logits_ ready to compare with
  double mean_nll_ = 0;
  int layer_ = 0;
  std::vector<std::vector<float>> hidden_;     // per batch
  bool keep_all_stages_ = false;                   // see max_intermediate_bytes
  std::vector<LayerIntermediates> intermediates_;  // per batch, of layer_ when their .layer says so
};

}  // namespace qs
