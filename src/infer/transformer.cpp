// The forward pass: embeddings, then per layer RMSNorm -> Q/K/V (+bias, +q/k norm, rope) ->
// causal GQA attention -> output projection -> residual -> RMSNorm -> SwiGLU or MoE -> residual,
// then the final norm and the output matmul. Elementwise steps are split over tokens on the pool;
// the matmuls over rows or columns (infer/matmul.cpp).
#include "infer/transformer.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "infer/matmul.h"
#include "infer/norm.h"

namespace qs {

int64_t WeightTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void TransformerConfig::validate() const {
  auto positive = [&](const char *field, int64_t value) {
    if (value <= 0) fail("model config (", architecture, "): ", field, " must be positive, got ", value);
  };
  positive("n_vocab", n_vocab);
  positive("n_embd", n_embd);
  positive("n_layer", n_layer);
  positive("n_head", n_head);
  positive("n_head_kv", n_head_kv);
  positive("head_dim", head_dim);
  if (n_head % n_head_kv != 0) {
    fail("model config (", architecture, "): n_head ", n_head, " is not a multiple of n_head_kv ", n_head_kv);
  }
  if (rope.n_rot <= 0 || rope.n_rot > head_dim || rope.n_rot % 2 != 0) {
    fail("model config (", architecture, "): rotated dimensions ", rope.n_rot, " must be even and within head_dim ", head_dim);
  }
  if (n_expert > 0) {
    positive("n_expert_used", n_expert_used);
    positive("n_ff_expert", n_ff_expert);
    if (n_expert_used > n_expert) fail("model config (", architecture, "): ", n_expert_used, " experts used of ", n_expert);
  }
}

Transformer::Transformer(TransformerConfig config, WeightMap weights, int n_threads)
    : config_(std::move(config)), weights_(std::move(weights)), pool_(n_threads) {
  config_.validate();
  use_single_threaded_blas();
  bind_weights();
}

Transformer::Entry *Transformer::optional(const std::string &name, std::vector<int64_t> shape) {
  auto it = weights_.find(name);
  if (it == weights_.end()) return nullptr;
  if (it->second.shape != shape) {
    fail("tensor ", name, " has shape ", weight_shape_string(it->second.shape), ", expected ", weight_shape_string(shape),
         " for this ", config_.architecture, " config");
  }
  if (static_cast<int64_t>(it->second.values.size()) != it->second.n_elements()) {
    fail("tensor ", name, ": ", it->second.values.size(), " values for shape ", weight_shape_string(shape));
  }
  return &*it;
}

Transformer::Entry *Transformer::require(const std::string &name, std::vector<int64_t> shape) {
  Entry *entry = optional(name, shape);
  if (!entry) fail("model (", config_.architecture, ") has no tensor ", name);
  return entry;
}

void Transformer::bind_weights() {
  const auto &c = config_;
  token_embd_ = require("token_embd.weight", {c.n_embd, c.n_vocab});
  output_norm_ = require("output_norm.weight", {c.n_embd});
  output_ = optional("output.weight", {c.n_embd, c.n_vocab});
  if (!output_) output_ = token_embd_;  // tied embeddings
  // A GGUF carries llama3 scaling as rope_freqs.weight (its metadata has no llama3 keys). When the
  // config itself says llama3 (an HF model), transformers' formula is used and the tensor, which
  // the converter derives with its own choice of original context, is ignored.
  if (Entry *freqs = optional("rope_freqs.weight", {c.rope.n_rot / 2}); freqs && c.rope.scaling != RopeScalingKind::Llama3) {
    config_.rope.freq_factors = freqs->second.values;
  }

  auto find = [&](const std::string &name, const std::vector<int64_t> &shape, bool required) {
    return required ? require(name, shape) : optional(name, shape);
  };
  layers_.clear();
  for (int il = 0; il < c.n_layer; ++il)
    layers_.push_back(bind_layer_tensors<Entry>(c, il, weights_.count(layer_tensor_name(il, "ffn_gate_inp.weight")) > 0, find));
}

void Transformer::ensure_rope_positions(int64_t n_positions) {
  if (rope_.n_positions >= n_positions) return;
  rope_ = make_rope_table(config_.rope, std::max<int64_t>(n_positions, 512));
}

void Transformer::rms_norm_rows(const float *x, const float *weight, float *out, int64_t n_rows) {
  const int64_t n = config_.n_embd;
  for_each_range(pool_, n_rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) rms_norm(x + r * n, weight, out + r * n, n, config_.rms_norm_eps);
  });
}

