// The GPU pass, step for step the CPU's (infer/transformer.cpp): embeddings, per layer RMSNorm ->
// Q/K/V (+bias, +q/k norm, rope) -> attention -> output projection -> residual -> RMSNorm ->
// SwiGLU or MoE -> residual, then the final norm and the output product for the rows that want
// logits. Everything runs on one stream; the host waits only for the logits (and, in MoE layers,
// for the router's logits, which it routes).
#include "gpu/gpu_transformer.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/error.h"
#include "core/progress.h"
#include "gpu/cublas_loader.h"
#include "gpu/gpu_input_squares.h"
#include "gpu/kernels.h"
#include "gpu/moe_routing.h"
#include "core/parallel.h"
#include "model/model_source.h"

namespace qs {

namespace {

void blas_check(cublasStatus_t status, const char *what) {
  if (status != CUBLAS_STATUS_SUCCESS) fail("cuBLAS: ", what, ": status ", static_cast<int>(status));
}

// The weight named `name` in `weights` (const or not); throws naming it when there is none.
template <typename Weights>
auto find_weight(Weights &weights, std::string_view name) {
  auto it = weights.find(name);
  if (it == weights.end()) fail("model has no tensor ", name);
  return it;
}

// Score matrices of attention in flight at once: at most this many floats (1 GiB).
constexpr int64_t kScoreFloats = int64_t{1} << 28;

}  // namespace

GpuTransformer::GpuTransformer(TransformerConfig config, int device_index, int n_threads)
    : config_(std::move(config)), device_(device_index), n_threads_(n_threads > 0 ? n_threads : default_thread_count()) {
  config_.validate();
  gpu::cuda_check(cudaSetDevice(device_), "selecting the GPU");
  // A thread waiting for the GPU sleeps instead of spinning: during a measurement every core is
  // quantizing the next unit while the main thread waits for this one, and a spinning wait took
  // one of them.
  gpu::cuda_check(cudaSetDeviceFlags(cudaDeviceScheduleBlockingSync), "setting the GPU's wait mode");
  gpu::cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "creating a stream");
  blas_check(gpu::cublas().create(&blas_), "creating the handle");
  blas_check(gpu::cublas().set_stream(blas_, stream_), "setting the stream");
  // Plain fp32 products: no TF32 (its 10-bit mantissa would blur the small KLDs we measure).
  blas_check(gpu::cublas().set_math_mode(blas_, CUBLAS_DEFAULT_MATH), "setting fp32 math");
}

GpuTransformer::~GpuTransformer() {
  if (blas_) gpu::cublas().destroy(blas_);
  if (stream_) cudaStreamDestroy(stream_);
}

std::string GpuTransformer::device_name() const {
  cudaDeviceProp props{};
  std::string details = cudaGetDeviceProperties(&props, device_) == cudaSuccess ? props.name : "";
  if (precision_ == ProductPrecision::tf32) details += details.empty() ? "tf32" : ", tf32";
  return "cuda:" + std::to_string(device_) + (details.empty() ? "" : " (" + details + ")");
}

void GpuTransformer::set_product_precision(ProductPrecision precision) {
  const cublasMath_t mode = precision == ProductPrecision::tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH;
  blas_check(gpu::cublas().set_math_mode(blas_, mode), "setting the products' precision");
  precision_ = precision;
}

void GpuTransformer::set_weight(std::string_view name, const std::vector<int64_t> &shape, std::span<const float> values) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  if (n != static_cast<int64_t>(values.size())) fail("tensor ", name, ": ", values.size(), " values for shape ", weight_shape_string(shape));
  auto it = weights_.find(name);
  if (it == weights_.end()) it = weights_.emplace(std::string(name), DeviceWeight{}).first;
  else if (it->second.shape != shape)
    fail("tensor ", name, ": new shape ", weight_shape_string(shape), " differs from ", weight_shape_string(it->second.shape));
  it->second.shape = shape;
  it->second.n_elements = n;
  it->second.values.upload(values.data(), values.size(), stream_);
  // The host buffer may be freed once this returns.
  synchronize();
}

int64_t GpuTransformer::weight_bytes() const {
  int64_t bytes = 0;
  for (const auto &[name, w] : weights_) bytes += w.n_elements * static_cast<int64_t>(sizeof(float));
  return bytes;
}

