// Writes a model as a GGUF file llama.cpp loads: metadata (architecture hparams, tokenizer,
// general.*), then every tensor converted or quantized to its planned type, one block of rows at a
// time, so memory holds a block (or, for the few tensors a source cannot read by rows, one tensor),
// never the model.
#pragma once

#include <filesystem>
#include <span>
#include <string>
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
  // Values read, quantized and written at once where the source reads by rows (32 MiB as f32):
  // memory follows this, not the largest tensor. The bytes written do not depend on it.
  int64_t block_elements = int64_t{1} << 23;
};

struct ExportReport {
  uint64_t bytes = 0;  // tensor data bytes
  int64_t params = 0;
  int n_fallbacks = 0;
};

// The export one tensor at a time, for callers that commit each tensor as a unit of a job
// (pipeline/quantize_job): the layout is fixed on construction, so a partial file left by a killed
// run can be recognised and continued.
class GgufExport {
 public:
  // `model`, `plan` and `options.imatrix` must outlive the export.
  GgufExport(const ModelSource &model, const QuantPlan &plan, const ExportOptions &options,
             const std::filesystem::path &out_path);

  // Reads, checks, quantizes and writes one tensor of the model (each exactly once).
  void write_tensor(const SourceTensor &tensor);
  void finish();  // every tensor written: the file moves to its final name

  // See gguf::GgufWriter: the partial file of a resumable run.
  bool resume_partial(std::span<const std::string> written) { return writer_.resume_partial(written); }
  void sync() { writer_.sync(); }
  void keep_partial_file() { writer_.keep_partial_file(); }
  const std::filesystem::path &partial_path() const { return writer_.partial_path(); }

  ExportReport report() const;  // the whole file's, whatever has been written so far

 private:
  const ModelSource &model_;
  const QuantPlan &plan_;
  const Imatrix *imatrix_;
  int n_threads_;
  int64_t block_elements_;
  gguf::GgufWriter writer_;
  std::vector<float> values_;  // reused: one tensor as f32
  std::vector<uint8_t> bytes_;  // reused: the same tensor quantized
};

ExportReport export_gguf(const ModelSource &model, const QuantPlan &plan, const ExportOptions &options,
                         const std::filesystem::path &out_path);

}  // namespace qs
