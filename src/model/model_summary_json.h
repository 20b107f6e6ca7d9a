// A model as JSON: its configuration and its tensor table, the one shape `quantscope inspect
// --json` prints and the server's /api/models/inspect answers.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "model/model_source.h"

namespace qs {

// The configuration fields of config.json (or the GGUF's metadata), MoE fields only for MoE models.
nlohmann::json model_config_json(const ModelSource &model);

// {path, format: gguf|safetensors, architecture, config, params, bytes,
//  tensors: [{name, hf_names, shape, dtype, params, bytes, quantizable, allowed_types}]}
nlohmann::json model_summary_json(const ModelSource &model, const std::string &path);

}  // namespace qs