const GpuTransformer::Entry *GpuTransformer::optional(const std::string &name, const std::vector<int64_t> &shape) const {
  auto it = weights_.find(name);
  if (it == weights_.end()) return nullptr;
  if (it->second.shape != shape) {
    fail("tensor ", name, " has shape ", weight_shape_string(it->second.shape), ", expected ", weight_shape_string(shape), " for this ",
         config_.architecture, " config");
  }
  return &*it;
}

const GpuTransformer::Entry *GpuTransformer::require(const std::string &name, const std::vector<int64_t> &shape) const {
  const Entry *entry = optional(name, shape);
  if (!entry) fail("model (", config_.architecture, ") has no tensor ", name);
  return entry;
}

void GpuTransformer::finish_loading() {
  const auto &c = config_;
  token_embd_ = require("token_embd.weight", {c.n_embd, c.n_vocab});
  output_norm_ = require("output_norm.weight", {c.n_embd});
  output_ = optional("output.weight", {c.n_embd, c.n_vocab});
  if (!output_) output_ = token_embd_;
  // As the CPU pass: a GGUF's rope_freqs.weight divides the frequencies unless the config is HF llama3.
  if (const Entry *freqs = optional("rope_freqs.weight", {c.rope.n_rot / 2}); freqs && c.rope.scaling != RopeScalingKind::Llama3) {
    config_.rope.freq_factors.resize(static_cast<size_t>(freqs->second.n_elements));
    freqs->second.values.download(config_.rope.freq_factors.data(), config_.rope.freq_factors.size(), stream_);
    synchronize();
  }
  auto find = [&](const std::string &name, const std::vector<int64_t> &shape, bool required) {
    return required ? require(name, shape) : optional(name, shape);
  };
  layers_.clear();
  for (int il = 0; il < c.n_layer; ++il)
    layers_.push_back(bind_layer_tensors<const Entry>(c, il, weights_.count(layer_tensor_name(il, "ffn_gate_inp.weight")) > 0, find));
  scratch_.rope_positions = 0;  // the frequencies may have changed
  loaded_ = true;
}

std::unique_ptr<GpuTransformer> GpuTransformer::load(const ModelSource &source, int n_threads, ProgressSink *progress,
                                                     ProductPrecision precision, int device_index) {
  NullProgress no_progress;
  if (!progress) progress = &no_progress;
  auto model = std::make_unique<GpuTransformer>(transformer_config_from(source.config(), source.architecture().rope_style),
                                                device_index, n_threads);
  model->set_product_precision(precision);
  const auto &tensors = source.tensors();
  int64_t needed = 0;
  for (const SourceTensor &t : tensors) needed += t.n_elements() * static_cast<int64_t>(sizeof(float));
  size_t free_bytes = 0, total_bytes = 0;
  gpu::cuda_check(cudaMemGetInfo(&free_bytes, &total_bytes), "reading the GPU's free memory");
  // The weights as f32, plus room for a pass's activations and attention scores.
  const int64_t headroom = kActivationHeadroomBytes;
  if (needed + headroom > static_cast<int64_t>(free_bytes)) {
    fail(source.path().string(), " needs ", (needed + headroom) >> 20, " MiB of GPU memory (", needed >> 20,
         " MiB of f32 weights + ", headroom >> 20, " MiB for activations); ", model->device_name(), " has ",
         free_bytes >> 20, " MiB free of ", total_bytes >> 20,
         ". Measure on the CPU (--device cpu), or split the work over GPUs with --shard i/N, one process per GPU.");
  }
  progress->begin("loading " + source.path().filename().string() + " onto " + model->device_name(),
                  static_cast<int64_t>(tensors.size()));
  std::vector<float> host;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const SourceTensor &t = tensors[i];
    host.resize(static_cast<size_t>(t.n_elements()));
    source.read_f32(t, host.data());
    source.release_pages();  // host memory follows the tensor, not the file
    model->set_weight(t.name, t.shape, host);
    progress->advance(static_cast<int64_t>(i + 1));
  }
  progress->end();
  model->finish_loading();
  return model;
}

