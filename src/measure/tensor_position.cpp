// Where a weight acts in the forward pass, from its GGUF name.
#include "measure/tensor_position.h"

#include <cctype>
#include <utility>

#include "core/error.h"

namespace qs {

std::optional<int> tensor_block(const std::string &gguf_name, int n_layer) {
  if (gguf_name == "token_embd.weight") return -1;
  if (gguf_name == "output.weight") return n_layer;
  if (gguf_name.rfind("blk.", 0) == 0) {
    size_t end = 4;
    while (end < gguf_name.size() && std::isdigit(static_cast<unsigned char>(gguf_name[end]))) ++end;
    if (end > 4 && end < gguf_name.size() && gguf_name[end] == '.') {
      const int layer = std::stoi(gguf_name.substr(4, end - 4));
      if (layer < n_layer) return layer;
    }
  }
  return std::nullopt;
}

int tensor_first_layer(const std::string &gguf_name, int n_layer) {
  if (const std::optional<int> block = tensor_block(gguf_name, n_layer)) return *block;
  fail("tensor ", gguf_name, " is not a weight the forward pass multiplies by");
}

LayerStage tensor_layer_stage(const std::string &gguf_name) {
  if (gguf_name.rfind("blk.", 0) != 0) return LayerStage::input;
  const size_t dot = gguf_name.find('.', 4);
  if (dot == std::string::npos) return LayerStage::input;
  const std::string role = gguf_name.substr(dot + 1);
  static const std::pair<const char *, LayerStage> kStages[] = {
      {"attn_q.weight", LayerStage::attn_q},      {"attn_k.weight", LayerStage::attn_k},
      {"attn_v.weight", LayerStage::attn_v},      {"attn_output.weight", LayerStage::attn_output},
      {"ffn_gate.weight", LayerStage::ffn_gate},  {"ffn_up.weight", LayerStage::ffn_up},
      {"ffn_down.weight", LayerStage::ffn_down},
  };
  for (const auto &[name, stage] : kStages)
    if (role == name) return stage;
  return role.rfind("ffn_", 0) == 0 ? LayerStage::ffn_input : LayerStage::input;
}

}  // namespace qs