std::vector<float> Transformer::embed(std::span<const int32_t> tokens) const {
  std::vector<float> hidden;
  embed_into(tokens, hidden);
  return hidden;
}

void Transformer::embed_into(std::span<const int32_t> tokens, std::vector<float> &hidden) const {
  const int64_t n_embd = config_.n_embd;
  hidden.resize(tokens.size() * static_cast<size_t>(n_embd));
  const float *table = token_embd_->second.values.data();
  for (size_t t = 0; t < tokens.size(); ++t) {
    const int32_t id = tokens[t];
    if (id < 0 || id >= config_.n_vocab) fail("token id ", id, " at position ", t, " is outside the vocabulary of ", config_.n_vocab);
    std::copy_n(table + static_cast<int64_t>(id) * n_embd, n_embd, hidden.data() + t * static_cast<size_t>(n_embd));
  }
}

int64_t Transformer::sequence_length_of(int64_t n_tokens, int64_t sequence_length) const {
  const int64_t seq = sequence_length > 0 ? sequence_length : n_tokens;
  if (seq <= 0 || n_tokens % seq != 0) fail("forward pass: ", n_tokens, " tokens are not whole sequences of ", seq);
  return seq;
}

Transformer::RowSelection Transformer::rows_for_layer(int il, int64_t n_tokens, int64_t sequence_length,
                                                      int64_t first_logit) {
  // A pass wanting logits from first_logit on needs, from its last layer, only rows
  // [first_logit, seq) of each sequence (the earlier rows only serve as keys and values there).
  const bool trimmed = il == config_.n_layer - 1 && first_logit > 0 && first_logit < sequence_length;
  const RowSelection rows{sequence_length, trimmed ? first_logit : 0};
  scratch_.selected.clear();
  if (trimmed)
    for (int64_t base = 0; base < n_tokens; base += sequence_length)
      for (int64_t r = first_logit; r < sequence_length; ++r) scratch_.selected.push_back(base + r);
  return rows;
}

const float *Transformer::gather_selected(const float *rows, int64_t width) {
  const int64_t m = static_cast<int64_t>(scratch_.selected.size());
  scratch_.gathered.resize(static_cast<size_t>(m * width));
  for (int64_t i = 0; i < m; ++i)
    std::copy_n(rows + scratch_.selected[static_cast<size_t>(i)] * width, width, scratch_.gathered.data() + i * width);
  return scratch_.gathered.data();
}