std::unique_ptr<GpuTransformer> GpuTransformer::from_weights(const TransformerConfig &config, const WeightMap &weights,
                                                             int n_threads, int device_index) {
  auto model = std::make_unique<GpuTransformer>(config, device_index, n_threads);
  for (const auto &[name, w] : weights) model->set_weight(name, w.shape, w.values);
  model->finish_loading();
  return model;
}

void GpuTransformer::synchronize() { gpu::cuda_check(cudaStreamSynchronize(stream_), "running the forward pass"); }

void GpuTransformer::ensure_rope_table(int64_t n_positions) {
  if (scratch_.rope_positions >= n_positions) return;
  const RopeTable table = make_rope_table(config_.rope, std::max<int64_t>(n_positions, 512));
  scratch_.rope_cos.upload(table.cos.data(), table.cos.size(), stream_);
  scratch_.rope_sin.upload(table.sin.data(), table.sin.size(), stream_);
  scratch_.rope_positions = table.n_positions;
}

void GpuTransformer::linear(const float *x, int64_t rows, int64_t n_in, const float *weight, int64_t n_out,
                            const float *bias, float *y) {
  if (rows == 0) return;
  // Row-major y = x W^T is, column-major, y^T = W x^T: W's rows are columns of length n_in.
  const float one = 1.0f, zero = 0.0f;
  blas_check(gpu::cublas().sgemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(n_out), static_cast<int>(rows),
                         static_cast<int>(n_in), &one, weight, static_cast<int>(n_in), x, static_cast<int>(n_in), &zero, y,
                         static_cast<int>(n_out)),
             "matrix product");
  if (bias) gpu::add_bias_rows(y, bias, rows, n_out, stream_);
}

void GpuTransformer::attention(int64_t n, int64_t L) {
  const auto &c = config_;
  const int64_t hd = c.head_dim, qw = c.n_head * hd, kvw = c.n_head_kv * hd, group = c.n_head / c.n_head_kv;
  const int64_t total = (n / L) * c.n_head;  // one (sequence, head) score matrix each
  const int64_t chunk = std::clamp<int64_t>(kScoreFloats / (L * L), 1, total);
  float *scores = scratch_.scores.reserve(static_cast<size_t>(chunk * L * L));
  float *q = scratch_.q.data(), *k = scratch_.k.data(), *v = scratch_.v.data(), *out = scratch_.attn.data();
  // Pointer table: K, Q, S, V, O for every matrix; S repeats every `chunk` matrices. Built and
  // uploaded only when the buffers or the shape changed (every layer of a pass shares it): an
  // upload from host memory waits for the stream.
  const std::vector<const void *> key{q, k, v, out, scores, reinterpret_cast<const void *>(n), reinterpret_cast<const void *>(L)};
  if (key != pointer_table_key_) {
    host_pointers_.assign(static_cast<size_t>(5 * total), nullptr);
    for (int64_t b = 0; b < total; ++b) {
      const int64_t s = b / c.n_head, h = b % c.n_head, kh = h / group;
      host_pointers_[static_cast<size_t>(b)] = k + s * L * kvw + kh * hd;
      host_pointers_[static_cast<size_t>(total + b)] = q + s * L * qw + h * hd;
      host_pointers_[static_cast<size_t>(2 * total + b)] = scores + (b % chunk) * L * L;
      host_pointers_[static_cast<size_t>(3 * total + b)] = v + s * L * kvw + kh * hd;
      host_pointers_[static_cast<size_t>(4 * total + b)] = out + s * L * qw + h * hd;
    }
    scratch_.attention_pointers.upload(host_pointers_.data(), host_pointers_.size(), stream_);
    pointer_table_key_ = key;
  }
  float *const *table = scratch_.attention_pointers.data();
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd)), one = 1.0f, zero = 0.0f;
  const int iL = static_cast<int>(L), ihd = static_cast<int>(hd);
  for (int64_t b0 = 0; b0 < total; b0 += chunk) {
    const int count = static_cast<int>(std::min(chunk, total - b0));
    // S = scale * Q K^T per matrix: column-major S^T(keys x queries) = K Q^T.
    blas_check(gpu::cublas().sgemm_batched(blas_, CUBLAS_OP_T, CUBLAS_OP_N, iL, iL, ihd, &scale, table + b0, static_cast<int>(kvw),
                                  table + total + b0, static_cast<int>(qw), &zero,
                                  table + 2 * total + b0, iL, count),
               "attention scores");
    gpu::causal_softmax(scores, count, L, c.sliding_window, stream_);
    // O = P V: column-major O^T(hd x queries) = V^T P^T.
    blas_check(gpu::cublas().sgemm_batched(blas_, CUBLAS_OP_N, CUBLAS_OP_N, ihd, iL, iL, &one, table + 3 * total + b0,
                                  static_cast<int>(kvw), table + 2 * total + b0, iL, &zero,
                                  table + 4 * total + b0, static_cast<int>(qw), count),
               "attention values");
  }
}

