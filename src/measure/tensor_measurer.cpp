// One (tensor, type) measurement at the requested level, reusing per-tensor and per-layer work.
#include "measure/tensor_measurer.h"

#include <chrono>
#include <cmath>
#include <thread>

#include "core/error.h"
#include "measure/proxy_metrics.h"
#include "model/quantizable_tensors.h"
#include "quant/quantize_tensor.h"

namespace qs {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TensorMeasurer::TensorMeasurer(Transformer &model, const Imatrix *imatrix, MetricLevel level,
                               const CalibrationChunks *chunks, ProgressSink *progress)
    : model_(&model), config_(model.config()), imatrix_(imatrix), level_(level), chunks_(chunks),
      pool_(model.n_threads()) {
  if (level != MetricLevel::proxy) {
    if (!chunks) fail("the ", metric_level_name(level), " metric needs calibration text");
    // Both levels walk the layers with cached hidden states (the layer metric captures each
    // layer's inputs from them); only kld needs the reference logits.
    const auto start = std::chrono::steady_clock::now();
    reference_ = std::make_unique<ReferenceRun>(model, *chunks, progress, 4096, level == MetricLevel::kld);
    timing_.reference_seconds = seconds_since(start);
  }
}

TensorMeasurer::TensorMeasurer(const ModelSource &source, int n_threads, const Imatrix *imatrix, MetricLevel level,
                               const CalibrationChunks *chunks, ProgressSink *progress, ComputeDevice device,
                               ProductPrecision precision)
    : source_(&source),
      config_(transformer_config_from(source.config(), source.architecture().rope_style)),
      imatrix_(imatrix),
      level_(level),
      chunks_(chunks),
      pool_(n_threads) {
  if (level == MetricLevel::proxy) return;
  if (!chunks) fail("the ", metric_level_name(level), " metric needs calibration text");
  if (device != ComputeDevice::cuda)
    fail("the ", metric_level_name(level), " metric from the model's files runs on the GPU; on the CPU, load the model");
  const auto start = std::chrono::steady_clock::now();
  gpu_ = make_gpu_unit_comparer(source, *chunks, n_threads, progress, precision);
  timing_.reference_seconds = seconds_since(start);
}

TensorMeasurer::Original TensorMeasurer::read_original(const std::string &tensor) const {
  if (model_) {
    const WeightTensor &w = model_->weight(tensor);
    // The model's own buffer, not owned.
    return {w.shape, std::shared_ptr<const std::vector<float>>(&w.values, [](const std::vector<float> *) {})};
  }
  const SourceTensor &t = source_->get(tensor);
  auto values = std::make_shared<std::vector<float>>(source_->read_f32(t));
  source_->release_pages();  // host memory follows the tensor, not the file
  return {t.shape, std::move(values)};
}

PassStart TensorMeasurer::pass_start(const TensorState &s) {
  if (s.first_layer < 0) return {};  // the embeddings
  return {PassStart::At::layer, s.first_layer, s.stage};
}

const TensorMeasurer::TensorState &TensorMeasurer::state_for(const std::string &tensor, Original original) {
  if (state_ && state_->name == tensor) return *state_;
  TensorState s;
  s.name = tensor;
  s.original = original.values ? std::move(original) : read_original(tensor);
  const std::vector<int64_t> &shape = s.original.shape;
  if (!tensor_allows_quantization(tensor, shape)) fail("tensor ", tensor, " stays unquantized in llama.cpp's rules");
  s.first_layer = tensor_first_layer(tensor, static_cast<int>(config_.n_layer));
  s.stage = tensor_layer_stage(tensor);
  s.n_cols = shape.at(0);
  s.n_rows = shape.size() >= 2 ? shape[1] : 1;
  s.n_matrices = static_cast<int64_t>(s.original.values->size()) / (s.n_cols * s.n_rows);
  if (imatrix_ && imatrix_->find(tensor)) {
    for (int64_t m = 0; m < s.n_matrices; ++m) s.importance.push_back(imatrix_->importance(tensor, s.n_cols, m));
  }
  state_ = std::move(s);
  if (level_ == MetricLevel::proxy) return *state_;
  const float *w = state_->original.values->data();
  if (state_->first_layer < 0) {
    count_tokens();
    state_->output_energy = lookup_output_energy(token_counts_, w, state_->n_cols);
  } else if (!gpu_) {  // on the GPU, the comparer keeps its own
    capture_layer_inputs(state_->first_layer);
    const auto *inputs = captured_.find(tensor);
    if (!inputs) fail("the forward pass showed no input of ", tensor);
    state_->output_energy = matmul_output_energy(pool_, *inputs, w, state_->n_matrices, state_->n_rows, state_->n_cols);
  }
  return *state_;
}

void TensorMeasurer::count_tokens() {
  if (!token_counts_.empty()) return;
  token_counts_.assign(static_cast<size_t>(config_.n_vocab), 0);
  for (int64_t c = 0; c < chunks_->n_chunks(); ++c)
    for (const int32_t token : chunks_->input(c)) ++token_counts_.at(static_cast<size_t>(token));
}

void TensorMeasurer::capture_layer_inputs(int layer) {
  if (captured_layer_ == layer) return;
  captured_.clear();
  const int n_layer = static_cast<int>(config_.n_layer);
  // Inputs of this layer's matmuls: the layer run once more, on a copy of the states entering it.
  reference_->move_to(layer);
  std::vector<float> hidden, logits;
  for (size_t b = 0; b < reference_->batches().size(); ++b) {
    const int64_t n_chunks = reference_->batches()[b].n_chunks, n_tokens = n_chunks * chunks_->n_ctx();
    hidden = reference_->hidden(static_cast<int64_t>(b));
    if (layer < n_layer) {
      model_->run_layers(layer, layer + 1, hidden.data(), n_tokens, &captured_, chunks_->n_ctx());
    } else {
      logits.resize(static_cast<size_t>(n_chunks * (chunks_->n_ctx() - chunks_->first_scored()) * config_.n_vocab));
      model_->output_logits(hidden.data(), n_tokens, logits.data(), &captured_, chunks_->first_scored(),
                            chunks_->n_ctx());
    }
  }
  captured_layer_ = layer;
}

std::vector<float> TensorMeasurer::quantized_values(const std::string &tensor, const QuantType &type) {
  const TensorState &s = state_for(tensor);  // refuses a tensor llama.cpp keeps unquantized
  return quantize_restore(tensor, s.original, type, take_buffer());
}

std::vector<float> TensorMeasurer::take_buffer() {
  if (spare_buffers_.empty()) return {};
  std::vector<float> buffer = std::move(spare_buffers_.back());
  spare_buffers_.pop_back();
  return buffer;
}

void TensorMeasurer::give_back(std::vector<float> buffer) {
  if (spare_buffers_.size() < 2) spare_buffers_.push_back(std::move(buffer));
}

void TensorMeasurer::check_quantizable(const std::string &tensor, int64_t n_cols, const QuantType &type) const {
  if (n_cols % type.block_size != 0)
    fail(tensor, ": rows of ", n_cols, " values do not fit ", type.name, " blocks of ", type.block_size);
  if (type.needs_imatrix && !(imatrix_ && imatrix_->find(tensor)))
    fail(tensor, ": ", type.name, " needs an importance matrix with an entry for this tensor");
}

std::vector<float> TensorMeasurer::quantize_restore(const std::string &tensor, const Original &original,
                                                    const QuantType &type, std::vector<float> restored) {
  const std::vector<int64_t> &shape = original.shape;
  const std::vector<float> &values = *original.values;
  const int64_t n_cols = shape.at(0), n_rows = shape.size() >= 2 ? shape[1] : 1;
  const int64_t n_matrices = static_cast<int64_t>(values.size()) / (n_cols * n_rows);
  const bool has_importance = imatrix_ && imatrix_->find(tensor);
  check_quantizable(tensor, n_cols, type);
  restored.resize(values.size());  // every value is written below: a reused buffer needs no clearing
  const int64_t matrix_values = n_rows * n_cols;
  for (int64_t m = 0; m < n_matrices; ++m) {
    const std::vector<float> importance = has_importance ? imatrix_->importance(tensor, n_cols, m) : std::vector<float>{};
    quantize_restore_matrix(pool_, type, values.data() + m * matrix_values, restored.data() + m * matrix_values, n_rows,
                            n_cols, importance.empty() ? nullptr : importance.data());
  }
  return restored;
}

void TensorMeasurer::set_next_unit(const std::string &tensor, const QuantType &type) { next_unit_ = {tensor, &type}; }

double TensorMeasurer::layer_error(const TensorState &s, const std::vector<float> &quantized) {
  const std::vector<float> &values = *s.original.values;
  std::vector<float> difference(values.size());
  for_each_range(pool_, static_cast<int64_t>(values.size()), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      difference[static_cast<size_t>(i)] = values[static_cast<size_t>(i)] - quantized[static_cast<size_t>(i)];
  });
  double energy;
  if (s.first_layer < 0) {
    energy = lookup_output_energy(token_counts_, difference.data(), s.n_cols);
  } else {
    energy = matmul_output_energy(pool_, *captured_.find(s.name), difference.data(), s.n_matrices, s.n_rows, s.n_cols);
  }
  return s.output_energy > 0 ? energy / s.output_energy : 0.0;
}

