// The unquantized model's run over the calibration chunks, kept so that measuring one quantized
// tensor starts where that tensor first acts instead of at token embeddings: the reference logits
// of every scored position (to compare with), and the hidden state of every chunk entering one
// layer at a time. A sweep visits layers in increasing order, so reaching the next layer costs one
// layer pass; going back restarts from the embeddings.
#pragma once

#include <cstdint>
#include <vector>

#include "infer/transformer.h"
#include "measure/calibration.h"

namespace qs {

class ProgressSink;

class ReferenceRun {
 public:
  // Runs the whole model once over every chunk (progress: one step per chunk).
  ReferenceRun(Transformer &model, const CalibrationChunks &chunks, ProgressSink *progress = nullptr);

  const CalibrationChunks &chunks() const { return chunks_; }
  // Logits of positions [first_scored, n_ctx) of chunk c: (n_ctx - first_scored) rows x n_vocab.
  const float *logits(int64_t c) const;
  double mean_nll() const { return mean_nll_; }  // over every scored position

  // Makes hidden(c) the state entering `layer` (0..n_layer; n_layer: the final norm's input).
  void move_to(int layer);
  int layer() const { return layer_; }
  const std::vector<float> &hidden(int64_t c) const { return hidden_[static_cast<size_t>(c)]; }

 private:
  Transformer &model_;
  const CalibrationChunks &chunks_;
  int64_t rows_per_chunk_ = 0;
  std::vector<float> logits_;
  double mean_nll_ = 0;
  int layer_ = 0;
  std::vector<std::vector<float>> hidden_;
};

}  // namespace qs
