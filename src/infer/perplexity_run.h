// `quantscope perplexity` as one library call: open the model and its tokenizer, read and
// tokenize the text, check it is long enough before the (slow) weight load, run
// compute_perplexity. The CLI and the job runner both call this.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "infer/perplexity.h"

namespace qs {

class ProgressSink;

struct PerplexityRequest {
  std::filesystem::path model;  // HF directory (config.json + safetensors + tokenizer) or GGUF
  std::filesystem::path text;   // may be empty when kl_base is given (its tokens are used)
  int64_t n_ctx = 512;
  int64_t max_chunks = -1;
  int n_threads = 0;  // <= 0: default
  std::string device = "auto";  // auto, cpu or cuda (infer/compute_device.h)
  std::string precision = "fp32";  // the GPU's products: fp32 or tf32 (infer/compute_device.h)
  std::filesystem::path save_log_probs;
  std::filesystem::path kl_base;
};

struct PerplexityReport {
  std::string model;         // as given
  std::string architecture;  // config.json's class or the GGUF's general.architecture
  int n_threads = 0;
  std::string device;        // where the pass ran: "cpu" or "cuda:0 (<GPU name>[, tf32])"
  double load_seconds = 0.0;
  PerplexityResult result;
};

// Throws qs::Error for an empty or too short text, an unsupported architecture or tokenizer, a
// base file that does not fit the model, ...
PerplexityReport run_perplexity(const PerplexityRequest &request, ProgressSink *progress = nullptr);

}  // namespace qs
