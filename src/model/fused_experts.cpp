// Splitting / transposing transformers 5.x fused expert tensors into llama.cpp's stacked layout.
#include "model/fused_experts.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "model/architectures.h"

namespace qs {
namespace {

struct ExpertDims {
  int64_t experts;
  int64_t hidden;
  int64_t ff;
};

ExpertDims dims_of(const ModelConfig &config) {
  return {config.num_experts, config.hidden_size, expert_feed_forward_length(config)};
}

std::string shape_text(std::span<const int64_t> shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

bool shape_is(std::span<const int64_t> shape, int64_t a, int64_t b, int64_t c) {
  return shape.size() == 3 && shape[0] == a && shape[1] == b && shape[2] == c;
}

}  // namespace

FusedExpertLayout fused_gate_up_layout(std::span<const int64_t> hf_shape, const ModelConfig &config,
                                       const std::string &tensor_name) {
  const ExpertDims d = dims_of(config);
  if (shape_is(hf_shape, d.experts, 2 * d.ff, d.hidden)) return FusedExpertLayout::Standard;
  if (shape_is(hf_shape, d.experts, d.hidden, 2 * d.ff)) return FusedExpertLayout::Transposed;
  fail(tensor_name, ": fused gate_up_proj has shape ", shape_text(hf_shape), "; expected [", d.experts, ", ", 2 * d.ff,
       ", ", d.hidden, "] (or transposed [", d.experts, ", ", d.hidden, ", ", 2 * d.ff, "]) from ", config.source);
}

FusedExpertLayout fused_down_layout(std::span<const int64_t> hf_shape, const ModelConfig &config,
                                    const std::string &tensor_name) {
  const ExpertDims d = dims_of(config);
  if (shape_is(hf_shape, d.experts, d.hidden, d.ff)) return FusedExpertLayout::Standard;
  if (shape_is(hf_shape, d.experts, d.ff, d.hidden)) return FusedExpertLayout::Transposed;
  fail(tensor_name, ": fused down_proj has shape ", shape_text(hf_shape), "; expected [", d.experts, ", ", d.hidden,
       ", ", d.ff, "] (or transposed [", d.experts, ", ", d.ff, ", ", d.hidden, "]) from ", config.source);
}

void split_fused_gate_up(const float *in, std::span<const int64_t> hf_shape, const ModelConfig &config,
                         const std::string &tensor_name, float *gate_out, float *up_out) {
  const FusedExpertLayout layout = fused_gate_up_layout(hf_shape, config, tensor_name);
  const ExpertDims d = dims_of(config);
  const size_t half = static_cast<size_t>(d.ff * d.hidden);  // one expert's gate (or up) matrix
  for (int64_t e = 0; e < d.experts; ++e) {
    const float *expert = in + static_cast<size_t>(e) * 2 * half;
    float *gate = gate_out + static_cast<size_t>(e) * half;
    float *up = up_out + static_cast<size_t>(e) * half;
    if (layout == FusedExpertLayout::Standard) {
      // Rows 0..I-1 are gate, rows I..2I-1 are up: two contiguous blocks.
      std::memcpy(gate, expert, half * sizeof(float));
      std::memcpy(up, expert + half, half * sizeof(float));
    } else {
      // expert[h][c] for c < 2I: gate is columns 0..I-1, up is columns I..2I-1; transpose each.
      for (int64_t h = 0; h < d.hidden; ++h) {
        const float *row = expert + h * 2 * d.ff;
        for (int64_t i = 0; i < d.ff; ++i) {
          gate[i * d.hidden + h] = row[i];
          up[i * d.hidden + h] = row[d.ff + i];
        }
      }
    }
  }
}

void fused_down_to_stacked(const float *in, std::span<const int64_t> hf_shape, const ModelConfig &config,
                           const std::string &tensor_name, float *out) {
  const FusedExpertLayout layout = fused_down_layout(hf_shape, config, tensor_name);
  const ExpertDims d = dims_of(config);
  const size_t matrix = static_cast<size_t>(d.hidden * d.ff);
  if (layout == FusedExpertLayout::Standard) {
    std::memcpy(out, in, static_cast<size_t>(d.experts) * matrix * sizeof(float));
    return;
  }
  for (int64_t e = 0; e < d.experts; ++e) {
    const float *src = in + static_cast<size_t>(e) * matrix;  // [I, H]
    float *dst = out + static_cast<size_t>(e) * matrix;       // [H, I]
    for (int64_t i = 0; i < d.ff; ++i)
      for (int64_t h = 0; h < d.hidden; ++h) dst[h * d.ff + i] = src[i * d.hidden + h];
  }
}

}  // namespace qs
