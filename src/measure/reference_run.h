// The unquantized model's run over the calibration chunks, kept so that measuring one quantized
// tensor starts where that tensor first acts instead of at the token embeddings: the reference
// logits of every scored position (to compare with), the hidden states entering one layer at a
// time, and that layer's state after its attention block (where its feed-forward weights start).
// A sweep visits layers in increasing order, so reaching the next layer costs one layer pass;
// going back restarts from the embeddings.
//
// Chunks are run several at a time as one batch (independent sequences, see Transformer), which
// makes the matrix products larger and the threads busier than one chunk at a time.
#pragma once

#include <cstdint>
#include <memory>
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
  enum class At { embeddings, layer, ffn_block };
  At at = At::embeddings;
  int layer = 0;  // for layer (0..n_layer; n_layer: only the output) and ffn_block
};

class ReferenceRun {
 public:
  // Runs the whole model once over every chunk for the reference logits (progress: one step per
  // batch). max_batch_tokens bounds the tokens per batch (at least one chunk). Without logits
  // (with_logits false) only the layer-by-layer hidden states are kept, for the layer metric's
  // inputs; logits(), mean_nll() and compare_from() are then not available.
  ReferenceRun(Transformer &model, const CalibrationChunks &chunks, ProgressSink *progress = nullptr,
               int64_t max_batch_tokens = 4096, bool with_logits = true);

  const CalibrationChunks &chunks() const { return chunks_; }
  struct Batch {
    int64_t first_chunk = 0, n_chunks = 0;
  };
  const std::vector<Batch> &batches() const { return batches_; }
  // Logits of positions [first_scored, n_ctx) of chunk c: (n_ctx - first_scored) rows x n_vocab;
  // the chunks of a batch are back to back.
  const float *logits(int64_t c) const;
  double mean_nll() const { return mean_nll_; }  // over every scored position

  // Makes hidden(b) the state entering `layer` (0..n_layer). At n_layer only the rows the logits
  // read are valid (the last layer ran trimmed, as in every pass that ends in logits).
  void move_to(int layer);
  int layer() const { return layer_; }
  const std::vector<float> &hidden(int64_t batch) const { return hidden_[static_cast<size_t>(batch)]; }
  // The state of batch b after the attention block of layer() (< n_layer): computed once per layer.
  const std::vector<float> &ffn_input(int64_t batch);

  // The token inputs of a batch, back to back.
  std::vector<int32_t> batch_tokens(int64_t batch) const;

  // Runs the model (with whatever weights it holds now) from `start` over every batch, from the
  // cached states, and compares its distributions with the reference's. Moves the cache to
  // start.layer.
  KldResult compare_from(const PassStart &start);

 private:
  void restart_from_embeddings();

  Transformer &model_;
  const CalibrationChunks &chunks_;
  std::vector<Batch> batches_;
  int64_t rows_per_chunk_ = 0;
  std::vector<float> logits_;
  std::unique_ptr<PreparedBaseLogits> prepared_;  // logits_ ready to compare with
  double mean_nll_ = 0;
  int layer_ = 0;
  std::vector<std::vector<float>> hidden_;     // per batch
  int ffn_input_layer_ = -1;
  std::vector<std::vector<float>> ffn_input_;  // per batch, for ffn_input_layer_
};

}  // namespace qs
