// transformers 5.x saves a MoE layer's experts fused (conversion_mapping.py merges the per-expert
// modules on load and save_pretrained writes the merged form):
//   mlp.experts.gate_up_proj  [E, 2*I, H]  each expert's gate rows (w1), then its up rows (w3)
//   mlp.experts.down_proj     [E, H, I]
// llama.cpp wants ffn_gate_exps / ffn_up_exps as [E, I, H] and ffn_down_exps as [E, H, I]
// (row-major, outermost first; ggml shapes {H, I, E} and {I, H, E}). These functions split and,
// for a checkpoint stored transposed ([E, H, 2*I] / [E, I, H], gate columns before up columns,
// as Llama 4 stores them), transpose into that layout.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "formats/hf_config.h"

namespace qs {

enum class FusedExpertLayout {
  Standard,    // gate_up [E, 2I, H], down [E, H, I]: transformers 5.x mixtral / qwen3_moe
  Transposed,  // gate_up [E, H, 2I], down [E, I, H]
};

// Which layout an HF fused tensor has, from its shape and the config (E = num_experts,
// H = hidden_size, I = expert_feed_forward_length). When both readings fit (H == 2I for gate_up,
// H == I for down) the standard one is taken, since that is what transformers writes. Any other
// shape throws qs::Error naming the tensor and the expected shapes.
FusedExpertLayout fused_gate_up_layout(std::span<const int64_t> hf_shape, const ModelConfig &config,
                                       const std::string &tensor_name);
FusedExpertLayout fused_down_layout(std::span<const int64_t> hf_shape, const ModelConfig &config,
                                    const std::string &tensor_name);

// Splits a fused gate_up tensor (hf_shape as in the file) into gate and up, each E*I*H floats
// in [E, I, H] order.
void split_fused_gate_up(const float *in, std::span<const int64_t> hf_shape, const ModelConfig &config,
                         const std::string &tensor_name, float *gate_out, float *up_out);
// Copies (or transposes) a fused down tensor into [E, H, I] order, E*H*I floats.
void fused_down_to_stacked(const float *in, std::span<const int64_t> hf_shape, const ModelConfig &config,
                           const std::string &tensor_name, float *out);

}  // namespace qs
