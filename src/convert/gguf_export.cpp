// Streaming GGUF export. The writer fixes every offset up front, then each tensor is read as
// f32, checked for NaN/Inf, quantized (per expert for stacked tensors, with that expert's
// importance) and written before the next is read.
#include "convert/gguf_export.h"

#include <span>

#include "core/error.h"
#include "quant/quantize_tensor.h"

namespace qs {

ExportReport export_gguf(const ModelSource &model, const QuantPlan &plan, const ExportOptions &options,
                         const std::filesystem::path &out_path) {
  gguf::GgufWriter writer(out_path);
  for (const auto &kv : options.metadata) writer.set(kv.key, kv.value);
  for (const auto &t : model.tensors()) {
    const PlannedTensor *p = plan.find(t.name);
    if (!p) fail("quantization plan has no entry for tensor '", t.name, "'");
    writer.add_tensor(t.name, t.shape, p->type);
  }

  NullProgress no_progress;
  ProgressSink &progress = options.progress ? *options.progress : no_progress;
  progress.begin("quantize", static_cast<int64_t>(model.tensors().size()));
  ExportReport report;
  std::vector<float> values;
  std::vector<uint8_t> bytes;
  int64_t done = 0;
  for (const auto &t : model.tensors()) {
    const PlannedTensor &p = *plan.find(t.name);
    const QuantType &type = quant_type(p.type);
    values.resize(static_cast<size_t>(t.n_elements()));
    model.read_f32(t, values.data());
    check_finite(t.name, values.data(), t.n_elements());
    bytes.resize(static_cast<size_t>(gguf::tensor_bytes(p.type, t.shape)));
    // Matrices are quantized one 2-D slice at a time: experts each get their own importance.
    const int64_t n_cols = t.row_length();
    const int64_t rows_per_matrix = t.shape.size() >= 2 ? t.shape[1] : 1;
    const int64_t n_matrices = t.n_elements() / (n_cols * rows_per_matrix);
    const size_t matrix_bytes = static_cast<size_t>(rows_per_matrix) * type.row_bytes(n_cols);
    for (int64_t m = 0; m < n_matrices; ++m) {
      std::vector<float> importance;
      if (options.imatrix && type.is_quantized()) {
        if (options.imatrix->find(t.name)) {
          importance = options.imatrix->importance(t.name, n_cols, m);
        } else if (type.needs_imatrix) {
          fail("the imatrix has no entry for '", t.name, "', which ", type.name, " needs");
        }
      }
      quantize_rows(type, values.data() + m * rows_per_matrix * n_cols, bytes.data() + static_cast<size_t>(m) * matrix_bytes,
                    rows_per_matrix, n_cols, importance.empty() ? nullptr : importance.data(), options.n_threads);
    }
    writer.write_tensor_data(t.name, bytes);
    report.bytes += bytes.size();
    report.params += t.n_elements();
    progress.advance(++done);
  }
  writer.finish();
  progress.end();
  report.n_fallbacks = plan.n_fallbacks();
  return report;
}

}  // namespace qs