void GpuTransformer::record(const Entry *w, int expert, const float *x, int64_t rows, int64_t cols) {
  if (recorded_inputs_ && rows > 0) recorded_inputs_->add(w->first, expert, x, rows, cols, stream_);
}

void GpuTransformer::dense_ffn(const Layer &l, const float *x, int64_t rows, float *out, LayerStage start,
                               const GpuLayerIntermediates *kept, GpuLayerIntermediates *keep) {
  const int64_t n_embd = config_.n_embd, n_ff = config_.n_ff;
  const size_t n = static_cast<size_t>(rows * n_ff);
  float *gate = scratch_.ffn_gate.reserve(n);
  float *up = scratch_.ffn_up.reserve(n);
  const bool whole = start <= LayerStage::ffn_input;
  if (whole || start == LayerStage::ffn_gate) {
    record(l.ffn_gate, -1, x, rows, n_embd);
    linear(x, rows, n_embd, l.ffn_gate->second.values.data(), n_ff, nullptr, gate);
  } else {
    gpu::copy_on_device(gate, kept->gate.data(), n, stream_);
  }
  if (whole || start == LayerStage::ffn_up) {
    record(l.ffn_up, -1, x, rows, n_embd);
    linear(x, rows, n_embd, l.ffn_up->second.values.data(), n_ff, nullptr, up);
  } else {
    gpu::copy_on_device(up, kept->up.data(), n, stream_);
  }
  if (keep) {
    keep->gate.assign(gate, n, stream_);
    keep->up.assign(up, n, stream_);
  }
  gpu::silu_multiply(gate, up, gate, rows * n_ff, stream_);
  record(l.ffn_down, -1, gate, rows, n_ff);
  linear(gate, rows, n_ff, l.ffn_down->second.values.data(), n_embd, nullptr, out);
}

void GpuTransformer::moe_ffn(const Layer &l, const float *x, int64_t rows, float *out) {
  const auto &c = config_;
  const int64_t n_embd = c.n_embd, n_expert = c.n_expert, k = c.n_expert_used, n_ff = c.n_ff_expert;
  float *router_logits = scratch_.router_logits.reserve(static_cast<size_t>(rows * n_expert));
  record(l.router, -1, x, rows, n_embd);
  linear(x, rows, n_embd, l.router->second.values.data(), n_expert, nullptr, router_logits);
  const size_t routed = static_cast<size_t>(rows * k);
  int32_t *experts = scratch_.routed_experts.reserve(routed);
  float *token_weights = scratch_.token_route_weights.reserve(routed);
  gpu::route_top_k(router_logits, rows, n_expert, k, c.norm_topk_prob, experts, token_weights, stream_);
  // Every expert's tokens (in token order) and weights, back to back, as the CPU pass lists them;
  // only the list's offsets come to the host, to size each expert's products.
  int64_t *begin_on_gpu = scratch_.expert_begin.reserve(static_cast<size_t>(n_expert + 1));
  gpu::list_expert_rows(experts, token_weights, rows, k, n_expert, begin_on_gpu, scratch_.rows.reserve(routed),
                        scratch_.route_weights.reserve(routed), stream_);
  std::vector<int64_t> &begin = host_expert_begin_;
  begin.resize(static_cast<size_t>(n_expert + 1));
  scratch_.expert_begin.download(begin.data(), begin.size(), stream_);
  synchronize();

  gpu::cuda_check(cudaMemsetAsync(out, 0, static_cast<size_t>(rows * n_embd) * sizeof(float), stream_), "clearing");
  const int64_t most = rows;  // an expert gets each token at most once
  float *gathered = scratch_.gathered.reserve(static_cast<size_t>(most * n_embd));
  float *gate = scratch_.ffn_gate.reserve(static_cast<size_t>(most * n_ff));
  float *up = scratch_.ffn_up.reserve(static_cast<size_t>(most * n_ff));
  float *expert_out = scratch_.expert_out.reserve(static_cast<size_t>(most * n_embd));
  for (int64_t e = 0; e < n_expert; ++e) {
    const int64_t first = begin[static_cast<size_t>(e)], m = begin[static_cast<size_t>(e + 1)] - first;
    if (m == 0) continue;
    const int64_t *expert_rows = scratch_.rows.data() + first;
    gpu::gather_rows(x, expert_rows, m, n_embd, gathered, stream_);
    record(l.gate_exps, static_cast<int>(e), gathered, m, n_embd);
    record(l.up_exps, static_cast<int>(e), gathered, m, n_embd);
    linear(gathered, m, n_embd, l.gate_exps->second.values.data() + e * n_ff * n_embd, n_ff, nullptr, gate);
    linear(gathered, m, n_embd, l.up_exps->second.values.data() + e * n_ff * n_embd, n_ff, nullptr, up);
    gpu::silu_multiply(gate, up, gate, m * n_ff, stream_);
    record(l.down_exps, static_cast<int>(e), gate, m, n_ff);
    linear(gate, m, n_ff, l.down_exps->second.values.data() + e * n_embd * n_ff, n_embd, nullptr, expert_out);
    gpu::scatter_add_weighted(out, expert_rows, scratch_.route_weights.data() + first, expert_out, m, n_embd, stream_);
  }
}

