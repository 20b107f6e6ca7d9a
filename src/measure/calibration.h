// Calibration chunks cut from a token stream exactly as llama-perplexity cuts its text: chunks of
// n_ctx tokens, the first token of each replaced by BOS (when the model has one), and the second
// half of each chunk scored, so that a measurement's KLD and a `perplexity --kl-base` run on the
// same text see the same positions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace qs {

class CalibrationChunks {
 public:
  // tokens: the whole text (BOS first when the tokenizer adds one). max_chunks < 0: every whole
  // chunk. Throws qs::Error for a context under 4 tokens or a text shorter than one chunk.
  CalibrationChunks(std::span<const int32_t> tokens, int64_t n_ctx, int64_t max_chunks, std::optional<int32_t> bos);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_chunks() const { return n_chunks_; }
  int64_t first_scored() const { return n_ctx_ / 2; }  // logits are needed from here on
  int64_t n_scored_per_chunk() const { return n_ctx_ - 1 - first_scored(); }
  int64_t n_scored() const { return n_chunks_ * n_scored_per_chunk(); }

  // The model's input for chunk c (n_ctx tokens, BOS in front when there is one).
  std::span<const int32_t> input(int64_t c) const;
  // The token that scored position first_scored() + i of chunk c predicts.
  int32_t target(int64_t c, int64_t i) const;

 private:
  int64_t n_ctx_ = 0, n_chunks_ = 0;
  std::vector<int32_t> text_;    // n_chunks * n_ctx tokens as they were in the text
  std::vector<int32_t> inputs_;  // the same with BOS replacement
};

}  // namespace qs
