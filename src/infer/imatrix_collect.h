// Collecting an importance matrix like llama-imatrix: the text cut into chunks of n_ctx tokens
// (each starting with BOS when the model has one), every matmul's input recorded as the sum of
// squares of each input column and the number of tokens, experts separately with the tokens
// routed to them. output.weight is left out, as llama-imatrix does unless --process-output.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "formats/imatrix.h"
#include "infer/activation_sink.h"
#include "infer/transformer.h"

namespace qs {

class ProgressSink;

// Sums of squared activations per weight (and expert), in double precision.
class ImatrixCollector final : public ActivationSink {
 public:
  explicit ImatrixCollector(bool include_output = false) : include_output_(include_output) {}
  void matmul_input(std::string_view weight_name, int expert, const float *x, int64_t n_rows, int64_t n_cols) override;
  // The same from sums made elsewhere (the GPU's): per-column sums of squares over n_rows rows.
  void add_squares(std::string_view weight_name, int expert, std::span<const double> squares, int64_t n_rows);
  // n_mat of each stacked tensor comes from `n_experts` (experts that saw no token keep count 0).
  Imatrix result(int64_t n_experts) const;

 private:
  struct Sums {
    int64_t n_cols = 0;
    std::map<int, std::vector<double>> squares;  // by expert (-1: a plain weight)
    std::map<int, int64_t> counts;
  };
  // The weight's sums (created on first sight); checks its column count. Under mutex_.
  Sums &sums_for(std::string_view weight_name, int64_t n_cols);
  bool include_output_;
  mutable std::mutex mutex_;
  std::map<std::string, Sums, std::less<>> sums_;
};

struct ImatrixOptions {
  int64_t n_ctx = 512;
  int64_t max_chunks = -1;  // < 0: every whole chunk
  std::optional<int32_t> bos_token;
  bool include_output = false;
};

Imatrix collect_imatrix(LogitsPass &model, std::span<const int32_t> tokens, const ImatrixOptions &options,
                        ProgressSink *progress = nullptr);

struct ImatrixRequest {
  std::filesystem::path model;
  std::filesystem::path text;
  std::filesystem::path output;  // .gguf (llama.cpp's GGUF layout)
  int64_t n_ctx = 512;
  int64_t max_chunks = -1;
  int n_threads = 0;
  std::string device = "auto";  // auto, cpu or cuda (infer/compute_device.h)
  std::string precision = "fp32";  // the GPU's products: fp32 or tf32 (infer/compute_device.h)
  bool include_output = false;
};

// Opens the model, tokenizes the text (checked before the weights load), collects, writes.
Imatrix run_imatrix(const ImatrixRequest &request, ProgressSink *progress = nullptr);

}  // namespace qs
