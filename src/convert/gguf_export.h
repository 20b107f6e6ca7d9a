// Writes a model as a GGUF file llama.cpp loads: metadata (architecture hparams, tokenizer,
// general.*), then every tensor converted or quantized to its planned type, one at a time, so
// memory holds one tensor, never the model.
#pragma once

#include <filesystem>
#include <vector>

#include "convert/quant_plan.h"
#include "core/progress.h"
#include "formats/gguf.h"
#include "formats/imatrix.h"
#include "model/model_source.h"

namespace qs {

struct ExportOptions {
  std::vector<gguf::KeyValue> metadata;
  const Imatrix *imatrix = nullptr;  // importance weights for quantized tensors, when given
  int n_threads = 0;
  ProgressSink *progress = nullptr;
};

struct ExportReport {
  uint64_t bytes = 0;  // tensor data bytes
  int64_t params = 0;
  int n_fallbacks = 0;
};

ExportReport export_gguf(const ModelSource &model, const QuantPlan &plan, const ExportOptions &options,
                         const std::filesystem::path &out_path);

}  // namespace qs