void GpuTransformer::forward(std::span<const int32_t> tokens, float *logits, ActivationSink *sink, int64_t first_logit) {
  if (!sink) return forward_sequences(tokens, 0, first_logit, logits);
  // The one sink the GPU serves: the imatrix's, whose sums of squares it makes on the GPU and
  // hands over after the pass (the rows themselves never come to the host).
  auto *collector = dynamic_cast<ImatrixCollector *>(sink);
  if (!collector) fail("the GPU pass can only collect an imatrix; other activation reports need --device cpu");
  GpuInputSquares squares;
  record_inputs(&squares);
  try {
    forward_sequences(tokens, 0, first_logit, logits);
  } catch (...) {
    record_inputs(nullptr);
    throw;
  }
  record_inputs(nullptr);
  squares.drain_into(*collector, stream_);
}

void GpuTransformer::check_tokens(std::span<const int32_t> tokens, int64_t sequence_length, int64_t first_logit) const {
  if (!loaded_) fail("GpuTransformer: finish_loading() was not called");
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (sequence_length <= 0 || n % sequence_length != 0)
    fail("forward pass: ", n, " tokens are not whole sequences of ", sequence_length);
  if (first_logit < 0 || first_logit > sequence_length)
    fail("forward pass: first logit row ", first_logit, " of ", sequence_length);
  for (int64_t t = 0; t < n; ++t)
    if (tokens[static_cast<size_t>(t)] < 0 || tokens[static_cast<size_t>(t)] >= config_.n_vocab)
      fail("token id ", tokens[static_cast<size_t>(t)], " at position ", t, " is outside the vocabulary of ", config_.n_vocab);
}

void GpuTransformer::embed(std::span<const int32_t> tokens, float *hidden) {
  scratch_.tokens.upload(tokens.data(), tokens.size(), stream_);
  gpu::embed_rows(scratch_.tokens.data(), static_cast<int64_t>(tokens.size()), token_embd_->second.values.data(),
                  config_.n_embd, hidden, stream_);
}

void GpuTransformer::run_layers(int first, int last, float *hidden, int64_t n, int64_t L) {
  if (first < 0 || last > config_.n_layer || first > last)
    fail("run_layers: layer range [", first, ", ", last, ") is outside [0, ", config_.n_layer, "]");
  for (int il = first; il < last; ++il) run_layer(il, hidden, n, L);
}

int64_t GpuTransformer::intermediate_bytes(int64_t n_tokens) const {
  const auto &c = config_;
  const int64_t qw = c.n_head * c.head_dim, kvw = c.n_head_kv * c.head_dim;
  const int64_t ffn = c.n_expert > 0 ? 0 : 2 * c.n_ff;  // MoE layers start at the feed-forward block
  return n_tokens * (3 * c.n_embd + 2 * qw + 2 * kvw + ffn) * static_cast<int64_t>(sizeof(float));
}

