// rope_freqs.weight for llama3 rope scaling. Every step is float32 as in convert_hf_to_gguf.py's
// torch code (a Python float meeting a float32 tensor is rounded to float32 first).
#include "model/llama3_rope.h"

#include <cmath>
#include <numbers>

#include "core/error.h"

namespace qs {

std::vector<float> llama3_rope_freqs(const ModelConfig &config) {
  const RopeScaling &rope = config.rope_scaling;
  if (rope.type != RopeScalingType::Llama3)
    fail(config.source, ": rope_freqs are only defined for llama3 rope scaling, not \"", rope.type_name, "\"");
  const int64_t dim = config.head_dim;
  const double old_context_len = static_cast<double>(config.original_max_position_embeddings.value_or(8192));
  const double low_freq_wavelen = old_context_len / rope.low_freq_factor;
  const double high_freq_wavelen = old_context_len / rope.high_freq_factor;

  const float base = static_cast<float>(config.rope_theta);
  const float two_pi = static_cast<float>(2.0 * std::numbers::pi);
  const float factor = static_cast<float>(rope.factor);
  const float low = static_cast<float>(rope.low_freq_factor);
  const float span = static_cast<float>(rope.high_freq_factor - rope.low_freq_factor);

  std::vector<float> factors;
  factors.reserve(static_cast<size_t>(dim / 2));
  for (int64_t i = 0; i < dim; i += 2) {
    const float freq = 1.0f / std::pow(base, static_cast<float>(i) / static_cast<float>(dim));
    const float wavelen = two_pi / freq;
    if (wavelen < static_cast<float>(high_freq_wavelen)) {
      factors.push_back(1.0f);
    } else if (wavelen > static_cast<float>(low_freq_wavelen)) {
      factors.push_back(factor);
    } else {
      const float smooth = (static_cast<float>(old_context_len) / wavelen - low) / span;
      factors.push_back(1.0f / ((1.0f - smooth) / factor + smooth));
    }
  }
  return factors;
}

}  // namespace qs