void Transformer::run_attention_block(int il, float *hidden, int64_t n, const RowSelection &rows, ActivationSink *sink,
                                      const StagePlan &plan) {
  const auto &c = config_;
  const Layer &l = layers_[static_cast<size_t>(il)];
  const int64_t n_embd = c.n_embd, hd = c.head_dim;
  const int64_t q_width = c.n_head * hd, kv_width = c.n_head_kv * hd;
  const int64_t seq = rows.sequence_length;
  Scratch &s = scratch_;
  s.proj.resize(static_cast<size_t>(n * n_embd));
  auto values = [](const Entry *e) { return e ? e->second.values.data() : nullptr; };
  // A staged run computes only the product its weight is in; the rest is the kept run's.
  const LayerStage start = plan.start;
  const bool fresh = start == LayerStage::input;
  const bool selected = rows.first_row > 0;
  const int64_t m = selected ? static_cast<int64_t>(s.selected.size()) : n;

  const float *attn = nullptr;  // the m rows going into the output projection
  if (start == LayerStage::attn_output) {
    attn = plan.kept->attn.data();
  } else {
    const float *normed = fresh ? nullptr : plan.kept->attn_normed.data();
    if (fresh) {
      s.normed.resize(static_cast<size_t>(n * n_embd));
      rms_norm_rows(hidden, values(l.attn_norm), s.normed.data(), n);
      normed = s.normed.data();
      if (sink) {
        for (const Entry *w : {l.wq, l.wk, l.wv}) sink->matmul_input(w->first, -1, normed, n, n_embd);
      }
    }
    // Each of Q, K, V: its product (then per-head norm and rope for Q and K), or the kept one.
    auto project = [&](bool compute, const Entry *w, const Entry *bias, const Entry *head_norm, bool rotate,
                       int64_t n_heads, std::vector<float> &buffer, const std::vector<float> *kept) -> const float * {
      if (!compute) return kept->data();
      const int64_t width = n_heads * hd;
      buffer.resize(static_cast<size_t>(n * width));
      matmul(pool_, normed, n, n_embd, n_embd, values(w), width, values(bias), buffer.data(), width);
      if (rotate) {
        ensure_rope_positions(seq);
        for_each_range(pool_, n, [&](int64_t begin, int64_t end) {
          for (int64_t t = begin; t < end; ++t) {
            float *x = buffer.data() + t * width;
            // qwen3: RMSNorm over each head before rope.
            if (head_norm)
              for (int64_t h = 0; h < n_heads; ++h) rms_norm(x + h * hd, values(head_norm), x + h * hd, hd, c.rms_norm_eps);
            apply_rope(x, n_heads, hd, rope_, t % seq);
          }
        });
      }
      return buffer.data();
    };
    const LayerIntermediates *kept = plan.kept;
    const float *q = project(fresh || start == LayerStage::attn_q, l.wq, l.bq, l.q_norm, true, c.n_head, s.q,
                             kept ? &kept->q : nullptr);
    const float *k = project(fresh || start == LayerStage::attn_k, l.wk, l.bk, l.k_norm, true, c.n_head_kv, s.k,
                             kept ? &kept->k : nullptr);
    const float *v = project(fresh || start == LayerStage::attn_v, l.wv, l.bv, nullptr, false, c.n_head_kv, s.v,
                             kept ? &kept->v : nullptr);
    AttentionShape shape;
    shape.n_tokens = n;
    shape.n_head = c.n_head;
    shape.n_head_kv = c.n_head_kv;
    shape.head_dim = hd;
    shape.sliding_window = c.sliding_window;
    shape.scale = 1.0f / std::sqrt(static_cast<float>(hd));
    shape.sequence_length = seq;
    shape.first_query = rows.first_row;
    s.attn.resize(static_cast<size_t>(n * q_width));
    causal_attention(pool_, q, k, v, s.attn.data(), shape, s.attention);
    // Only the selected rows go on: gather them so the output projection is one product.
    attn = selected ? gather_selected(s.attn.data(), q_width) : s.attn.data();
    if (plan.keep) {
      plan.keep->attn_normed.assign(normed, normed + n * n_embd);
      plan.keep->q.assign(q, q + n * q_width);
      plan.keep->k.assign(k, k + n * kv_width);
      plan.keep->v.assign(v, v + n * kv_width);
    }
  }
  if (plan.keep) plan.keep->attn.assign(attn, attn + m * q_width);
  if (sink) sink->matmul_input(l.wo->first, -1, attn, m, q_width);
  matmul(pool_, attn, m, q_width, q_width, values(l.wo), n_embd, values(l.bo), s.proj.data(), n_embd);
  add_rows(hidden, s.proj.data(), m, selected);
}

void Transformer::add_rows(float *hidden, const float *update, int64_t m, bool selected) {
  const int64_t n_embd = config_.n_embd;
  for_each_range(pool_, m, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t row = selected ? scratch_.selected[static_cast<size_t>(i)] : i;
      float *h = hidden + row * n_embd;
      const float *u = update + i * n_embd;
      for (int64_t j = 0; j < n_embd; ++j) h[j] += u[j];
    }
  });
}

