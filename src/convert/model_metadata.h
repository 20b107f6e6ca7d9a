// The metadata a GGUF of a model carries besides its tensors: general.*, the architecture's
// hyperparameters and the tokenizer.
#pragma once

#include <vector>

#include "convert/gguf_export.h"
#include "model/model_source.h"

namespace qs {

// For an HF source: general.*, the hparams (gguf_hparams) and the tokenizer (when the directory
// has one). For a GGUF source: its own metadata. general.file_type is written when
// `dominant_type` has a llama.cpp file type of its own (else llama.cpp guesses it from the tensors).
std::vector<gguf::KeyValue> gguf_model_metadata(const ModelSource &model, GgmlType dominant_type);

}  // namespace qs
