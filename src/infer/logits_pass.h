// What perplexity and KLD scoring need of a model: its config and the logits of a chunk of
// tokens. The CPU Transformer and the CUDA GpuTransformer both are one, so `perplexity` runs on
// either (infer/compute_device.h picks and loads).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "infer/transformer_config.h"

namespace qs {

class ActivationSink;

class LogitsPass {
 public:
  virtual ~LogitsPass() = default;
  virtual const TransformerConfig &config() const = 0;
  // Logits of tokens [first_logit, n) into logits ((n - first_logit) x n_vocab), positions 0..n-1
  // with causal attention. A sink sees every matmul input (a pass that cannot show them throws).
  virtual void forward(std::span<const int32_t> tokens, float *logits, ActivationSink *sink = nullptr,
                       int64_t first_logit = 0) = 0;
  // CPU threads the caller may use beside the pass (scoring the logits).
  virtual int n_threads() const = 0;
  // "cpu" or "cuda:<index> (<name>)", for reports.
  virtual std::string device_name() const = 0;
};

}  // namespace qs