void Transformer::run_ffn_block(int il, float *hidden, int64_t n, const RowSelection &rows, ActivationSink *sink,
                                const StagePlan &plan) {
  const auto &c = config_;
  const Layer &l = layers_[static_cast<size_t>(il)];
  const int64_t n_embd = c.n_embd;
  Scratch &s = scratch_;
  auto values = [](const Entry *e) { return e ? e->second.values.data() : nullptr; };
  const bool selected = rows.first_row > 0;
  const int64_t m = selected ? static_cast<int64_t>(s.selected.size()) : n;
  s.proj.resize(static_cast<size_t>(m * n_embd));
  const bool fresh = plan.start <= LayerStage::ffn_input;
  const float *normed = fresh ? nullptr : plan.kept->ffn_normed.data();
  if (fresh) {
    s.normed.resize(static_cast<size_t>(m * n_embd));
    rms_norm_rows(selected ? gather_selected(hidden, n_embd) : hidden, values(l.ffn_norm), s.normed.data(), m);
    normed = s.normed.data();
  }
  if (plan.keep) plan.keep->ffn_normed.assign(normed, normed + m * n_embd);
  if (l.is_moe()) {
    if (!fresh) fail("layer ", il, " has experts: a pass cannot start inside its feed-forward block");
    MoeWeights moe;
    moe.router = values(l.router);
    moe.gate_exps = values(l.gate_exps);
    moe.up_exps = values(l.up_exps);
    moe.down_exps = values(l.down_exps);
    moe.n_expert = c.n_expert;
    moe.n_expert_used = c.n_expert_used;
    moe.n_ff = c.n_ff_expert;
    moe.renormalize = c.norm_topk_prob;
    moe.router_name = l.router->first;
    moe.gate_name = l.gate_exps->first;
    moe.up_name = l.up_exps->first;
    moe.down_name = l.down_exps->first;
    moe_ffn(pool_, normed, m, n_embd, moe, s.proj.data(), s.moe, sink);
  } else {
    FfnWeights ffn;
    ffn.gate = values(l.ffn_gate);
    ffn.up = values(l.ffn_up);
    ffn.down = values(l.ffn_down);
    ffn.n_ff = c.n_ff;
    ffn.gate_name = l.ffn_gate->first;
    ffn.up_name = l.ffn_up->first;
    ffn.down_name = l.ffn_down->first;
    FfnStaging staging;
    using Start = FfnStaging::Start;
    staging.start = plan.start == LayerStage::ffn_gate ? Start::gate
                    : plan.start == LayerStage::ffn_up ? Start::up
                    : plan.start == LayerStage::ffn_down ? Start::down
                                                         : Start::products;
    if (!fresh) {
      staging.kept_gate_act = plan.kept->gate_act.data();
      staging.kept_up = plan.kept->up.data();
    }
    if (plan.keep) {
      staging.keep_gate_act = &plan.keep->gate_act;
      staging.keep_up = &plan.keep->up;
    }
    swiglu_ffn(pool_, normed, m, n_embd, ffn, s.proj.data(), s.ffn, sink, &staging);
  }
  add_rows(hidden, s.proj.data(), m, selected);
}

void Transformer::run_layer(int il, float *hidden, int64_t n, const RowSelection &rows, ActivationSink *sink) {
  if (sink) sink->layer_input(il, hidden, n, config_.n_embd);
  run_attention_block(il, hidden, n, rows, sink, StagePlan{});
  run_ffn_block(il, hidden, n, rows, sink, StagePlan{});
}

void Transformer::run_layers(int first, int last, float *hidden, int64_t n_tokens, ActivationSink *sink,
                             int64_t sequence_length) {
  if (first < 0 || last > config_.n_layer || first > last) {
    fail("run_layers: layer range [", first, ", ", last, ") is outside [0, ", config_.n_layer, "]");
  }
  const RowSelection all{sequence_length_of(n_tokens, sequence_length), 0};
  for (int il = first; il < last; ++il) run_layer(il, hidden, n_tokens, all, sink);
}

void Transformer::run_layer_keeping(int layer, float *hidden, int64_t n_tokens, LayerIntermediates &keep,
                                    int64_t sequence_length, int64_t first_logit) {
  if (layer < 0 || layer >= config_.n_layer) fail("run_layer_keeping: no layer ", layer);
  const int64_t seq = sequence_length_of(n_tokens, sequence_length);
  if (first_logit < 0 || first_logit >= seq) fail("run_layer_keeping: first logit row ", first_logit, " of ", seq);
  const RowSelection rows = rows_for_layer(layer, n_tokens, seq, first_logit);
  const StagePlan plan{LayerStage::input, nullptr, &keep};
  const int64_t values = n_tokens * config_.n_embd;
  keep.layer = layer;
  run_attention_block(layer, hidden, n_tokens, rows, nullptr, plan);
  keep.ffn_input.assign(hidden, hidden + values);
  run_ffn_block(layer, hidden, n_tokens, rows, nullptr, plan);
  keep.output.assign(hidden, hidden + values);
}

void Transformer::output_logits(const float *hidden, int64_t n_tokens, float *logits, ActivationSink *sink,
                                int64_t first_logit, int64_t sequence_length) {
  const int64_t seq = sequence_length_of(n_tokens, sequence_length);
  if (first_logit < 0 || first_logit > seq) fail("output_logits: first logit row ", first_logit, " of ", seq);
  const int64_t n_embd = config_.n_embd, rows = seq - first_logit;
  if (sink) sink->layer_input(static_cast<int>(config_.n_layer), hidden, n_tokens, n_embd);
  scratch_.normed.resize(static_cast<size_t>(rows * n_embd));
  for (int64_t base = 0; base < n_tokens; base += seq) {
    rms_norm_rows(hidden + (base + first_logit) * n_embd, output_norm_->second.values.data(), scratch_.normed.data(), rows);
    if (sink) sink->matmul_input(output_->first, -1, scratch_.normed.data(), rows, n_embd);
    matmul(pool_, scratch_.normed.data(), rows, n_embd, n_embd, output_->second.values.data(), config_.n_vocab, nullptr,
           logits, config_.n_vocab);
    logits += rows * config_.n_vocab;
  }
}

