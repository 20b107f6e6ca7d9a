// Cutting calibration text into llama-perplexity's chunks.
#include "measure/calibration.h"

#include <algorithm>

#include "core/error.h"

namespace qs {

CalibrationChunks::CalibrationChunks(std::span<const int32_t> tokens, int64_t n_ctx, int64_t max_chunks,
                                     std::optional<int32_t> bos)
    : n_ctx_(n_ctx) {
  if (n_ctx < 4) fail("calibration: context of ", n_ctx, " tokens is too small (at least 4)");
  if (static_cast<int64_t>(tokens.size()) < n_ctx) {
    fail("calibration: the text has ", tokens.size(), " tokens, fewer than one context of ", n_ctx,
         " (use a longer text or a smaller --ctx)");
  }
  n_chunks_ = static_cast<int64_t>(tokens.size()) / n_ctx;
  if (max_chunks >= 0) n_chunks_ = std::min(n_chunks_, max_chunks);
  if (n_chunks_ <= 0) fail("calibration: no chunk to evaluate (--chunks 0?)");
  text_.assign(tokens.begin(), tokens.begin() + n_chunks_ * n_ctx);
  inputs_ = text_;
  if (bos)
    for (int64_t c = 0; c < n_chunks_; ++c) inputs_[static_cast<size_t>(c * n_ctx)] = *bos;
}

std::span<const int32_t> CalibrationChunks::input(int64_t c) const {
  return {inputs_.data() + c * n_ctx_, static_cast<size_t>(n_ctx_)};
}

int32_t CalibrationChunks::target(int64_t c, int64_t i) const {
  return text_[static_cast<size_t>(c * n_ctx_ + first_scored() + 1 + i)];
}

}  // namespace qs