void TensorMeasurer::measure_kld(const TensorState &s, std::vector<float> quantized, MeasurementRow &row) {
  const KldResult result = reference_->compare_with_weight(s.name, std::move(quantized), pass_start(s));
  row.set(Metric::kld, result.kld);
  row.set(Metric::delta_ppl, result.delta_ppl);
}

void TensorMeasurer::measure_on_gpu(const TensorState &s, std::vector<float> &quantized, bool quantized_on_gpu,
                                    MetricLevel level, MeasurementRow &row) {
  // The embedding's layer metric is a lookup: the CPU's, from token counts.
  if (s.first_layer < 0) row.set(Metric::layer_error, layer_error(s, quantized));
  const bool gpu_layer_error = s.first_layer >= 0, kld = level == MetricLevel::kld;
  if (!gpu_layer_error && !kld) return;
  // While the GPU runs this unit, the CPU threads (idle until it is done) quantize the next one.
  // A failure there is dropped: the next unit quantizes again and fails in its own turn.
  std::optional<std::thread> ahead;
  if (next_unit_ && gpu_->quantizes(*next_unit_->second)) next_unit_.reset();  // the GPU quantizes it in its turn
  if (next_unit_) {
    // (Copied out by name: clang 14 cannot capture structured bindings.)
    std::string tensor = next_unit_->first;
    const QuantType *type = next_unit_->second;
    next_unit_.reset();
    const Original known = tensor == s.name ? s.original : Original{};
    auto buffer = std::make_shared<std::vector<float>>(take_buffer());
    ahead.emplace([this, tensor, type, known, buffer] {
      try {
        const Original original = known.values ? known : read_original(tensor);
        quantized_ahead_ =
            QuantizedAhead{tensor, type, original, quantize_restore(tensor, original, *type, std::move(*buffer))};
      } catch (const std::exception &) {
        quantized_ahead_.reset();
      }
    });
  }
  struct Join {
    std::optional<std::thread> &thread;
    ~Join() {
      if (thread) thread->join();
    }
  } join{ahead};
  const UnitComparison result = quantized_on_gpu
                                     ? gpu_->compare_quantized(s.name, pass_start(s), gpu_layer_error, kld)
                                     : gpu_->compare(s.name, quantized, pass_start(s), gpu_layer_error, kld);
  if (result.layer_error) row.set(Metric::layer_error, *result.layer_error);
  if (result.kld) {
    row.set(Metric::kld, result.kld->kld);
    row.set(Metric::delta_ppl, result.kld->delta_ppl);
  }
}