void Transformer::run_layers_for_logits(int first, float *hidden, int64_t n_tokens, int64_t first_logit,
                                        int64_t sequence_length) {
  if (first < 0 || first > config_.n_layer) fail("run_layers_for_logits: no layer ", first);
  const int64_t seq = sequence_length_of(n_tokens, sequence_length);
  if (first_logit < 0 || first_logit >= seq) fail("run_layers_for_logits: first logit row ", first_logit, " of ", seq);
  const int last = static_cast<int>(config_.n_layer);
  for (int il = first; il < last; ++il) run_layer(il, hidden, n_tokens, rows_for_layer(il, n_tokens, seq, first_logit), nullptr);
}

void Transformer::finish_pass(int first_layer, float *hidden, int64_t n_tokens, float *logits, ActivationSink *sink,
                              int64_t first_logit, int64_t sequence_length) {
  const int64_t seq = sequence_length_of(n_tokens, sequence_length);
  // The last layer's rows before first_logit only serve as keys and values: without a sink (which
  // expects every row), the rest of that layer runs only on the rows the logits need.
  if (!sink && first_logit > 0 && first_logit < seq) {
    run_layers_for_logits(first_layer, hidden, n_tokens, first_logit, seq);
  } else {
    run_layers(first_layer, static_cast<int>(config_.n_layer), hidden, n_tokens, sink, seq);
  }
  output_logits(hidden, n_tokens, logits, sink, first_logit, seq);
}

void Transformer::forward(std::span<const int32_t> tokens, float *logits, ActivationSink *sink, int64_t first_logit) {
  // The residual stream lives in a buffer kept between passes: a fresh one per pass would cost
  // page faults on every chunk.
  std::vector<float> &hidden = scratch_.hidden;
  embed_into(tokens, hidden);
  finish_pass(0, hidden.data(), static_cast<int64_t>(tokens.size()), logits, sink, first_logit, 0);
}

std::vector<float> Transformer::forward(std::span<const int32_t> tokens, ActivationSink *sink) {
  std::vector<float> logits(tokens.size() * static_cast<size_t>(config_.n_vocab));
  forward(tokens, logits.data(), sink, 0);
  return logits;
}

std::vector<float> Transformer::hidden_states_before_layer(std::span<const int32_t> tokens, int layer,
                                                           ActivationSink *sink) {
  std::vector<float> hidden = embed(tokens);
  run_layers(0, layer, hidden.data(), static_cast<int64_t>(tokens.size()), sink);
  return hidden;
}

void Transformer::forward_from_layer(int layer, std::span<const float> hidden_in, int64_t n_tokens, float *logits,
                                     ActivationSink *sink, int64_t first_logit, int64_t sequence_length) {
  if (static_cast<int64_t>(hidden_in.size()) != n_tokens * config_.n_embd) {
    fail("forward_from_layer: ", hidden_in.size(), " hidden values for ", n_tokens, " tokens of width ", config_.n_embd);
  }
  if (layer < 0 || layer > config_.n_layer) fail("forward_from_layer: no layer ", layer);
  std::vector<float> &hidden = scratch_.hidden;
  hidden.assign(hidden_in.begin(), hidden_in.end());
  finish_pass(layer, hidden.data(), n_tokens, logits, sink, first_logit, sequence_length);
}

