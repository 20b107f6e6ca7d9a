// The cached reference run: logits once, hidden states moved forward layer by layer, batch by batch.
#include "measure/reference_run.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "infer/logprob_file.h"
#include "infer/weight_swaps.h"

namespace qs {

ReferenceRun::ReferenceRun(Transformer &model, const CalibrationChunks &chunks, ProgressSink *progress,
                           int64_t max_batch_tokens, bool with_logits, int64_t max_intermediate_bytes)
    : model_(model), chunks_(chunks) {
  NullProgress quiet;
  if (!progress) progress = &quiet;
  const int64_t per_batch = std::max<int64_t>(1, max_batch_tokens / chunks.n_ctx());
  for (int64_t c = 0; c < chunks.n_chunks(); c += per_batch)
    batches_.push_back({c, std::min(per_batch, chunks.n_chunks() - c)});

  const int64_t n_vocab = model.config().n_vocab;
  rows_per_chunk_ = chunks.n_ctx() - chunks.first_scored();
  // What run_layer_keeping keeps per token (floats): the layer input's norm, Q, K, V, the
  // attention output, the state after attention and its norm, the two feed-forward products and
  // the layer output.
  const auto &c = model.config();
  const int64_t per_token = 4 * c.n_embd + 2 * c.n_head * c.head_dim + 2 * c.n_head_kv * c.head_dim + 2 * c.n_ff;
  keep_all_stages_ = chunks.n_chunks() * chunks.n_ctx() * per_token * static_cast<int64_t>(sizeof(float)) <=
                     max_intermediate_bytes;
  restart_from_embeddings();
  if (!with_logits) return;
  logits_.resize(static_cast<size_t>(chunks.n_chunks() * rows_per_chunk_ * n_vocab));
  double sum_nll = 0;
  progress->begin("reference run", static_cast<int64_t>(batches_.size()));
  for (size_t b = 0; b < batches_.size(); ++b) {
    const Batch &batch = batches_[b];
    model.forward_from_layer(0, hidden_[b], batch.n_chunks * chunks.n_ctx(), logits_.data() +
                             batch.first_chunk * rows_per_chunk_ * n_vocab, nullptr, chunks.first_scored(), chunks.n_ctx());
    for (int64_t c = batch.first_chunk; c < batch.first_chunk + batch.n_chunks; ++c)
      for (int64_t i = 0; i < chunks.n_scored_per_chunk(); ++i)
        sum_nll -= target_log_prob(logits(c) + i * n_vocab, n_vocab, chunks.target(c, i));
    progress->advance(static_cast<int64_t>(b) + 1);
  }
  progress->end();
  mean_nll_ = sum_nll / static_cast<double>(chunks.n_scored());
  std::vector<int32_t> targets;  // per logits row; the last row of a chunk predicts nothing
  for (int64_t c = 0; c < chunks.n_chunks(); ++c)
    for (int64_t i = 0; i < rows_per_chunk_; ++i) targets.push_back(i < chunks.n_scored_per_chunk() ? chunks.target(c, i) : 0);
  prepared_ = std::make_unique<PreparedBaseLogits>(logits_.data(), static_cast<int64_t>(targets.size()), n_vocab, targets,
                                                   model.n_threads());
}

std::vector<int32_t> ReferenceRun::batch_tokens(int64_t batch) const {
  const Batch &b = batches_[static_cast<size_t>(batch)];
  std::vector<int32_t> tokens;
  for (int64_t c = b.first_chunk; c < b.first_chunk + b.n_chunks; ++c) {
    const auto input = chunks_.input(c);
    tokens.insert(tokens.end(), input.begin(), input.end());
  }
  return tokens;
}

void ReferenceRun::restart_from_embeddings() {
  hidden_.resize(batches_.size());
  for (size_t b = 0; b < batches_.size(); ++b) hidden_[b] = model_.embed(batch_tokens(static_cast<int64_t>(b)));
  layer_ = 0;
  intermediates_.clear();
}

const float *ReferenceRun::logits(int64_t c) const {
  return logits_.data() + c * rows_per_chunk_ * model_.config().n_vocab;
}

void ReferenceRun::move_to(int layer) {
  const int n_layer = static_cast<int>(model_.config().n_layer);
  if (layer < 0 || layer > n_layer) fail("reference run: layer ", layer, " is outside [0, ", n_layer, "]");
  if (layer == layer_) return;
  if (layer < layer_) restart_from_embeddings();
  // One layer on from a layer whose intermediates are kept: its output is the state wanted.
  const bool kept_output = layer == layer_ + 1 && !intermediates_.empty() && intermediates_.front().layer == layer_;
  for (size_t b = 0; b < batches_.size(); ++b) {
    const int64_t n_tokens = batches_[b].n_chunks * chunks_.n_ctx();
    float *hidden = hidden_[b].data();
    if (kept_output) {
      hidden_[b].swap(intermediates_[b].output);
    } else if (layer == n_layer) {
      model_.run_layers_for_logits(layer_, hidden, n_tokens, chunks_.first_scored(), chunks_.n_ctx());
    } else {
      model_.run_layers(layer_, layer, hidden, n_tokens, nullptr, chunks_.n_ctx());
    }
  }
  intermediates_.clear();
  layer_ = layer;
}

const LayerIntermediates &ReferenceRun::intermediates(int64_t batch) {
  if (layer_ >= static_cast<int>(model_.config().n_layer)) fail("reference run: no layer after the last one");
  if (intermediates_.empty()) {
    intermediates_.resize(batches_.size());
    std::vector<float> state;
    for (size_t b = 0; b < batches_.size(); ++b) {
      LayerIntermediates &kept = intermediates_[b];
      state = hidden_[b];
      // Trimmed as a pass ending in logits runs the last layer, so that passes match it.
      model_.run_layer_keeping(layer_, state.data(), batches_[b].n_chunks * chunks_.n_ctx(), kept, chunks_.n_ctx(),
                               chunks_.first_scored());
      if (!keep_all_stages_) {
        for (auto *part : {&kept.attn_normed, &kept.q, &kept.k, &kept.v, &kept.attn, &kept.ffn_normed, &kept.gate_act, &kept.up})
          std::vector<float>().swap(*part);
      }
    }
  }
  return intermediates_[static_cast<size_t>(batch)];
}

LayerStage ReferenceRun::available_stage(LayerStage stage) const {
  if (keep_all_stages_) return stage;
  return in_ffn_block(stage) ? LayerStage::ffn_input : LayerStage::input;
}

KldResult ReferenceRun::compare_whole_model() { return compare_from({PassStart::At::embeddings, 0}); }

KldResult ReferenceRun::compare_with_weight(const std::string &name, std::vector<float> values, const PassStart &start) {
  // The cache is brought to the start with the reference weights, before the swap: the
  // intermediates of the weight's own layer include products with that weight.
  if (start.at == PassStart::At::layer) {
    move_to(start.layer);
    if (start.layer < model_.config().n_layer && available_stage(start.stage) != LayerStage::input) intermediates(0);
  }
  WeightSwaps swap(model_);
  swap.swap_in(name, std::move(values));
  return compare_from(start);
}

KldResult ReferenceRun::compare_from(const PassStart &start) {
  if (!prepared_) fail("reference run: kept without logits, so there is nothing to compare with");
  const int64_t n_vocab = model_.config().n_vocab;
  const int64_t n_scored = chunks_.n_scored_per_chunk();
  if (start.at == PassStart::At::layer && start.layer != layer_) fail("reference run: the cache is not at layer ", start.layer);
  const bool inside_layer = start.at == PassStart::At::layer && start.layer < model_.config().n_layer;
  const LayerStage stage = inside_layer ? available_stage(start.stage) : LayerStage::input;
  std::vector<float> logits;
  std::vector<double> kld, nll;
  double sum_kld = 0, sum_nll = 0;
  for (size_t b = 0; b < batches_.size(); ++b) {
    const Batch &batch = batches_[b];
    const int64_t n_tokens = batch.n_chunks * chunks_.n_ctx();
    logits.resize(static_cast<size_t>(batch.n_chunks * rows_per_chunk_ * n_vocab));
    switch (start.at) {
      case PassStart::At::embeddings:
        model_.forward_from_layer(0, model_.embed(batch_tokens(static_cast<int64_t>(b))), n_tokens, logits.data(),
                                  nullptr, chunks_.first_scored(), chunks_.n_ctx());
        break;
      case PassStart::At::layer:
        if (stage == LayerStage::input) {
          model_.forward_from_layer(start.layer, hidden_[b], n_tokens, logits.data(), nullptr, chunks_.first_scored(),
                                    chunks_.n_ctx());
        } else {
          model_.forward_from_stage(start.layer, stage, intermediates(static_cast<int64_t>(b)), hidden_[b], n_tokens,
                                    logits.data(), chunks_.first_scored(), chunks_.n_ctx());
        }
        break;
    }
    // Every scored position of the batch at once: row r is (chunk r / n_scored, position r % n_scored).
    const int64_t n_rows = batch.n_chunks * n_scored;
    kld.resize(static_cast<size_t>(n_rows));
    nll.resize(static_cast<size_t>(n_rows));
    parallel_for(n_rows, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t c = r / n_scored, i = r % n_scored;
        const TokenComparison t = prepared_->compare((batch.first_chunk + c) * rows_per_chunk_ + i,
                                                     logits.data() + (c * rows_per_chunk_ + i) * n_vocab);
        kld[static_cast<size_t>(r)] = t.kld;
        nll[static_cast<size_t>(r)] = t.nll;
      }
    }, model_.n_threads());
    for (int64_t r = 0; r < n_rows; ++r) {
      sum_kld += kld[static_cast<size_t>(r)];
      sum_nll += nll[static_cast<size_t>(r)];
    }
  }
  const auto count = static_cast<double>(chunks_.n_scored());
  return {sum_kld / count, std::exp(sum_nll / count) - std::exp(mean_nll_)};
}

}  // namespace qs
