// The size of the GGUF a plan writes, known before any tensor is quantized: what a size budget
// (`quantscope strategy --size`) is checked against.
#pragma once

#include <cstdint>
#include <vector>

#include "convert/quant_plan.h"
#include "formats/gguf.h"
#include "model/model_source.h"

namespace qs {

// Exactly the bytes export_gguf writes for this plan and metadata.
uint64_t planned_gguf_bytes(const ModelSource &model, const QuantPlan &plan, const std::vector<gguf::KeyValue> &metadata);

// The bytes of the file no per-tensor choice changes: header, metadata (tokenizer included) and
// every tensor llama.cpp does not quantize, each padded to the alignment. A file's size is this plus
// each quantizable tensor's gguf::padded_bytes. Counted with
// general.file_type present (written when the dominant type has a llama.cpp file type), the larger
// of the two headers, so a budget met here is met by the file whatever type dominates.
uint64_t fixed_gguf_bytes(const ModelSource &model);

}  // namespace qs
