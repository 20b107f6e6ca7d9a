// Streaming GGUF export. The writer fixes every offset up front, then each tensor is read as
// f32, checked for NaN/Inf, quantized (per expert for stacked tensors, with that expert's
// importance) and written before the next is read.
#include "convert/gguf_export.h"

#include <algorithm>

#include "core/error.h"
#include "quant/quantize_tensor.h"

namespace qs {

GgufExport::GgufExport(const ModelSource &model, const QuantPlan &plan, const ExportOptions &options,
                       const std::filesystem::path &out_path)
    : model_(model),
      plan_(plan),
      imatrix_(options.imatrix),
      n_threads_(options.n_threads),
      block_elements_(std::max<int64_t>(1, options.block_elements)),
      writer_(out_path) {
  for (const auto &kv : options.metadata) writer_.set(kv.key, kv.value);
  for (const auto &t : model.tensors()) {
    const PlannedTensor *p = plan.find(t.name);
    if (!p) fail("quantization plan has no entry for tensor '", t.name, "'");
    writer_.add_tensor(t.name, t.shape, p->type);
  }
}

void GgufExport::write_tensor(const SourceTensor &t) {
  const PlannedTensor &p = *plan_.find(t.name);
  const QuantType &type = quant_type(p.type);
  const int64_t n_cols = t.row_length();
  const int64_t rows_per_matrix = t.shape.size() >= 2 ? t.shape[1] : 1;
  const int64_t n_matrices = t.n_elements() / (n_cols * rows_per_matrix);
  // Rows are quantized independently, so blocks of rows give the bytes of the whole tensor.
  const bool by_rows = model_.reads_rows(t);
  const int64_t block_rows = by_rows ? std::clamp<int64_t>(block_elements_ / n_cols, 1, rows_per_matrix) : rows_per_matrix;
  if (!by_rows) {
    values_.resize(static_cast<size_t>(t.n_elements()));
    model_.read_f32(t, values_.data());
    model_.release_pages();
    check_finite(t.name, values_.data(), t.n_elements());
  }
  // Matrices are quantized one 2-D slice at a time: experts each get their own importance.
  for (int64_t m = 0; m < n_matrices; ++m) {
    std::vector<float> importance;
    if (imatrix_ && type.is_quantized()) {
      if (imatrix_->find(t.name)) {
        importance = imatrix_->importance(t.name, n_cols, m);
      } else if (type.needs_imatrix) {
        fail("the imatrix has no entry for '", t.name, "', which ", type.name, " needs");
      }
    }
    for (int64_t row = 0; row < rows_per_matrix; row += block_rows) {
      const int64_t n_rows = std::min(block_rows, rows_per_matrix - row);
      const int64_t first_row = m * rows_per_matrix + row;
      const float *block = nullptr;
      if (by_rows) {
        values_.resize(static_cast<size_t>(n_rows * n_cols));
        model_.read_f32_rows(t, first_row, n_rows, values_.data());
        model_.release_pages();
        check_finite(t.name, values_.data(), n_rows * n_cols);
        block = values_.data();
      } else {
        block = values_.data() + first_row * n_cols;
      }
      bytes_.resize(static_cast<size_t>(n_rows) * type.row_bytes(n_cols));
      quantize_rows(type, block, bytes_.data(), n_rows, n_cols, importance.empty() ? nullptr : importance.data(),
                    n_threads_);
      writer_.write_tensor_part(t.name, bytes_);
    }
  }
}

void GgufExport::finish() { writer_.finish(); }

ExportReport GgufExport::report() const {
  ExportReport report;
  for (const auto &t : writer_.tensors()) report.bytes += t.n_bytes;
  for (const auto &t : model_.tensors()) report.params += t.n_elements();
  report.n_fallbacks = plan_.n_fallbacks();
  return report;
}

ExportReport export_gguf(const ModelSource &model, const QuantPlan &plan, const ExportOptions &options,
                         const std::filesystem::path &out_path) {
  GgufExport out(model, plan, options, out_path);
  NullProgress no_progress;
  ProgressSink &progress = options.progress ? *options.progress : no_progress;
  progress.begin("quantize", static_cast<int64_t>(model.tensors().size()));
  int64_t done = 0;
  for (const auto &t : model.tensors()) {
    out.write_tensor(t);
    progress.advance(++done);
  }
  out.finish();
  progress.end();
  return out.report();
}

}  // namespace qs
