// Llama 3.1 ("llama3") rope scaling in GGUF: llama.cpp has no hparam for it; instead
// convert_hf_to_gguf.py writes a rope_freqs.weight tensor of per-frequency divisors that
// llama.cpp's rope applies (ggml_rope_ext's freq_factors).
#pragma once

#include <vector>

#include "formats/hf_config.h"

namespace qs {

inline constexpr const char *kRopeFreqsTensorName = "rope_freqs.weight";

// The head_dim / 2 factors of rope_freqs.weight (ggml shape {head_dim / 2}, F32), computed as
// LlamaModel.generate_extra_tensors does, in float32 like its torch code: for each frequency
// f_i = 1 / theta^(2i / head_dim), wavelength w = 2*pi / f_i, and with L = old context length,
//   w < L / high_freq_factor  -> 1
//   w > L / low_freq_factor   -> factor
//   otherwise                 -> 1 / ((1 - s) / factor + s),  s = (L / w - low) / (high - low).
// L is the TOP-LEVEL original_max_position_embeddings, else 8192 — convert_hf_to_gguf.py does not
// read the value inside the rope dict (Meta's checkpoints have 8192 there, so they agree).
// Throws qs::Error unless the config's rope scaling is llama3.
std::vector<float> llama3_rope_freqs(const ModelConfig &config);

}  // namespace qs