void GpuTransformer::run_layer(int il, float *hidden, int64_t n, int64_t L, LayerStage start,
                               const GpuLayerIntermediates *kept, GpuLayerIntermediates *keep) {
  const auto &c = config_;
  if (il < 0 || il >= c.n_layer) fail("run_layer: no layer ", il, " in [0, ", c.n_layer, ")");
  if (start != LayerStage::input && (!kept || kept->layer != il))
    fail("run_layer: starting inside layer ", il, " needs that layer's kept intermediates");
  const int64_t n_embd = c.n_embd, hd = c.head_dim, qw = c.n_head * hd, kvw = c.n_head_kv * hd;
  Scratch &s = scratch_;
  float *normed = s.normed.reserve(static_cast<size_t>(n * n_embd));
  float *proj = s.proj.reserve(static_cast<size_t>(n * n_embd));
  float *q = s.q.reserve(static_cast<size_t>(n * qw)), *k = s.k.reserve(static_cast<size_t>(n * kvw));
  float *v = s.v.reserve(static_cast<size_t>(n * kvw)), *attn = s.attn.reserve(static_cast<size_t>(n * qw));
  ensure_rope_table(L);
  const bool neox = c.rope.style == RopeStyle::NeoX;
  auto data = [](const Entry *e) -> const float * { return e ? e->second.values.data() : nullptr; };
  const Layer &l = layers_[static_cast<size_t>(il)];
  if (keep) keep->layer = il;
  // Kept values go into the scratch buffers a whole run uses, so that attention's pointer table
  // and every product see the same addresses either way.
  auto take_kept = [&](float *to, const gpu::DeviceBuffer<float> &from, int64_t count) {
    gpu::copy_on_device(to, from.data(), static_cast<size_t>(count), stream_);
  };
  auto keep_copy = [&](gpu::DeviceBuffer<float> GpuLayerIntermediates::*field, const float *from, int64_t count) {
    if (keep) (keep->*field).assign(from, static_cast<size_t>(count), stream_);
  };

  if (in_ffn_block(start)) {
    take_kept(hidden, kept->ffn_input, n * n_embd);
  } else {
    if (start == LayerStage::attn_output) {
      take_kept(attn, kept->attn, n * qw);
    } else {
      if (start == LayerStage::input) {
        gpu::rms_norm_rows(hidden, data(l.attn_norm), normed, n, n_embd, c.rms_norm_eps, stream_);
        for (const Entry *w : {l.wq, l.wk, l.wv}) record(w, -1, normed, n, n_embd);
      } else {
        take_kept(normed, kept->attn_normed, n * n_embd);
      }
      // Q, K and V: the product (then the per-head norm and rope for Q and K), or the kept one.
      auto project = [&](LayerStage own, const Entry *w, const Entry *bias, const Entry *head_norm, bool rotate,
                         int64_t n_heads, float *out, gpu::DeviceBuffer<float> GpuLayerIntermediates::*field) {
        const int64_t width = n_heads * hd;
        if (start != LayerStage::input && start != own) return take_kept(out, kept->*field, n * width);
        linear(normed, n, n_embd, data(w), width, data(bias), out);
        if (rotate)
          gpu::norm_and_rope(out, n, n_heads, hd, data(head_norm), c.rms_norm_eps, s.rope_cos.data(), s.rope_sin.data(),
                             c.rope.n_rot, neox, L, stream_);
      };
      project(LayerStage::attn_q, l.wq, l.bq, l.q_norm, true, c.n_head, q, &GpuLayerIntermediates::q);
      project(LayerStage::attn_k, l.wk, l.bk, l.k_norm, true, c.n_head_kv, k, &GpuLayerIntermediates::k);
      project(LayerStage::attn_v, l.wv, l.bv, nullptr, false, c.n_head_kv, v, &GpuLayerIntermediates::v);
      keep_copy(&GpuLayerIntermediates::attn_normed, normed, n * n_embd);
      keep_copy(&GpuLayerIntermediates::q, q, n * qw);
      keep_copy(&GpuLayerIntermediates::k, k, n * kvw);
      keep_copy(&GpuLayerIntermediates::v, v, n * kvw);
      attention(n, L);
    }
    keep_copy(&GpuLayerIntermediates::attn, attn, n * qw);
    record(l.wo, -1, attn, n, qw);
    linear(attn, n, qw, data(l.wo), n_embd, data(l.bo), proj);
    gpu::add_in_place(hidden, proj, n * n_embd, stream_);
  }
  keep_copy(&GpuLayerIntermediates::ffn_input, hidden, n * n_embd);
  if (start <= LayerStage::ffn_input || l.router) gpu::rms_norm_rows(hidden, data(l.ffn_norm), normed, n, n_embd, c.rms_norm_eps, stream_);
  else take_kept(normed, kept->ffn_normed, n * n_embd);
  keep_copy(&GpuLayerIntermediates::ffn_normed, normed, n * n_embd);
  if (l.router) moe_ffn(l, normed, n, proj);
  else dense_ffn(l, normed, n, proj, start, kept, keep);
  gpu::add_in_place(hidden, proj, n * n_embd, stream_);
}

