// llama-quantize's stock presets, tensor by tensor. The rules are llama.cpp's
// llama_tensor_get_type_impl (src/llama-quant.cpp), one function per tensor category below; the
// comments name what they transcribe, the code keeps llama.cpp's order of tests where it matters.
#include "convert/stock_presets.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <initializer_list>
#include <numeric>

#include "core/error.h"
#include "model/quantizable_tensors.h"
#include "quant/type_fallback.h"

namespace qs {
namespace {

using F = LlamaFtype;
using G = GgmlType;

// Names, ftypes and help lines: tools/quantize/quantize.cpp QUANT_OPTIONS. Default types: the
// ftype switch of llama_ftype_get_default_type. needs_imatrix: see StockPreset.
constexpr StockPreset kPresets[] = {
    {"Q4_0", F::Q4_0, G::Q4_0, false, "4.34G, +0.4685 ppl @ Llama-3-8B"},
    {"Q4_1", F::Q4_1, G::Q4_1, false, "4.78G, +0.4511 ppl @ Llama-3-8B"},
    {"MXFP4_MOE", F::MXFP4_MOE, G::MXFP4, false, "MXFP4 MoE"},
    {"Q5_0", F::Q5_0, G::Q5_0, false, "5.21G, +0.1316 ppl @ Llama-3-8B"},
    {"Q5_1", F::Q5_1, G::Q5_1, false, "5.65G, +0.1062 ppl @ Llama-3-8B"},
    {"IQ2_XXS", F::IQ2_XXS, G::IQ2_XXS, true, "2.06 bpw quantization"},
    {"IQ2_XS", F::IQ2_XS, G::IQ2_XS, true, "2.31 bpw quantization"},
    {"IQ2_S", F::IQ2_S, G::IQ2_XS, true, "2.5  bpw quantization"},
    {"IQ2_M", F::IQ2_M, G::IQ2_S, true, "2.7  bpw quantization"},
    {"IQ1_S", F::IQ1_S, G::IQ1_S, true, "1.56 bpw quantization"},
    {"IQ1_M", F::IQ1_M, G::IQ1_M, true, "1.75 bpw quantization"},
    {"Q2_K", F::Q2_K, G::Q2_K, false, "2.96G, +3.5199 ppl @ Llama-3-8B"},
    {"Q2_K_S", F::Q2_K_S, G::Q2_K, true, "2.96G, +3.1836 ppl @ Llama-3-8B"},
    {"IQ3_XXS", F::IQ3_XXS, G::IQ3_XXS, true, "3.06 bpw quantization"},
    {"IQ3_S", F::IQ3_S, G::IQ3_S, false, "3.44 bpw quantization"},
    {"IQ3_M", F::IQ3_M, G::IQ3_S, false, "3.66 bpw quantization mix"},
    {"IQ3_XS", F::IQ3_XS, G::IQ3_S, true, "3.3 bpw quantization"},
    {"Q3_K_S", F::Q3_K_S, G::Q3_K, false, "3.41G, +1.6321 ppl @ Llama-3-8B"},
    {"Q3_K_M", F::Q3_K_M, G::Q3_K, false, "3.74G, +0.6569 ppl @ Llama-3-8B"},
    {"Q3_K_L", F::Q3_K_L, G::Q3_K, false, "4.03G, +0.5562 ppl @ Llama-3-8B"},
    {"IQ4_NL", F::IQ4_NL, G::IQ4_NL, false, "4.50 bpw non-linear quantization"},
    {"IQ4_XS", F::IQ4_XS, G::IQ4_XS, false, "4.25 bpw non-linear quantization"},
    {"Q4_K_S", F::Q4_K_S, G::Q4_K, false, "4.37G, +0.2689 ppl @ Llama-3-8B"},
    {"Q4_K_M", F::Q4_K_M, G::Q4_K, false, "4.58G, +0.1754 ppl @ Llama-3-8B"},
    {"Q5_K_S", F::Q5_K_S, G::Q5_K, false, "5.21G, +0.1049 ppl @ Llama-3-8B"},
    {"Q5_K_M", F::Q5_K_M, G::Q5_K, false, "5.33G, +0.0569 ppl @ Llama-3-8B"},
    {"Q6_K", F::Q6_K, G::Q6_K, false, "6.14G, +0.0217 ppl @ Llama-3-8B"},
    {"Q8_0", F::Q8_0, G::Q8_0, false, "7.96G, +0.0026 ppl @ Llama-3-8B"},
};

bool is_one_of(F ftype, std::initializer_list<F> set) { return std::find(set.begin(), set.end(), ftype) != set.end(); }

// The mixes llama.cpp handles in one branch of their own, before any per-category rule.
bool is_iq1_iq2_mix(F f) { return is_one_of(f, {F::IQ2_XXS, F::IQ2_XS, F::IQ1_S, F::IQ2_S, F::IQ2_M, F::IQ1_M}); }

bool is_attn_v_like(TensorCategory c) {
  return c == TensorCategory::AttnV || c == TensorCategory::AttnQkv || c == TensorCategory::AttnKvB;
}

// llama.cpp's use_more_bits: the first and last eighth of the layers, and every third layer between.
bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// The layer llama.cpp's layer_info() gives an ffn tensor: a MoE model's is read from the name
// (experts were once separate tensors in any order), a dense model's is the counter.
int ffn_layer(const TensorClass &t, const PresetModelInfo &m) {
  if (m.n_expert <= 1) return t.ordinal;
  if (t.layer < 0 || t.layer >= m.n_layer)
    fail("stock preset: tensor '", t.name, "' of a model with ", m.n_expert, " experts has no layer in [0, ", m.n_layer,
         ") in its name");
  return t.layer;
}

// output.weight, and token_embd.weight when it doubles as the output matrix.
G output_type(F f, G base, const TensorClass &t, const PresetModelInfo &m) {
  if (f == F::MXFP4_MOE) return G::Q8_0;
  // The test is on the preset's default type, not on Q6_K: a Q4_0 file of 4160-wide rows gets Q6_K
  // here and Q8_0 from the fallback.
  if (m.falcon || t.row_length % quant_type(base).block_size != 0) return G::Q8_0;
  if (is_one_of(f, {F::IQ2_XXS, F::IQ2_XS, F::IQ3_XXS, F::IQ1_S, F::IQ2_S, F::IQ2_M, F::IQ1_M})) return G::Q5_K;
  return base == G::Q8_0 ? G::Q8_0 : G::Q6_K;
}

// An untied token_embd.weight.
G token_embd_type(F f, G base) {
  if (is_one_of(f, {F::IQ2_XXS, F::IQ2_XS, F::IQ1_S, F::IQ1_M})) return G::Q2_K;
  if (is_one_of(f, {F::IQ2_S, F::IQ2_M, F::IQ3_XXS})) return G::IQ3_S;
  return base;
}

// Every other tensor of an IQ1_*/IQ2_* mix.
G iq1_iq2_mix_type(F f, G base, const TensorClass &t, const PresetModelInfo &m) {
  const bool iq2_s_or_m = f == F::IQ2_S || f == F::IQ2_M;
  if (is_attn_v_like(t.category)) {
    if (m.n_gqa >= 4 || m.n_expert >= 4) return G::Q4_K;
    return iq2_s_or_m ? G::IQ3_S : G::Q2_K;
  }
  if (m.n_expert == 8 && t.category == TensorCategory::AttnK) return G::Q4_K;
  if (t.category == TensorCategory::FfnDown) {
    // The counter even for MoE models: this branch has no layer_info().
    if (t.ordinal < m.n_layer / 8) return iq2_s_or_m ? G::IQ3_S : G::Q2_K;
    return base;
  }
  if (t.category == TensorCategory::AttnOutput) {
    if (m.n_expert == 8) return G::Q5_K;
    if (f == F::IQ1_S || f == F::IQ1_M) return G::IQ2_XXS;
    if (iq2_s_or_m) return G::IQ3_S;
  }
  return base;
}

// attn_v, attn_qkv and attn_kv_b. (llama.cpp also has a branch for attn_qkv alone, but the attn_v
// branch catches attn_qkv first, so it is never reached.)
G attn_v_type(F f, G base, const TensorClass &t, const PresetModelInfo &m, bool has_imatrix) {
  const int i = t.ordinal, n = m.n_attention_v;
  const bool gqa4 = m.n_gqa >= 4;
  G type = base;
  if (f == F::Q2_K) type = gqa4 ? G::Q4_K : G::Q3_K;
  else if (f == F::Q2_K_S && gqa4) type = G::Q4_K;
  else if (f == F::IQ3_XXS) type = gqa4 ? G::Q4_K : !has_imatrix ? G::IQ3_S : G::IQ3_XXS;
  else if ((f == F::IQ3_XS || f == F::IQ3_S) && gqa4) type = G::Q4_K;
  else if (f == F::IQ3_M) type = G::Q4_K;
  else if (f == F::Q3_K_M) type = i < 2 ? G::Q5_K : G::Q4_K;
  else if (f == F::Q3_K_L) type = G::Q5_K;
  else if ((f == F::IQ4_NL || f == F::IQ4_XS) && gqa4) type = G::Q5_K;
  else if ((f == F::Q4_K_M || f == F::Q5_K_M) && use_more_bits(i, n)) type = G::Q6_K;
  else if (f == F::Q4_K_S && i < 4) type = G::Q5_K;
  // 70B: 8 query heads share each v head, so attn_v is 8x smaller than attn_q and more bits are cheap.
  if (m.type_70b && (type == G::Q3_K || type == G::Q4_K)) type = G::Q5_K;
  if (m.n_expert == 8) type = G::Q8_0;
  return type;
}

G attn_k_type(F f, G base, const PresetModelInfo &m) {
  if (m.n_expert == 8) return G::Q8_0;
  if (f == F::IQ3_XS) return G::IQ3_XXS;
  if (f == F::IQ3_XXS) return G::IQ2_S;
  return base;
}

G attn_q_type(F f, G base) {
  if (f == F::IQ3_XS) return G::IQ3_XXS;
  if (f == F::IQ3_XXS) return G::IQ2_S;
  return base;
}

G ffn_down_type(F f, G base, const TensorClass &t, const PresetModelInfo &m, bool has_imatrix) {
  const int i = ffn_layer(t, m), n = m.n_layer;
  const bool more = use_more_bits(i, n);
  switch (f) {
    case F::Q2_K: return G::Q3_K;
    case F::Q2_K_S: return i < n / 8 ? G::Q4_K : base;
    case F::IQ3_XXS:
      if (has_imatrix) return base;
      return i < n / 8 ? G::Q4_K : G::Q3_K;
    case F::Q3_K_M:
      if (i < n / 16) return G::Q5_K;
      return !m.falcon || more ? G::Q4_K : G::Q3_K;
    case F::IQ3_M: return i < n / 8 || (m.n_expert == 8 && more) ? G::Q4_K : base;
    case F::Q3_K_L: return m.falcon ? G::Q4_K : G::Q5_K;
    case F::Q4_K_M:
      if (m.falcon) return i < n / 16 ? G::Q6_K : more ? G::Q5_K : G::Q4_K;
      return more ? G::Q6_K : base;
    case F::IQ4_NL:
    case F::IQ4_XS: return i < n / 8 && !has_imatrix ? G::Q5_K : base;
    case F::Q5_K_M: return more ? G::Q6_K : base;
    case F::Q4_K_S: return !m.falcon && i < n / 8 ? G::Q5_K : base;
    // Only with an imatrix, so that a file made without one stays what it always was.
    case F::Q4_0: return has_imatrix && i < n / 8 ? G::Q4_1 : base;
    case F::Q5_0: return has_imatrix && i < n / 8 ? G::Q5_1 : base;
    default: return base;
  }
}

G attn_output_type(F f, G base, const PresetModelInfo &m) {
  if (m.falcon) return f == F::Q3_K_L ? G::Q4_K : base;
  if (m.n_expert == 8) {
    // Q3_K_L is not in llama.cpp's list: Mixtral's attn_output stays Q3_K under Q3_K_L.
    const bool raised = is_one_of(f, {F::Q2_K, F::IQ3_XS, F::IQ3_XXS, F::Q3_K_S, F::Q3_K_M, F::IQ4_NL, F::Q4_K_S,
                                      F::Q4_K_M, F::IQ3_S, F::IQ3_M, F::IQ4_XS});
    return raised ? G::Q5_K : base;
  }
  switch (f) {
    case F::Q2_K: return G::Q3_K;
    case F::IQ3_XXS: return G::IQ3_S;
    case F::Q3_K_M: return G::Q4_K;
    case F::Q3_K_L: return G::Q5_K;
    case F::IQ3_M: return G::Q4_K;
    default: return base;
  }
}

// ffn_gate and ffn_up: IQ3_XS saves bits in the middle three quarters of the layers.
G ffn_gate_up_type(F f, G base, const TensorClass &t, const PresetModelInfo &m) {
  if (f != F::IQ3_XS) return base;
  const int i = ffn_layer(t, m), n = m.n_layer;
  return i >= n / 8 && i < 7 * n / 8 ? G::IQ3_XXS : base;
}

// The layer of "blk.N." names, as llama.cpp's sscanf(name, "blk.%d.") reads it; -1 for others.
int layer_of(const std::string &name) {
  int layer = -1;
  if (std::sscanf(name.c_str(), "blk.%d.", &layer) != 1) return -1;
  return layer;
}

int counter_group(TensorCategory c) {
  if (is_attn_v_like(c)) return 0;
  switch (c) {
    case TensorCategory::FfnDown: return 1;
    case TensorCategory::FfnGate: return 2;
    case TensorCategory::FfnUp: return 3;
    default: return -1;
  }
}

// general.architecture values with a 70B model type (see PresetModelInfo::type_70b).
bool is_llm_type_70b(std::string_view gguf_arch, const ModelConfig &c) {
  if (gguf_arch == "llama")
    return c.num_experts != 8 && c.num_hidden_layers == 80 && c.num_attention_heads != c.num_key_value_heads;
  if (gguf_arch == "qwen2") return c.num_hidden_layers == 80;
  return false;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char &c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::span<const StockPreset> all_stock_presets() { return kPresets; }

const StockPreset *find_stock_preset(std::string_view name) {
  const std::string wanted = upper(name);
  for (const auto &p : kPresets)
    if (wanted == p.name) return &p;
  return nullptr;
}

TensorCategory stock_tensor_category(std::string_view name) {
  using C = TensorCategory;
  const auto has = [&](std::string_view part) { return name.find(part) != std::string_view::npos; };
  if (name == "output.weight") return C::Output;
  if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") return C::TokenEmbd;
  if (has("attn_qkv.weight")) return C::AttnQkv;
  if (has("attn_kv_b.weight")) return C::AttnKvB;
  if (has("attn_v.weight")) return C::AttnV;
  if (has("attn_k.weight")) return C::AttnK;
  if (has("attn_q.weight")) return C::AttnQ;
  if (has("attn_output.weight")) return C::AttnOutput;
  if (has("ffn_up")) return C::FfnUp;
  if (has("ffn_gate")) return C::FfnGate;
  if (has("ffn_down")) return C::FfnDown;
  return C::Other;
}

std::vector<TensorClass> classify_stock_tensors(std::span<const SourceTensor> tensors) {
  std::vector<TensorClass> classes;
  classes.reserve(tensors.size());
  for (const auto &t : tensors) {
    TensorClass c;
    c.name = t.name;
    c.category = stock_tensor_category(t.name);
    c.quantizable = tensor_allows_quantization(t.name, t.shape);
    c.layer = layer_of(t.name);
    c.row_length = t.row_length();
    c.is_expert = t.shape.size() >= 3 && t.shape[2] > 1;
    classes.push_back(std::move(c));
  }
  // llama-quantize's order is its weights_map's: by layer number (-1 first), then by name.
  std::vector<size_t> order(classes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (classes[a].layer != classes[b].layer) return classes[a].layer < classes[b].layer;
    return classes[a].name < classes[b].name;
  });
  // Only quantized tensors move llama.cpp's counters: an unquantized ffn_gate_inp is never counted.
  int seen[4] = {0, 0, 0, 0};
  for (size_t index : order) {
    TensorClass &c = classes[index];
    const int group = counter_group(c.category);
    if (group >= 0 && c.quantizable) c.ordinal = seen[group]++;
  }
  return classes;
}

StockPresetModel classify_for_stock_presets(const ModelSource &model) {
  StockPresetModel out;
  out.tensors = classify_stock_tensors(model.tensors());
  const ModelConfig &config = model.config();
  const std::string_view arch = model.architecture().gguf_arch;
  PresetModelInfo &info = out.info;
  info.n_layer = static_cast<int>(config.num_hidden_layers);
  info.n_gqa = config.num_key_value_heads > 0
                   ? static_cast<int>(config.num_attention_heads / config.num_key_value_heads)
                   : 0;
  info.n_expert = static_cast<int>(config.num_experts);
  info.falcon = arch == "falcon";
  info.type_70b = is_llm_type_70b(arch, config);
  info.tied_embeddings = true;  // until output.weight shows up, as in llama.cpp
  for (const auto &c : out.tensors) {
    // Counted over every tensor, quantized or not, as llama.cpp's n_attention_wv is.
    if (is_attn_v_like(c.category)) ++info.n_attention_v;
    if (c.category == TensorCategory::Output) info.tied_embeddings = false;
  }
  return out;
}

GgmlType stock_preset_tensor_type(const StockPreset &preset, const TensorClass &t, const PresetModelInfo &m,
                                  bool has_imatrix) {
  using C = TensorCategory;
  if (!t.quantizable) return G::F32;
  const F f = preset.ftype;
  const G base = preset.default_type;
  if (t.category == C::Output || (m.tied_embeddings && t.category == C::TokenEmbd)) return output_type(f, base, t, m);
  if (f == F::MXFP4_MOE) return t.is_expert ? G::MXFP4 : G::Q8_0;
  if (t.category == C::TokenEmbd) return token_embd_type(f, base);
  if (is_iq1_iq2_mix(f)) return iq1_iq2_mix_type(f, base, t, m);
  switch (t.category) {
    case C::AttnV:
    case C::AttnQkv:
    case C::AttnKvB: return attn_v_type(f, base, t, m, has_imatrix);
    case C::AttnK: return attn_k_type(f, base, m);
    case C::AttnQ: return attn_q_type(f, base);
    case C::FfnDown: return ffn_down_type(f, base, t, m, has_imatrix);
    case C::AttnOutput: return attn_output_type(f, base, m);
    case C::FfnGate:
    case C::FfnUp: return ffn_gate_up_type(f, base, t, m);
    default: return base;
  }
}

QuantPlan stock_preset_plan(const ModelSource &model, const StockPreset &preset, bool has_imatrix) {
  const StockPresetModel classified = classify_for_stock_presets(model);
  QuantPlan plan;
  for (size_t k = 0; k < model.tensors().size(); ++k) {
    const SourceTensor &t = model.tensors()[k];
    const TensorClass &c = classified.tensors[k];
    const GgmlType wanted = stock_preset_tensor_type(preset, c, classified.info, has_imatrix);
    if (!c.quantizable) {
      plan.tensors.push_back({t.name, wanted, wanted, false});
      continue;
    }
    const TypeChoice choice = fallback_type(wanted, t.row_length());
    // llama.cpp's tensor_type_fallback knows substitutes for 256-value blocks only; for anything
    // else it throws, and llama-quantize writes no file.
    if (choice.fell_back && quant_type(wanted).block_size < 256)
      fail("llama-quantize ", preset.name, " refuses ", model.path().string(), ": tensor '", t.name, "' would be ",
           quant_type(wanted).name, ", whose blocks of ", quant_type(wanted).block_size, " do not divide its rows of ",
           t.row_length(), " values, and llama.cpp has no fallback for it");
    plan.tensors.push_back({t.name, wanted, choice.type, choice.fell_back});
  }
  return plan;
}

bool stock_tensor_requires_imatrix(const StockPreset &preset, TensorCategory category, GgmlType type) {
  if (category == TensorCategory::TokenEmbd || category == TensorCategory::Output) return false;
  switch (type) {
    case G::IQ3_XXS:
    case G::IQ2_XXS:
    case G::IQ2_XS:
    case G::IQ2_S:
    case G::IQ1_M:
    case G::IQ1_S: return true;
    // k-quants never need one, except Q2_K in a Q2_K_S file.
    case G::Q2_K: return preset.ftype == F::Q2_K_S;
    default: return false;
  }
}

bool stock_plan_requires_imatrix(const StockPreset &preset, const QuantPlan &plan) {
  for (const auto &t : plan.tensors)
    if (stock_tensor_requires_imatrix(preset, stock_tensor_category(t.name), t.type)) return true;
  return false;
}

}  // namespace qs