MeasurementRow TensorMeasurer::measure(const std::string &tensor, const QuantType &type) {
  return measure(tensor, type, level_);
}

MeasurementRow TensorMeasurer::measure(const std::string &tensor, const QuantType &type, MetricLevel level) {
  if (static_cast<int>(level) > static_cast<int>(level_))
    fail("this measurer was set up for the ", metric_level_name(level_), " level, not ", metric_level_name(level));
  auto start = std::chrono::steady_clock::now();
  std::vector<float> quantized;
  // Types the GPU quantizes (with the CPU quantizer's bits) stay there for the unit's GPU work.
  const bool quantize_on_gpu = gpu_ && level != MetricLevel::proxy && gpu_->quantizes(type);
  if (quantized_ahead_ && quantized_ahead_->tensor == tensor && quantized_ahead_->type == &type) {
    state_for(tensor, quantized_ahead_->original);
    quantized = std::move(quantized_ahead_->values);
    ++timing_.quantized_ahead_units;
  } else if (quantize_on_gpu) {
    const TensorState &s = state_for(tensor);  // refuses a tensor llama.cpp keeps unquantized
    check_quantizable(tensor, s.n_cols, type);
    quantized = take_buffer();
    gpu_->quantize(tensor, type, s.importance, quantized);
    ++timing_.quantized_on_gpu_units;
  } else {
    quantized = quantized_values(tensor, type);
  }
  quantized_ahead_.reset();
  timing_.quantize_seconds += seconds_since(start);
  const TensorState &s = *state_;
  const std::vector<float> &values = *s.original.values;

  MeasurementRow row;
  row.tensor = tensor;
  row.type = type.name;
  row.bits = type.bits_per_weight();
  row.params = static_cast<int64_t>(values.size());
  ProxyAccumulator proxy;
  const int64_t matrix_values = s.n_rows * s.n_cols;
  for (int64_t m = 0; m < s.n_matrices; ++m) {
    const float *importance = s.importance.empty() ? nullptr : s.importance[static_cast<size_t>(m)].data();
    proxy.add(values.data() + m * matrix_values, quantized.data() + m * matrix_values, s.n_rows, s.n_cols, importance,
              &pool_);
  }
  const ProxyMetrics p = proxy.result();
  row.set(Metric::rmse, p.rmse).set(Metric::max_abs_error, p.max_abs_error).set(Metric::relative_mse, p.relative_mse);
  if (!s.importance.empty()) row.set(Metric::weighted_relative_mse, p.weighted_relative_mse);
  if (gpu_ && level != MetricLevel::proxy) {
    start = std::chrono::steady_clock::now();
    measure_on_gpu(s, quantized, quantize_on_gpu, level, row);
    give_back(std::move(quantized));
    (level == MetricLevel::kld ? timing_.kld_seconds : timing_.layer_seconds) += seconds_since(start);
    if (level == MetricLevel::kld) ++timing_.kld_units;
    return row;
  }
  if (level != MetricLevel::proxy) {
    start = std::chrono::steady_clock::now();
    row.set(Metric::layer_error, layer_error(s, quantized));
    timing_.layer_seconds += seconds_since(start);
  }
  if (level == MetricLevel::kld) {
    start = std::chrono::steady_clock::now();
    measure_kld(s, std::move(quantized), row);
    timing_.kld_seconds += seconds_since(start);
    ++timing_.kld_units;
  }
  return row;
}

}  // namespace qs
