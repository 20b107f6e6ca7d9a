// ModelSource over a Hugging Face directory: config.json + safetensors (sharded or not).
#pragma once

#include <filesystem>
#include <memory>

#include "model/model_source.h"

namespace qs {

std::unique_ptr<ModelSource> open_safetensors_source(const std::filesystem::path &dir);

}  // namespace qs
