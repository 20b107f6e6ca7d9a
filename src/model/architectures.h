// The table of supported model architectures: for each, its Hugging Face class and model_type,
// the GGUF architecture llama.cpp loads it as, its rope style, the HF -> GGUF tensor-name
// patterns and the GGUF hparam keys. Names and keys follow llama.cpp's convert_hf_to_gguf.py,
// gguf-py (constants.py, tensor_mapping.py) and src/llama-arch.cpp. Adding an architecture is
// one row in architectures.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "formats/gguf.h"
#include "formats/hf_config.h"

namespace qs {

// How llama.cpp rotates q/k, and so whether conversion reorders q/k rows (see qk_permutation.h).
enum class RopeStyle {
  Normal,  // LLAMA_ROPE_TYPE_NORM, adjacent pairs: q_proj/k_proj rows are permuted on conversion
  NeoX,    // LLAMA_ROPE_TYPE_NEOX, halves like HF's rotate_half: rows are kept as they are
};

// Which q/k permutation a tensor needs: Query permutes with n_head, Key with n_head_kv.
enum class RowPermutation { None, Query, Key };

// What may follow a pattern's module path in an HF tensor name.
enum class TensorSuffix {
  Weight,          // ".weight" (norms, embeddings, routers)
  WeightOrBias,    // ".weight" or ".bias" (linear projections)
  BareParameter,   // nothing, or ".weight" (transformers 5.x fused expert parameters)
};

// One HF -> GGUF name rule. "{L}" stands for the layer index and "{E}" for the expert index
// (decimal digits in the HF name).
struct TensorNamePattern {
  const char *hf;    // module path, e.g. "model.layers.{L}.self_attn.q_proj"
  const char *gguf;  // e.g. "blk.{L}.attn_q"
  TensorSuffix suffix;
  RowPermutation permutation;   // applied only for RopeStyle::Normal architectures
  const char *gguf_up = nullptr;  // fused gate_up: the GGUF name of the up half (gguf is the gate half)
};

struct Architecture {
  const char *hf_class;    // architectures[0] in config.json
  const char *model_type;  // model_type in config.json
  const char *gguf_arch;   // general.architecture
  RopeStyle rope_style;
  bool moe;
  bool expert_feed_forward_length_key;  // writes {arch}.expert_feed_forward_length
  bool supports_llama3_rope;            // llama.cpp loads rope_freqs.weight for this architecture
  std::span<const TensorNamePattern> pattern_groups[4];
};

std::span<const Architecture> all_architectures();

// The row for config.json's architectures[0] (or, when that list is absent, its model_type).
// An unknown architecture, or a model_type that contradicts the class, throws qs::Error naming
// the config file, what it says, and the supported architectures. Never guesses.
const Architecture &architecture_for(const ModelConfig &config);

// The GGUF tensor an HF tensor becomes.
struct GgufTensorName {
  std::string name;                 // e.g. "blk.3.attn_q.weight"; for fused gate_up, the gate half
  int layer = -1;                   // block index; -1 outside the blocks
  std::optional<int> expert;        // a per-expert HF tensor: its slot in the stacked GGUF tensor
                                    // [n_expert, rows, cols] (ggml shape {cols, rows, n_expert})
  RowPermutation permutation = RowPermutation::None;
  std::string up_name;              // fused gate_up_proj (transformers 5.x): the up half's name
  bool is_fused_gate_up() const { return !up_name.empty(); }
};

// nullopt when no pattern of the architecture matches (the caller decides whether that is an
// error; see is_ignored_hf_tensor for names llama.cpp's converter drops on purpose).
std::optional<GgufTensorName> map_tensor_name(const Architecture &arch, std::string_view hf_name);
// Buffers some checkpoints carry that are not weights (rotary_emb.inv_freq, attention masks).
bool is_ignored_hf_tensor(std::string_view hf_name);

// The head count a permutation uses: n_head for Query, n_head_kv for Key, 0 for None.
int64_t permutation_head_count(const ModelConfig &config, RowPermutation permutation);
// Rows of one expert's gate/up matrix: moe_intermediate_size, or intermediate_size (mixtral).
int64_t expert_feed_forward_length(const ModelConfig &config);

// The GGUF metadata llama.cpp's loader reads for the model's hyperparameters (general.architecture
// and the {arch}.* keys; tokenizer keys and general.file_type are the writer's). Types are the
// ones llama.cpp insists on: UINT32 counts, FLOAT32 eps / freq_base / rope factors, STRING names.
// Throws qs::Error for what llama.cpp cannot represent: an unsupported rope scaling type, llama3
// rope on a non-llama architecture, a qwen3_moe whose layers are not all sparse.
std::vector<gguf::KeyValue> gguf_hparams(const ModelConfig &config);

// Ways the GGUF will still compute something different from transformers: a MoE with
// norm_topk_prob false (llama.cpp always renormalises the chosen experts' weights), a sliding
// attention window shorter than the context (llama.cpp attends to everything). Empty when none
// are known.
std::vector<std::string> conversion_warnings(const ModelConfig &config);

}  // namespace qs
