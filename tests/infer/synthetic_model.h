// Small random models for forward-pass tests (built in memory, no files) and a plain-loop
// reference forward pass in double precision written straight from the model definitions
// (HF LlamaForCausalLM / Qwen2 / Qwen3 / Mixtral / Qwen3MoE), independent of src/infer's code
// paths: no sgemm, no tables, no thread pool.
#pragma once

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "infer/transformer.h"

namespace qs::test {

struct SyntheticOptions {
  bool tied = false;
  bool qkv_bias = false;
  bool qk_norm = false;
  bool moe = false;
  RopeStyle rope_style = RopeStyle::NeoX;
  RopeScalingKind rope_scaling = RopeScalingKind::None;
  int64_t sliding_window = 0;
};

inline TransformerConfig synthetic_config(const SyntheticOptions &o) {
  TransformerConfig c;
  c.architecture = "synthetic";
  c.n_vocab = 50;
  c.n_embd = 32;
  c.n_layer = 3;
  c.n_head = 4;
  c.n_head_kv = 2;
  c.head_dim = 8;
  c.n_ff = 48;
  if (o.moe) {
    c.n_ff = 0;
    c.n_expert = 4;
    c.n_expert_used = 2;
    c.n_ff_expert = 24;
    c.norm_topk_prob = false;
  }
  c.rms_norm_eps = 1e-5f;
  c.sliding_window = o.sliding_window;
  c.rope.style = o.rope_style;
  c.rope.theta = 1000.0f;
  c.rope.n_rot = 8;
  c.rope.scaling = o.rope_scaling;
  if (o.rope_scaling == RopeScalingKind::Llama3) {
    c.rope.factor = 8;
    c.rope.original_context = 64;
  }
  return c;
}

inline WeightMap synthetic_weights(const TransformerConfig &c, const SyntheticOptions &o, uint32_t seed) {
  std::mt19937 rng(seed);
  WeightMap w;
  auto add = [&](const std::string &name, std::vector<int64_t> shape, float scale, float offset = 0.0f) {
    WeightTensor t;
    t.shape = shape;
    std::normal_distribution<float> dist(offset, scale);
    t.values.resize(static_cast<size_t>(t.n_elements()));
    for (auto &v : t.values) v = dist(rng);
    w[name] = std::move(t);
  };
  const int64_t qw = c.n_head * c.head_dim, kvw = c.n_head_kv * c.head_dim;
  add("token_embd.weight", {c.n_embd, c.n_vocab}, 1.0f);
  add("output_norm.weight", {c.n_embd}, 0.1f, 1.0f);
  if (!o.tied) add("output.weight", {c.n_embd, c.n_vocab}, 0.3f);
  for (int il = 0; il < c.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    add(p + "attn_norm.weight", {c.n_embd}, 0.1f, 1.0f);
    add(p + "attn_q.weight", {c.n_embd, qw}, 0.3f);
    add(p + "attn_k.weight", {c.n_embd, kvw}, 0.3f);
    add(p + "attn_v.weight", {c.n_embd, kvw}, 0.3f);
    add(p + "attn_output.weight", {qw, c.n_embd}, 0.2f);
    if (o.qkv_bias) {
      add(p + "attn_q.bias", {qw}, 0.5f);
      add(p + "attn_k.bias", {kvw}, 0.5f);
      add(p + "attn_v.bias", {kvw}, 0.5f);
    }
    if (o.qk_norm) {
      add(p + "attn_q_norm.weight", {c.head_dim}, 0.2f, 1.0f);
      add(p + "attn_k_norm.weight", {c.head_dim}, 0.2f, 1.0f);
    }
    add(p + "ffn_norm.weight", {c.n_embd}, 0.1f, 1.0f);
    if (o.moe) {
      add(p + "ffn_gate_inp.weight", {c.n_embd, c.n_expert}, 0.5f);
      add(p + "ffn_gate_exps.weight", {c.n_embd, c.n_ff_expert, c.n_expert}, 0.2f);
      add(p + "ffn_up_exps.weight", {c.n_embd, c.n_ff_expert, c.n_expert}, 0.2f);
      add(p + "ffn_down_exps.weight", {c.n_ff_expert, c.n_embd, c.n_expert}, 0.2f);
    } else {
      add(p + "ffn_gate.weight", {c.n_embd, c.n_ff}, 0.2f);
      add(p + "ffn_up.weight", {c.n_embd, c.n_ff}, 0.2f);
      add(p + "ffn_down.weight", {c.n_ff, c.n_embd}, 0.2f);
    }
  }
  return w;
}

// Logits (n x n_vocab) by the textbook definition, in double.
inline std::vector<double> reference_forward(const TransformerConfig &c, const WeightMap &w,
                                             const std::vector<int32_t> &tokens) {
  const int64_t n = static_cast<int64_t>(tokens.size()), E = c.n_embd, hd = c.head_dim;
  const int64_t qw = c.n_head * hd, kvw = c.n_head_kv * hd;
  auto W = [&](const std::string &name) -> const std::vector<float> & { return w.at(name).values; };
  auto has = [&](const std::string &name) { return w.count(name) > 0; };
  // y = x W^T for x [rows x in], W [out x in]
  auto linear = [](const std::vector<double> &x, int64_t rows, int64_t in, const std::vector<float> &wt, int64_t out) {
    std::vector<double> y(static_cast<size_t>(rows * out), 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < out; ++o) {
        double s = 0;
        for (int64_t i = 0; i < in; ++i) s += x[r * in + i] * wt[o * in + i];
        y[r * out + o] = s;
      }
    return y;
  };
  auto rmsnorm = [&](std::vector<double> x, int64_t rows, int64_t width, const std::vector<float> &g) {
    for (int64_t r = 0; r < rows; ++r) {
      double ss = 0;
      for (int64_t i = 0; i < width; ++i) ss += x[r * width + i] * x[r * width + i];
      const double inv = 1.0 / std::sqrt(ss / width + c.rms_norm_eps);
      for (int64_t i = 0; i < width; ++i) x[r * width + i] *= inv * g[i];
    }
    return x;
  };
  // inverse frequency of pair i (no scaling, or llama3 as in the rope test)
  auto inv_freq = [&](int64_t i) {
    double f = 1.0 / std::pow(static_cast<double>(c.rope.theta), 2.0 * i / c.rope.n_rot);
    if (c.rope.scaling == RopeScalingKind::Llama3) {
      const double wl = 2 * M_PI / f, ctx = static_cast<double>(c.rope.original_context);
      const double lo = ctx / c.rope.low_freq_factor, hi = ctx / c.rope.high_freq_factor;
      if (wl > lo) f /= c.rope.factor;
      else if (wl >= hi) {
        const double s = (ctx / wl - c.rope.low_freq_factor) / (c.rope.high_freq_factor - c.rope.low_freq_factor);
        f = (1 - s) * f / c.rope.factor + s * f;
      }
    }
    return f;
  };
  auto rope = [&](std::vector<double> &x, int64_t heads) {
    for (int64_t t = 0; t < n; ++t)
      for (int64_t h = 0; h < heads; ++h) {
        double *v = &x[(t * heads + h) * hd];
        for (int64_t i = 0; i < c.rope.n_rot / 2; ++i) {
          const double a = t * inv_freq(i);
          const int64_t i0 = c.rope.style == RopeStyle::NeoX ? i : 2 * i;
          const int64_t i1 = c.rope.style == RopeStyle::NeoX ? i + c.rope.n_rot / 2 : 2 * i + 1;
          const double x0 = v[i0], x1 = v[i1];
          v[i0] = x0 * std::cos(a) - x1 * std::sin(a);
          v[i1] = x1 * std::cos(a) + x0 * std::sin(a);
        }
      }
  };
  auto swiglu = [&](const std::vector<double> &x, int64_t rows, const float *g, const float *u, const float *d, int64_t ff) {
    std::vector<double> out(static_cast<size_t>(rows * E), 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<double> h(static_cast<size_t>(ff));
      for (int64_t f = 0; f < ff; ++f) {
        double gs = 0, us = 0;
        for (int64_t i = 0; i < E; ++i) gs += x[r * E + i] * g[f * E + i], us += x[r * E + i] * u[f * E + i];
        h[f] = gs / (1 + std::exp(-gs)) * us;
      }
      for (int64_t i = 0; i < E; ++i)
        for (int64_t f = 0; f < ff; ++f) out[r * E + i] += d[i * ff + f] * h[f];
    }
    return out;
  };

  std::vector<double> hidden(static_cast<size_t>(n * E));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < E; ++i) hidden[t * E + i] = W("token_embd.weight")[tokens[t] * E + i];
  for (int il = 0; il < c.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    auto x = rmsnorm(hidden, n, E, W(p + "attn_norm.weight"));
    auto q = linear(x, n, E, W(p + "attn_q.weight"), qw);
    auto k = linear(x, n, E, W(p + "attn_k.weight"), kvw);
    auto v = linear(x, n, E, W(p + "attn_v.weight"), kvw);
    if (has(p + "attn_q.bias"))
      for (int64_t t = 0; t < n; ++t) {
        for (int64_t i = 0; i < qw; ++i) q[t * qw + i] += W(p + "attn_q.bias")[i];
        for (int64_t i = 0; i < kvw; ++i) k[t * kvw + i] += W(p + "attn_k.bias")[i], v[t * kvw + i] += W(p + "attn_v.bias")[i];
      }
    if (has(p + "attn_q_norm.weight")) {
      q = rmsnorm(q, n * c.n_head, hd, W(p + "attn_q_norm.weight"));
      k = rmsnorm(k, n * c.n_head_kv, hd, W(p + "attn_k_norm.weight"));
    }
    rope(q, c.n_head);
    rope(k, c.n_head_kv);
    std::vector<double> attn(static_cast<size_t>(n * qw), 0.0);
    for (int64_t h = 0; h < c.n_head; ++h) {
      const int64_t kh = h / (c.n_head / c.n_head_kv);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t j0 = c.sliding_window > 0 ? std::max<int64_t>(0, i - c.sliding_window + 1) : 0;
        std::vector<double> s(static_cast<size_t>(i + 1), 0.0);
        double mx = -1e300, sum = 0;
        for (int64_t j = j0; j <= i; ++j) {
          for (int64_t d = 0; d < hd; ++d) s[j] += q[i * qw + h * hd + d] * k[j * kvw + kh * hd + d];
          s[j] /= std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, s[j]);
        }
        for (int64_t j = j0; j <= i; ++j) sum += s[j] = std::exp(s[j] - mx);
        for (int64_t j = j0; j <= i; ++j)
          for (int64_t d = 0; d < hd; ++d) attn[i * qw + h * hd + d] += s[j] / sum * v[j * kvw + kh * hd + d];
      }
    }
    const auto o = linear(attn, n, qw, W(p + "attn_output.weight"), E);
    for (size_t i = 0; i < hidden.size(); ++i) hidden[i] += o[i];
    x = rmsnorm(hidden, n, E, W(p + "ffn_norm.weight"));
    std::vector<double> ffn;
    if (has(p + "ffn_gate_inp.weight")) {
      ffn.assign(static_cast<size_t>(n * E), 0.0);
      const auto logits = linear(x, n, E, W(p + "ffn_gate_inp.weight"), c.n_expert);
      for (int64_t t = 0; t < n; ++t) {
        std::vector<double> pr(static_cast<size_t>(c.n_expert));
        double sum = 0;
        for (int64_t e = 0; e < c.n_expert; ++e) sum += pr[e] = std::exp(logits[t * c.n_expert + e]);
        std::vector<int64_t> order(static_cast<size_t>(c.n_expert));
        for (int64_t e = 0; e < c.n_expert; ++e) order[e] = e, pr[e] /= sum;
        std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return pr[a] > pr[b]; });
        double chosen = 0;
        for (int64_t j = 0; j < c.n_expert_used; ++j) chosen += pr[order[j]];
        const std::vector<double> xt(x.begin() + t * E, x.begin() + (t + 1) * E);
        for (int64_t j = 0; j < c.n_expert_used; ++j) {
          const int64_t e = order[j], F = c.n_ff_expert;
          const auto y = swiglu(xt, 1, W(p + "ffn_gate_exps.weight").data() + e * F * E,
                                W(p + "ffn_up_exps.weight").data() + e * F * E, W(p + "ffn_down_exps.weight").data() + e * E * F, F);
          const double wgt = c.norm_topk_prob ? pr[e] / chosen : pr[e];
          for (int64_t i = 0; i < E; ++i) ffn[t * E + i] += wgt * y[i];
        }
      }
    } else {
      ffn = swiglu(x, n, W(p + "ffn_gate.weight").data(), W(p + "ffn_up.weight").data(), W(p + "ffn_down.weight").data(), c.n_ff);
    }
    for (size_t i = 0; i < hidden.size(); ++i) hidden[i] += ffn[i];
  }
  const auto x = rmsnorm(hidden, n, E, W("output_norm.weight"));
  return linear(x, n, E, has("output.weight") ? W("output.weight") : W("token_embd.weight"), c.n_vocab);
}

}  // namespace qs::test
