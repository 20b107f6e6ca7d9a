// The metadata a GGUF of a model carries besides its tensors: general.*, the architecture's
// hyperparameters and the tokenizer.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "convert/gguf_export.h"
#include "model/model_source.h"

namespace qs {

// For an HF source: general.*, the hparams (gguf_hparams) and the tokenizer (when the directory
// has one). For a GGUF source: its own metadata. general.file_type is written when
// `dominant_type` has a llama.cpp file type of its own (else llama.cpp guesses it from the tensors).
std::vector<gguf::KeyValue> gguf_model_metadata(const ModelSource &model, GgmlType dominant_type);
// The same with general.file_type given (a stock preset's llama_ftype), or left out (nullopt).
std::vector<gguf::KeyValue> gguf_model_metadata_with_file_type(const ModelSource &model, std::optional<uint32_t> file_type);

}  // namespace qs
