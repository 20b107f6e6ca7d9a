// Activation statistics for importance-weighted quantization.
#include "infer/imatrix_collect.h"

#include "core/error.h"
#include "core/progress.h"
#include "infer/compute_device.h"
#include "infer/text_input.h"
#include "model/model_source.h"

namespace qs {

ImatrixCollector::Sums &ImatrixCollector::sums_for(std::string_view weight_name, int64_t n_cols) {
  auto it = sums_.find(weight_name);
  if (it == sums_.end()) it = sums_.emplace(std::string(weight_name), Sums{}).first;
  Sums &s = it->second;
  if (s.n_cols == 0) s.n_cols = n_cols;
  if (s.n_cols != n_cols) fail("imatrix: '", weight_name, "' seen with ", n_cols, " and ", s.n_cols, " columns");
  return s;
}

void ImatrixCollector::matmul_input(std::string_view weight_name, int expert, const float *x, int64_t n_rows,
                                    int64_t n_cols) {
  if (!include_output_ && weight_name == "output.weight") return;
  std::lock_guard<std::mutex> lock(mutex_);
  Sums &s = sums_for(weight_name, n_cols);
  std::vector<double> &squares = s.squares[expert];
  squares.resize(static_cast<size_t>(n_cols), 0.0);
  for (int64_t r = 0; r < n_rows; ++r) {
    const float *row = x + r * n_cols;
    for (int64_t c = 0; c < n_cols; ++c) squares[static_cast<size_t>(c)] += static_cast<double>(row[c]) * row[c];
  }
  s.counts[expert] += n_rows;
}

void ImatrixCollector::add_squares(std::string_view weight_name, int expert, std::span<const double> squares,
                                   int64_t n_rows) {
  if (!include_output_ && weight_name == "output.weight") return;
  std::lock_guard<std::mutex> lock(mutex_);
  Sums &s = sums_for(weight_name, static_cast<int64_t>(squares.size()));
  std::vector<double> &sums = s.squares[expert];
  sums.resize(squares.size(), 0.0);
  for (size_t c = 0; c < squares.size(); ++c) sums[c] += squares[c];
  s.counts[expert] += n_rows;
}

Imatrix ImatrixCollector::result(int64_t n_experts) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Imatrix imatrix;
  for (const auto &[name, s] : sums_) {
    const bool stacked = !s.squares.count(-1);
    const int64_t n_mat = stacked ? n_experts : 1;
    ImatrixEntry entry;
    entry.n_cols = s.n_cols;
    entry.n_mat = n_mat;
    entry.sums.assign(static_cast<size_t>(n_mat * s.n_cols), 0.0f);
    entry.counts.assign(static_cast<size_t>(n_mat), 0.0f);
    for (const auto &[expert, squares] : s.squares) {
      const int64_t m = stacked ? expert : 0;
      if (m < 0 || m >= n_mat) fail("imatrix: '", name, "' has expert ", expert, " of ", n_mat);
      for (int64_t c = 0; c < s.n_cols; ++c) {
        entry.sums[static_cast<size_t>(m * s.n_cols + c)] = static_cast<float>(squares[static_cast<size_t>(c)]);
      }
      entry.counts[static_cast<size_t>(m)] = static_cast<float>(s.counts.at(expert));
    }
    imatrix.entries.emplace(name, std::move(entry));
  }
  return imatrix;
}

Imatrix collect_imatrix(LogitsPass &model, std::span<const int32_t> tokens, const ImatrixOptions &options,
                        ProgressSink *progress) {
  const int64_t n_ctx = options.n_ctx;
  if (n_ctx < 2) fail("imatrix: context of ", n_ctx, " tokens is too small");
  int64_t n_chunks = static_cast<int64_t>(tokens.size()) / n_ctx;
  if (options.max_chunks >= 0) n_chunks = std::min(n_chunks, options.max_chunks);
  if (n_chunks == 0) fail("imatrix: the text has ", tokens.size(), " tokens, fewer than one context of ", n_ctx);
  NullProgress quiet;
  ProgressSink &bar = progress ? *progress : quiet;
  bar.begin("imatrix", n_chunks);
  ImatrixCollector collector(options.include_output);
  std::vector<int32_t> chunk(static_cast<size_t>(n_ctx));
  // Only the last position's logits are asked for: the collector wants the matmul inputs, and
  // the output matmul of every other row would be wasted work.
  std::vector<float> logits(static_cast<size_t>(model.config().n_vocab));
  for (int64_t c = 0; c < n_chunks; ++c) {
    std::copy(tokens.begin() + c * n_ctx, tokens.begin() + (c + 1) * n_ctx, chunk.begin());
    if (options.bos_token) chunk[0] = *options.bos_token;
    model.forward(chunk, logits.data(), &collector, n_ctx - 1);
    bar.advance(c + 1);
  }
  bar.end();
  Imatrix imatrix = collector.result(model.config().n_expert);
  imatrix.chunk_count = static_cast<uint32_t>(n_chunks);
  imatrix.chunk_size = static_cast<uint32_t>(n_ctx);
  return imatrix;
}

Imatrix run_imatrix(const ImatrixRequest &request, ProgressSink *progress) {
  if (request.output.empty()) fail("imatrix: give an output file (-o)");
  const ComputeDevice device = parse_compute_device(request.device);
  const ProductPrecision precision = parse_product_precision(request.precision, device);
  const auto source = ModelSource::open(request.model);
  const TokenizedText text = tokenize_text_file(*source, request.text, request.n_ctx);
  const auto model = load_logits_pass(*source, device, request.n_threads, progress, precision);
  ImatrixOptions options;
  options.n_ctx = request.n_ctx;
  options.max_chunks = request.max_chunks;
  options.bos_token = text.bos;
  options.include_output = request.include_output;
  Imatrix imatrix = collect_imatrix(*model, text.tokens, options, progress);
  imatrix.datasets = {request.text.string()};
  write_imatrix_gguf(imatrix, request.output);
  return imatrix;
}

}  // namespace qs
