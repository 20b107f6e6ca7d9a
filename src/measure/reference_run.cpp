// The cached reference run: logits once, hidden states moved forward layer by layer.
#include "measure/reference_run.h"

#include "core/error.h"
#include "core/progress.h"
#include "infer/logprob_file.h"

namespace qs {

ReferenceRun::ReferenceRun(Transformer &model, const CalibrationChunks &chunks, ProgressSink *progress)
    : model_(model), chunks_(chunks) {
  NullProgress quiet;
  if (!progress) progress = &quiet;
  const int64_t n_vocab = model.config().n_vocab;
  rows_per_chunk_ = chunks.n_ctx() - chunks.first_scored();
  logits_.resize(static_cast<size_t>(chunks.n_chunks() * rows_per_chunk_ * n_vocab));
  hidden_.resize(static_cast<size_t>(chunks.n_chunks()));
  double sum_nll = 0;
  progress->begin("reference run", chunks.n_chunks());
  for (int64_t c = 0; c < chunks.n_chunks(); ++c) {
    float *out = logits_.data() + c * rows_per_chunk_ * n_vocab;
    model.forward(chunks.input(c), out, nullptr, chunks.first_scored());
    for (int64_t i = 0; i < chunks.n_scored_per_chunk(); ++i)
      sum_nll -= target_log_prob(out + i * n_vocab, n_vocab, chunks.target(c, i));
    hidden_[static_cast<size_t>(c)] = model.embed(chunks.input(c));
    progress->advance(c + 1);
  }
  progress->end();
  mean_nll_ = sum_nll / static_cast<double>(chunks.n_scored());
}

const float *ReferenceRun::logits(int64_t c) const {
  return logits_.data() + c * rows_per_chunk_ * model_.config().n_vocab;
}

void ReferenceRun::move_to(int layer) {
  const int n_layer = static_cast<int>(model_.config().n_layer);
  if (layer < 0 || layer > n_layer) fail("reference run: layer ", layer, " is outside [0, ", n_layer, "]");
  if (layer < layer_) {
    for (int64_t c = 0; c < chunks_.n_chunks(); ++c) hidden_[static_cast<size_t>(c)] = model_.embed(chunks_.input(c));
    layer_ = 0;
  }
  for (int64_t c = 0; c < chunks_.n_chunks(); ++c)
    model_.run_layers(layer_, layer, hidden_[static_cast<size_t>(c)].data(), chunks_.n_ctx());
  layer_ = layer;
}

}  // namespace qs
