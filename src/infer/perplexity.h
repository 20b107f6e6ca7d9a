// Perplexity as llama-perplexity computes it: the token stream cut into chunks of n_ctx tokens,
// each chunk's first token replaced by BOS (when the model has one), each chunk run from scratch,
// and only the second half of each chunk scored (so every scored token has at least n_ctx/2
// tokens of context). Optionally saves the log-probs for a later --kl-base run, or compares with
// such a file (then the tokens and chunking come from the file).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>

#include "infer/kld.h"
#include "infer/logits_pass.h"

namespace qs {

class ProgressSink;

struct PerplexityOptions {
  int64_t n_ctx = 512;
  int64_t max_chunks = -1;            // < 0: every whole chunk of the text
  std::optional<int32_t> bos_token;   // replaces the first token of each chunk when set
  std::filesystem::path save_log_probs;  // empty: don't save
  std::filesystem::path kl_base;         // empty: no comparison
};

struct PerplexityResult {
  int64_t n_ctx = 0;
  int64_t n_chunks = 0;
  int64_t n_tokens_in_text = 0;  // tokens available (before cutting into chunks)
  int64_t n_scored = 0;          // tokens whose probability was scored
  Estimate ppl;                  // exp(mean NLL) and llama.cpp's error estimate
  double mean_nll = 0.0;
  std::vector<double> running_ppl;  // after each chunk, as llama-perplexity prints "[i]ppl"
  double seconds = 0.0;             // forward passes and scoring
  double tokens_per_second = 0.0;   // evaluated tokens (n_chunks * n_ctx) per second
  std::optional<KldStatistics> kld;
};

// tokens: the whole text, tokenized once (BOS first if the tokenizer adds one). With
// options.kl_base, tokens may be empty (the file's are used); if given they must equal the file's.
// Throws qs::Error for a text shorter than one context, a base file of another vocabulary, etc.
PerplexityResult compute_perplexity(LogitsPass &model, std::span<const int32_t> tokens,
                                    const PerplexityOptions &options, ProgressSink *progress = nullptr);

}  // namespace qs
