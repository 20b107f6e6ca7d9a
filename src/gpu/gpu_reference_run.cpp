#include "gpu/gpu_reference_run.h"

#include <cmath>

#include "core/error.h"
#include "core/progress.h"
#include "gpu/gpu_quantize.h"
#include "gpu/kernels.h"

namespace qs {

GpuReferenceRun::GpuReferenceRun(std::unique_ptr<GpuTransformer> model, const CalibrationChunks &chunks,
                                 ProgressSink *progress, int64_t max_batch_tokens)
    : model_(std::move(model)), chunks_(chunks) {
  NullProgress quiet;
  if (!progress) progress = &quiet;
  const auto &c = model_->config();
  const int64_t per_batch = std::max<int64_t>(1, max_batch_tokens / chunks.n_ctx());
  rows_per_chunk_ = chunks.n_ctx() - chunks.first_scored();
  for (int64_t first = 0; first < chunks.n_chunks(); first += per_batch) {
    Batch batch;
    batch.first_chunk = first;
    batch.n_chunks = std::min(per_batch, chunks.n_chunks() - first);
    std::vector<int32_t> targets;
    for (int64_t ch = first; ch < first + batch.n_chunks; ++ch) {
      const auto input = chunks.input(ch);
      batch.tokens.insert(batch.tokens.end(), input.begin(), input.end());
      for (int64_t i = 0; i < rows_per_chunk_; ++i)
        targets.push_back(i < chunks.n_scored_per_chunk() ? chunks.target(ch, i) : 0);
    }
    model_->check_tokens(batch.tokens, chunks.n_ctx(), chunks.first_scored());
    batch.targets.upload(targets.data(), targets.size(), model_->stream());
    batches_.push_back(std::move(batch));
  }

  progress->begin("reference run on " + model_->device_name(), static_cast<int64_t>(batches_.size()));
  for (size_t b = 0; b < batches_.size(); ++b) {
    Batch &batch = batches_[b];
    const int64_t n_tokens = static_cast<int64_t>(batch.tokens.size()), rows = batch.n_chunks * rows_per_chunk_;
    float *hidden = batch.hidden.reserve(static_cast<size_t>(n_tokens * c.n_embd));
    model_->embed(batch.tokens, hidden);
    float *state = working_copy(hidden, n_tokens);
    model_->run_layers(0, static_cast<int>(c.n_layer), state, n_tokens, chunks.n_ctx());
    const float *logits = model_->output_logits(state, n_tokens, chunks.first_scored(), chunks.n_ctx());
    batch.base_log_probs.assign(logits, static_cast<size_t>(rows * c.n_vocab), model_->stream());
    gpu::log_softmax_rows(batch.base_log_probs.data(), rows, c.n_vocab, model_->stream());
    progress->advance(static_cast<int64_t>(b) + 1);
  }
  model_->synchronize();
  progress->end();
  // The reference's own NLL: its logits against themselves (KLD 0).
  double sum_kld = 0, sum_nll = 0;
  for (const Batch &batch : batches_) add_rows(batch, batch.base_log_probs.data(), sum_kld, sum_nll);
  mean_nll_ = sum_nll / static_cast<double>(chunks.n_scored());
}

void GpuReferenceRun::add_rows(const Batch &batch, const float *logits, double &sum_kld, double &sum_nll) {
  const int64_t rows = batch.n_chunks * rows_per_chunk_;
  gpu::kld_rows(logits, batch.base_log_probs.data(), batch.targets.data(), rows, model_->config().n_vocab,
                kld_.reserve(static_cast<size_t>(rows)), nll_.reserve(static_cast<size_t>(rows)), model_->stream());
  host_kld_.resize(static_cast<size_t>(rows));
  host_nll_.resize(static_cast<size_t>(rows));
  kld_.download(host_kld_.data(), host_kld_.size(), model_->stream());
  nll_.download(host_nll_.data(), host_nll_.size(), model_->stream());
  model_->synchronize();
  for (int64_t r = 0; r < rows; ++r) {
    if (r % rows_per_chunk_ >= chunks_.n_scored_per_chunk()) continue;  // the last row predicts nothing
    sum_kld += host_kld_[static_cast<size_t>(r)];
    sum_nll += host_nll_[static_cast<size_t>(r)];
  }
}

void GpuReferenceRun::move_to(int layer) {
  const int n_layer = static_cast<int>(model_->config().n_layer);
  if (layer < 0 || layer > n_layer) fail("reference run: layer ", layer, " is outside [0, ", n_layer, "]");
  if (layer == layer_) return;
  for (Batch &batch : batches_) {
    const int64_t n_tokens = static_cast<int64_t>(batch.tokens.size());
    if (layer < layer_) model_->embed(batch.tokens, batch.hidden.data());
    model_->run_layers(layer < layer_ ? 0 : layer_, layer, batch.hidden.data(), n_tokens, chunks_.n_ctx());
  }
  layer_ = layer;
}

float *GpuReferenceRun::working_copy(const float *hidden, int64_t n_tokens) {
  const size_t n = static_cast<size_t>(n_tokens * model_->config().n_embd);
  float *state = work_.reserve(n);
  gpu::copy_on_device(state, hidden, n, model_->stream());
  return state;
}

bool GpuReferenceRun::keep_layer(int layer) {
  if (kept_layer_ == layer) return true;
  if (!intermediates_fit_) return false;
  int64_t needed = 0;
  for (const Batch &batch : batches_) needed += model_->intermediate_bytes(static_cast<int64_t>(batch.tokens.size()));
  size_t free_bytes = 0, total_bytes = 0;
  gpu::cuda_check(cudaMemGetInfo(&free_bytes, &total_bytes), "reading the GPU's free memory");
  if (kept_layer_ < 0 && needed + GpuTransformer::kActivationHeadroomBytes > static_cast<int64_t>(free_bytes)) {
    intermediates_fit_ = false;
    return false;
  }
  move_to(layer);
  for (Batch &batch : batches_) {
    const int64_t n_tokens = static_cast<int64_t>(batch.tokens.size());
    model_->run_layer(layer, working_copy(batch.hidden.data(), n_tokens), n_tokens, chunks_.n_ctx(), LayerStage::input,
                      nullptr, &batch.kept);
  }
  kept_layer_ = layer;
  return true;
}

KldResult GpuReferenceRun::compare_from(const PassStart &start, bool from_product) {
  const auto &c = model_->config();
  const bool from_embeddings = start.at == PassStart::At::embeddings;
  passes_from_a_product_ += from_product ? 1 : 0;
  double sum_kld = 0, sum_nll = 0;
  for (const Batch &batch : batches_) {
    const int64_t n_tokens = static_cast<int64_t>(batch.tokens.size());
    float *state = from_embeddings ? work_.reserve(static_cast<size_t>(n_tokens * c.n_embd))
                                   : working_copy(batch.hidden.data(), n_tokens);
    if (from_embeddings) model_->embed(batch.tokens, state);
    int layer = from_embeddings ? 0 : start.layer;
    if (from_product) model_->run_layer(layer++, state, n_tokens, chunks_.n_ctx(), start.stage, &batch.kept);
    model_->run_layers(layer, static_cast<int>(c.n_layer), state, n_tokens, chunks_.n_ctx());
    add_rows(batch, model_->output_logits(state, n_tokens, chunks_.first_scored(), chunks_.n_ctx()), sum_kld, sum_nll);
  }
  const auto count = static_cast<double>(chunks_.n_scored());
  return {sum_kld / count, std::exp(sum_nll / count) - std::exp(mean_nll_)};
}

void GpuReferenceRun::capture_inputs(const std::string &name, int layer) {
  const auto &c = model_->config();
  move_to(layer);
  capture_ = std::make_unique<GpuInputCapture>(name);
  model_->record_inputs(capture_.get());
  struct StopRecording {
    GpuTransformer &model;
    ~StopRecording() { model.record_inputs(nullptr); }
  } stop{*model_};
  for (const Batch &batch : batches_) {
    const int64_t n_tokens = static_cast<int64_t>(batch.tokens.size());
    float *state = working_copy(batch.hidden.data(), n_tokens);
    if (layer < c.n_layer) model_->run_layers(layer, layer + 1, state, n_tokens, chunks_.n_ctx());
    else model_->output_logits(state, n_tokens, chunks_.first_scored(), chunks_.n_ctx());
  }
  const auto &shape = model_->weight_shape(name);
  reference_energy_ = capture_->output_energy(*model_, model_->weight_values(name), shape.at(1), shape.at(0));
}

double GpuReferenceRun::layer_error(const std::string &name, int layer) {
  if (!capture_ || capture_->weight_name() != name) capture_inputs(name, layer);
  const auto &shape = model_->weight_shape(name);
  const int64_t n = model_->weight_elements(name);
  float *difference = difference_.reserve(static_cast<size_t>(n));
  gpu::subtract(model_->weight_values(name), swapped_.data(), difference, n, model_->stream());
  const double energy = capture_->output_energy(*model_, difference, shape.at(1), shape.at(0));
  return reference_energy_ > 0 ? energy / reference_energy_ : 0.0;
}

bool GpuReferenceRun::quantizes(const QuantType &type) const { return gpu::quantizes_on_gpu(type); }

void GpuReferenceRun::quantize(const std::string &name, const QuantType &type,
                               const std::vector<std::vector<float>> &importance, std::vector<float> &restored) {
  const auto &shape = model_->weight_shape(name);
  const int64_t n = model_->weight_elements(name), n_cols = shape.at(0), n_rows = shape.size() >= 2 ? shape[1] : 1;
  const int64_t matrix = n_rows * n_cols, n_matrices = n / matrix;
  if (!importance.empty() && static_cast<int64_t>(importance.size()) != n_matrices)
    fail("tensor ", name, ": ", importance.size(), " importance vectors for ", n_matrices, " matrices");
  quantized_name_.clear();
  float *out = swapped_.reserve(static_cast<size_t>(n));
  for (int64_t m = 0; m < n_matrices; ++m) {
    const float *weights = nullptr;
    if (!importance.empty()) {
      importance_.upload(importance[static_cast<size_t>(m)].data(), static_cast<size_t>(n_cols), model_->stream());
      weights = importance_.data();
    }
    gpu::quantize_restore(type, model_->weight_values(name) + m * matrix, out + m * matrix, n_rows, n_cols, weights,
                          model_->stream());
  }
  restored.resize(static_cast<size_t>(n));
  swapped_.download(restored.data(), restored.size(), model_->stream());
  model_->synchronize();
  quantized_name_ = name;
}

UnitComparison GpuReferenceRun::compare(const std::string &name, const std::vector<float> &values,
                                        const PassStart &start, bool layer_error, bool kld) {
  if (static_cast<int64_t>(values.size()) != model_->weight_elements(name))
    fail("tensor ", name, ": ", values.size(), " values for ", model_->weight_elements(name));
  swapped_.upload(values.data(), values.size(), model_->stream());
  quantized_name_ = name;
  return compare_quantized(name, start, layer_error, kld);
}

UnitComparison GpuReferenceRun::compare_quantized(const std::string &name, const PassStart &start, bool layer_error,
                                                  bool kld) {
  if (quantized_name_ != name) fail("GPU reference run: no quantized values of ", name, " on the GPU");
  const bool from_embeddings = start.at == PassStart::At::embeddings;
  if (layer_error && from_embeddings)
    fail("layer metric of ", name, ": a weight acting at the embeddings is a lookup, measured on the CPU");
  UnitComparison result;
  // The layer metric and the cache move with the reference weights, before the swap.
  if (layer_error) result.layer_error = this->layer_error(name, start.layer);
  if (!kld) return result;
  // The layer's intermediates are the reference weights' too: kept before the swap.
  const bool from_product = !from_embeddings && start.stage != LayerStage::input && keep_layer(start.layer);
  if (!from_embeddings && !from_product) move_to(start.layer);
  model_->swap_weight(name, swapped_);
  // Put back however the pass ends.
  struct SwapBack {
    GpuTransformer &model;
    const std::string &name;
    gpu::DeviceBuffer<float> &buffer;
    ~SwapBack() { model.swap_weight(name, buffer); }
  } swap_back{*model_, name, swapped_};
  result.kld = compare_from(start, from_product);
  return result;
}

}  // namespace qs