const float *GpuTransformer::output_logits(const float *hidden, int64_t n, int64_t first_logit, int64_t L) {
  const auto &c = config_;
  Scratch &s = scratch_;
  // The rows that want logits: [first_logit, L) of each sequence.
  const int64_t per_sequence = L - first_logit, m = (n / L) * per_sequence;
  if (m == 0) return nullptr;
  // The row list is uploaded only when the shape changed (an upload from host memory waits for
  // the stream).
  const std::array<int64_t, 3> key{n, first_logit, L};
  if (key != s.logit_rows_key) {
    std::vector<int64_t> rows(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) rows[static_cast<size_t>(i)] = (i / per_sequence) * L + first_logit + i % per_sequence;
    s.logit_rows.upload(rows.data(), rows.size(), stream_);
    s.logit_rows_key = key;
  }
  float *gathered = s.proj.reserve(static_cast<size_t>(m * c.n_embd));
  float *normed = s.normed.reserve(static_cast<size_t>(m * c.n_embd));
  gpu::gather_rows(hidden, s.logit_rows.data(), m, c.n_embd, gathered, stream_);
  gpu::rms_norm_rows(gathered, output_norm_->second.values.data(), normed, m, c.n_embd, c.rms_norm_eps, stream_);
  float *logits = s.logits.reserve(static_cast<size_t>(m * c.n_vocab));
  record(output_, -1, normed, m, c.n_embd);
  linear(normed, m, c.n_embd, output_->second.values.data(), c.n_vocab, nullptr, logits);
  return logits;
}

void GpuTransformer::swap_weight(std::string_view name, gpu::DeviceBuffer<float> &values) {
  auto it = find_weight(weights_, name);
  if (values.capacity() < static_cast<size_t>(it->second.n_elements))
    fail("tensor ", name, ": a buffer of ", values.capacity(), " values for ", it->second.n_elements);
  std::swap(it->second.values, values);
}

const float *GpuTransformer::weight_values(std::string_view name) const {
  auto it = find_weight(weights_, name);
  return it->second.values.data();
}

const std::vector<int64_t> &GpuTransformer::weight_shape(std::string_view name) const {
  auto it = find_weight(weights_, name);
  return it->second.shape;
}

int64_t GpuTransformer::weight_elements(std::string_view name) const {
  auto it = find_weight(weights_, name);
  return it->second.n_elements;
}

void GpuTransformer::forward_sequences(std::span<const int32_t> tokens, int64_t sequence_length, int64_t first_logit,
                                       float *logits) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t L = sequence_length > 0 ? sequence_length : n;
  check_tokens(tokens, L, first_logit);
  float *hidden = scratch_.hidden.reserve(static_cast<size_t>(n * config_.n_embd));
  embed(tokens, hidden);
  run_layers(0, static_cast<int>(config_.n_layer), hidden, n, L);
  const int64_t m = (n / L) * (L - first_logit);
  if (m == 0) return;
  output_logits(hidden, n, first_logit, L);
  scratch_.logits.download(logits, static_cast<size_t>(m * config_.n_vocab), stream_);
  synchronize();
}

}  // namespace qs
