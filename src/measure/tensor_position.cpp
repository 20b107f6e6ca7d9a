// Where a weight acts in the forward pass, from its GGUF name.
#include "measure/tensor_position.h"

#include <cctype>

#include "core/error.h"

namespace qs {

int tensor_first_layer(const std::string &gguf_name, int n_layer) {
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
  fail("tensor ", gguf_name, " is not a weight the forward pass multiplies by");
}

bool tensor_in_ffn_block(const std::string &gguf_name) {
  return gguf_name.rfind("blk.", 0) == 0 && gguf_name.find(".ffn_") != std::string::npos;
}

}  // namespace qs
