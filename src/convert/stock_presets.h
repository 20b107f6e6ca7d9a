// llama-quantize's stock presets (Q4_K_M, IQ2_XS, ...): the type llama.cpp gives each tensor of a
// model under each preset, so our strategies can be compared with the files people download.
// Transcribed from llama.cpp's src/llama-quant.cpp (llama_tensor_get_type_impl and its callers, in
// the version with tensor_get_category and tensor_requires_imatrix) and tools/quantize/quantize.cpp.
// llama.cpp walks the tensors bumping counters (++qs.i_attention_wv); here each tensor is classified
// once, up front, and a pure function of that classification and a few model facts picks the type.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "convert/quant_plan.h"
#include "model/model_source.h"
#include "quant/types.h"

namespace qs {

// llama.h's llama_ftype values: what general.file_type says of a file made with the preset.
enum class LlamaFtype : uint32_t {
  Q4_0 = 2,
  Q4_1 = 3,
  Q8_0 = 7,
  Q5_0 = 8,
  Q5_1 = 9,
  Q2_K = 10,
  Q3_K_S = 11,
  Q3_K_M = 12,
  Q3_K_L = 13,
  Q4_K_S = 14,
  Q4_K_M = 15,
  Q5_K_S = 16,
  Q5_K_M = 17,
  Q6_K = 18,
  IQ2_XXS = 19,
  IQ2_XS = 20,
  Q2_K_S = 21,
  IQ3_XS = 22,
  IQ3_XXS = 23,
  IQ1_S = 24,
  IQ4_NL = 25,
  IQ3_S = 26,
  IQ3_M = 27,
  IQ2_S = 28,
  IQ2_M = 29,
  IQ4_XS = 30,
  IQ1_M = 31,
  MXFP4_MOE = 38,
};

struct StockPreset {
  const char *name;       // as llama-quantize spells it: "Q4_K_M"
  LlamaFtype ftype;
  GgmlType default_type;  // what a tensor gets when no rule of the mix speaks of it
  // llama-quantize refuses the preset without an imatrix: some tensor other than token_embd/output
  // gets IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S or IQ3_XXS (or Q2_K in a Q2_K_S file). Exactly so for
  // models whose rows are multiples of 256; see stock_plan_requires_imatrix for any model.
  bool needs_imatrix;
  const char *description;  // llama-quantize's help line
};

// One row per preset, in llama-quantize's listing order. Left out: the float and copy "presets",
// the ternary TQ1_0/TQ2_0 (for ternary-trained models only) and the aliases Q3_K/Q4_K/Q5_K.
std::span<const StockPreset> all_stock_presets();
// By name, case-insensitive ("q4_k_m"); nullptr if unknown.
const StockPreset *find_stock_preset(std::string_view name);

// llama.cpp's broad tensor categories (tensor_get_category), matched on the GGUF name.
enum class TensorCategory {
  TokenEmbd,  // token_embd.weight, per_layer_token_embd.weight
  Output,     // output.weight
  AttnQ,
  AttnK,
  AttnV,
  AttnQkv,    // fused q/k/v; ruled like attn_v
  AttnKvB,    // MLA's kv_b; ruled like attn_v
  AttnOutput,
  FfnUp,      // names containing ffn_up (ffn_up_exps, ffn_up_shexp too)
  FfnGate,    // names containing ffn_gate (also ffn_gate_inp, which is never quantized)
  FfnDown,    // names containing ffn_down
  Other,
};
TensorCategory stock_tensor_category(std::string_view gguf_name);

// What the preset rules need to know of one tensor, computed once for the whole model.
struct TensorClass {
  std::string name;
  TensorCategory category = TensorCategory::Other;
  bool quantizable = false;  // tensor_allows_quantization; the rest stays F32
  int layer = -1;            // N of "blk.N."; -1 outside the blocks
  // Position among the model's quantizable tensors of its counter group (attn_v/qkv/kv_b together,
  // ffn_down, ffn_gate, ffn_up), in the order llama-quantize visits them: by layer number, then by
  // name. This is the value llama.cpp's counters (i_attention_wv, i_ffn_down, ...) have when it
  // reaches the tensor; for a model with one such tensor per layer it is the layer.
  int ordinal = 0;
  int64_t row_length = 0;
  bool is_expert = false;  // stacked experts, ggml shape[2] > 1
};

// The model facts the rules read.
struct PresetModelInfo {
  int n_layer = 0;          // block count: the n of use_more_bits for the ffn tensors
  int n_attention_v = 0;    // tensors in the attn_v/qkv/kv_b group: the n of use_more_bits for them
  int n_gqa = 1;            // n_head / n_head_kv, integer division (llama_hparams::n_gqa)
  int n_expert = 0;
  bool tied_embeddings = false;  // no output.weight: token_embd is the output matrix as well
  bool falcon = false;           // LLM_ARCH_FALCON has rules of its own (none of our architectures)
  // llama.cpp's model type LLM_TYPE_70B, which raises attn_v: "llama" with 80 layers, n_head !=
  // n_head_kv and not 8 experts; "qwen2" with 80 layers (src/models/{llama,qwen2}.cpp). Our other
  // architectures never have it.
  bool type_70b = false;
};

struct StockPresetModel {
  PresetModelInfo info;
  std::vector<TensorClass> tensors;  // in the model's tensor order
};

// Classes for a list of tensors (categories, layers, ordinals).
std::vector<TensorClass> classify_stock_tensors(std::span<const SourceTensor> tensors);
// Classes and model facts for a model.
StockPresetModel classify_for_stock_presets(const ModelSource &model);

// The type llama-quantize picks for the tensor before its row-length fallback (F32 for tensors it
// does not quantize). has_imatrix: whether an importance matrix is given; a few rules depend on it.
// Throws qs::Error when a MoE model's ffn tensor has no layer in [0, n_layer), as llama.cpp does.
GgmlType stock_preset_tensor_type(const StockPreset &preset, const TensorClass &tensor, const PresetModelInfo &model,
                                  bool has_imatrix);

// The preset's plan for the model: stock_preset_tensor_type, then llama.cpp's row-length fallback,
// recorded in PlannedTensor::requested / fell_back as uniform_plan does. Throws qs::Error, naming the
// tensor, where llama-quantize gives up: a row that does not fit a type of 32-value blocks (llama.cpp
// has fallbacks for 256-value blocks only).
QuantPlan stock_preset_plan(const ModelSource &model, const StockPreset &preset, bool has_imatrix);

// llama-quantize's tensor_requires_imatrix: whether it refuses to write this tensor as `type`
// (after fallback) without an importance matrix.
bool stock_tensor_requires_imatrix(const StockPreset &preset, TensorCategory category, GgmlType type);
// Whether llama-quantize refuses the plan without an importance matrix.
bool stock_plan_requires_imatrix(const StockPreset &preset, const QuantPlan &plan);

}  // namespace qs
