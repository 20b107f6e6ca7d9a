// The GGUF tensors a Hugging Face checkpoint becomes, decided and checked before any data is
// read: each GGUF tensor with its ggml shape and where its values come from (one HF tensor; the
// per-expert HF tensors stacked; a half of a fused gate_up; or, for rope_freqs, the config).
// Every HF tensor must map (or be a buffer convert_hf_to_gguf.py drops), every expert slot must
// be filled once, every tensor llama.cpp's loader requires must be there, and every shape must
// be the one the loader will ask for.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "formats/hf_config.h"
#include "formats/safetensors.h"
#include "model/architectures.h"

namespace qs {

enum class FusedPart {
  None,  // the source is an ordinary tensor (or one expert of a stack)
  Gate,  // first half of a fused gate_up_proj
  Up,    // second half of a fused gate_up_proj
  Down,  // a fused down_proj (all experts in one tensor)
};

struct TensorSource {
  const SafetensorsTensor *tensor = nullptr;  // points into the SafetensorsModel planned from
  int expert = -1;                            // slot in the stacked GGUF tensor; -1: the whole tensor
  FusedPart fused = FusedPart::None;
};

struct GgufTensorPlan {
  std::string name;                 // "blk.0.attn_q.weight"
  std::vector<int64_t> ggml_shape;  // ggml order: {row length, rows[, experts]}
  int layer = -1;
  RowPermutation permutation = RowPermutation::None;
  int64_t permutation_heads = 0;    // the head count permute_qk_rows gets
  std::vector<TensorSource> sources;  // empty: computed from the config (rope_freqs)

  int64_t n_elements() const;
  std::vector<std::string> hf_names() const;  // sources' names, in slot order
};

struct ModelPlan {
  const Architecture *architecture = nullptr;
  std::vector<GgufTensorPlan> tensors;  // rope_freqs, token_embd, blocks in order, then the rest
  std::vector<std::string> ignored;     // HF buffers left out (rotary_emb.inv_freq, ...)
  const GgufTensorPlan *find(std::string_view gguf_name) const;
};

// Plans the conversion; throws qs::Error naming the tensor (and file) for any mismatch.
// The plan points into `model`, which must outlive it.
ModelPlan plan_gguf_tensors(const ModelConfig &config, const SafetensorsModel &model);

// The expected ggml shape of a GGUF tensor of this config, as llama.cpp's loader asks for it;
// empty when the name is not one the architectures here use.
std::vector<int64_t> expected_ggml_shape(const ModelConfig &config, std::string_view gguf_name);

// Writes the tensor's n_elements() values in GGUF order (q/k rows permuted, experts stacked,
// fused tensors split) as floats.
void read_planned_tensor(const GgufTensorPlan &plan, const ModelConfig &config, float *out);

// Rows [first_row, first_row + n_rows) of the same values (a row is ggml_shape[0] values; stacked
// experts count their rows one after the other), reading only those rows' bytes. Fused HF tensors
// and computed ones have no such path (planned_rows_readable is false): read them whole.
bool planned_rows_readable(const GgufTensorPlan &plan);
void read_planned_rows(const GgufTensorPlan &plan, int64_t first_row, int64_t n_rows, float *out);

}  // namespace qs
