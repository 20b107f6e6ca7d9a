// ModelSource over a GGUF file (any tensor type; quantized tensors are dequantized on read).
#pragma once

#include <filesystem>
#include <memory>

#include "formats/gguf.h"
#include "formats/hf_config.h"
#include "model/model_source.h"

namespace qs {

std::unique_ptr<ModelSource> open_gguf_source(const std::filesystem::path &path);

// The ModelConfig a GGUF's metadata describes (the inverse of gguf_hparams): what the forward
// pass needs. llama3 rope scaling is not in the metadata; it travels as rope_freqs.weight.
ModelConfig config_from_gguf(const gguf::GgufFile &file, const Architecture &arch);
// The architecture row of a GGUF's general.architecture (llama with experts is mixtral).
const Architecture &architecture_of_gguf(const gguf::GgufFile &file);

}  // namespace qs