void Transformer::forward_from_stage(int layer, LayerStage stage, const LayerIntermediates &kept,
                                     std::span<const float> layer_input, int64_t n_tokens, float *logits,
                                     int64_t first_logit, int64_t sequence_length) {
  if (stage == LayerStage::input) {
    forward_from_layer(layer, layer_input, n_tokens, logits, nullptr, first_logit, sequence_length);
    return;
  }
  const int64_t values = n_tokens * config_.n_embd;
  if (static_cast<int64_t>(layer_input.size()) != values) {
    fail("forward_from_stage: ", layer_input.size(), " hidden values for ", n_tokens, " tokens of width ", config_.n_embd);
  }
  if (layer < 0 || layer >= config_.n_layer) fail("forward_from_stage: no layer ", layer);
  if (kept.layer != layer || static_cast<int64_t>(kept.ffn_input.size()) != values)
    fail("forward_from_stage: the kept intermediates are not layer ", layer, "'s over these ", n_tokens, " tokens");
  const int64_t seq = sequence_length_of(n_tokens, sequence_length);
  const RowSelection rows = rows_for_layer(layer, n_tokens, seq, first_logit);
  const StagePlan plan{stage, &kept, nullptr};
  std::vector<float> &hidden = scratch_.hidden;
  if (in_ffn_block(stage)) {
    hidden.assign(kept.ffn_input.begin(), kept.ffn_input.end());
  } else {
    hidden.assign(layer_input.begin(), layer_input.end());
    run_attention_block(layer, hidden.data(), n_tokens, rows, nullptr, plan);
  }
  run_ffn_block(layer, hidden.data(), n_tokens, rows, nullptr, plan);
  finish_pass(layer + 1, hidden.data(), n_tokens, logits, nullptr, first_logit, seq);
}

bool Transformer::has_weight(std::string_view name) const { return weights_.find(name) != weights_.end(); }

const WeightTensor &Transformer::weight(std::string_view name) const {
  auto it = weights_.find(name);
  if (it == weights_.end()) fail("model (", config_.architecture, ") has no tensor ", name);
  return it->second;
}

std::vector<float> Transformer::set_weight(std::string_view name, std::vector<float> values) {
  auto it = weights_.find(name);
  if (it == weights_.end()) fail("set_weight: model (", config_.architecture, ") has no tensor ", name);
  if (static_cast<int64_t>(values.size()) != it->second.n_elements()) {
    fail("set_weight: ", name, " has ", it->second.n_elements(), " elements, got ", values.size());
  }
  std::swap(it->second.values, values);
  if (name == "rope_freqs.weight" && config_.rope.scaling != RopeScalingKind::Llama3) {
    config_.rope.freq_factors = it->second.values;
    rope_ = RopeTable{};
  }
  return values;
}

std::vector<std::string> Transformer::matmul_weight_names() const {
  std::vector<std::string> names;
  for (const Layer &l : layers_) {
    for (const Entry *e : {l.wq, l.wk, l.wv, l.wo}) names.push_back(e->first);
    if (l.is_moe()) {
      for (const Entry *e : {l.router, l.gate_exps, l.up_exps, l.down_exps}) names.push_back(e->first);
    } else {
      for (const Entry *e : {l.ffn_gate, l.ffn_up, l.ffn_down}) names.push_back(e->first);
    }
  }
  names.push_back(output_->first);
  return names;
}

double Transformer::flops_per_pass(int64_t n_tokens, int64_t n_logits) const {
  const auto &c = config_;
  const double n = static_cast<double>(n_tokens);
  const int64_t first_logit = n_tokens - n_logits;
  double macs = 0.0;
  const double q_width = static_cast<double>(c.n_head * c.head_dim), kv_width = static_cast<double>(c.n_head_kv * c.head_dim);
  // Query i sees min(i + 1, window) keys; QK^T and PV each cost head_dim per (query, key, head).
  auto visible_pairs = [&](int64_t first_query) {
    double pairs = 0.0;
    for (int64_t i = first_query; i < n_tokens; ++i)
      pairs += static_cast<double>(c.sliding_window > 0 ? std::min<int64_t>(i + 1, c.sliding_window) : i + 1);
    return pairs;
  };
  for (size_t il = 0; il < layers_.size(); ++il) {
    // The last layer runs attention, the output projection and the FFN only for the rows the
    // logits need (see finish_pass); Q, K and V for every row.
    const bool trimmed = il + 1 == layers_.size() && first_logit > 0;
    const double rows = trimmed ? static_cast<double>(n_logits) : n;
    macs += n * static_cast<double>(c.n_embd) * (q_width + 2.0 * kv_width) + rows * q_width * static_cast<double>(c.n_embd);
    macs += 2.0 * visible_pairs(trimmed ? first_logit : 0) * q_width;
    if (layers_[il].is_moe()) {
      macs += rows * static_cast<double>(c.n_embd) * static_cast<double>(c.n_expert);
      macs += rows * static_cast<double>(c.n_expert_used) * 3.0 * static_cast<double>(c.n_embd * c.n_ff_expert);
    } else {
      macs += rows * 3.0 * static_cast<double>(c.n_embd * c.n_ff);
    }
  }
  macs += static_cast<double>(n_logits) * static_cast<double>(c.n_embd * c.n_vocab);
  return 2.0 * macs;
}

}  // namespace qs
