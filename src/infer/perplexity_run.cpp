// run_perplexity: the checks that are cheap come first (text, architecture, tokenizer, length),
// so that bad input fails in milliseconds, not after loading the weights.
#include "infer/perplexity_run.h"

#include <chrono>

#include "core/error.h"
#include "core/progress.h"
#include "infer/compute_device.h"
#include "infer/logprob_file.h"
#include "infer/text_input.h"
#include "model/model_source.h"

namespace qs {

PerplexityReport run_perplexity(const PerplexityRequest &request, ProgressSink *progress) {
  if (request.text.empty() && request.kl_base.empty()) fail("perplexity: give a text (--text) or a base file (--kl-base)");
  if (request.n_ctx < 4) fail("perplexity: context of ", request.n_ctx, " tokens is too small (at least 4)");
  const ComputeDevice device = parse_compute_device(request.device);
  const ProductPrecision precision = parse_product_precision(request.precision, device);
  const auto source = ModelSource::open(request.model);
  if (!request.kl_base.empty()) {
    // Opening validates the whole file; compute_perplexity maps it again (cheap) when it runs.
    const LogProbFile base(request.kl_base);
    if (base.header().n_vocab != source->config().vocab_size) {
      fail(request.kl_base.string(), ": saved with a vocabulary of ", base.header().n_vocab, ", ",
           request.model.string(), " has ", source->config().vocab_size);
    }
  }

  PerplexityOptions options;
  options.n_ctx = request.n_ctx;
  options.max_chunks = request.max_chunks;
  options.save_log_probs = request.save_log_probs;
  options.kl_base = request.kl_base;
  std::vector<int32_t> tokens;
  if (!request.text.empty()) {
    // With a base file the chunks are the base's, so the text only has to match it.
    TokenizedText text = tokenize_text_file(*source, request.text, request.kl_base.empty() ? request.n_ctx : 0);
    tokens = std::move(text.tokens);
    options.bos_token = text.bos;
  }

  PerplexityReport report;
  report.model = request.model.string();
  report.architecture = source->config().architecture.empty() ? source->architecture().gguf_arch : source->config().architecture;
  const auto load_start = std::chrono::steady_clock::now();
  const auto model = load_logits_pass(*source, device, request.n_threads, progress, precision);
  report.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  report.n_threads = model->n_threads();
  report.device = model->device_name();
  report.result = compute_perplexity(*model, tokens, options, progress);
  return report;
}

}  // namespace qs
