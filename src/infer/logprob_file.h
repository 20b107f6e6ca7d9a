// The file `perplexity --save-logits` writes and `--kl-base` reads: the evaluated tokens and, for
// every scored token, the base model's full log-softmax compressed to 16 bits per vocabulary
// entry (as llama.cpp's --kl-divergence-base does), plus the exact values KLD statistics need
// exactly: the target token's log-prob and the top token.
//
// Layout (little-endian):
//   char[8] "QSLOGPRB", u32 version (1), u32 n_vocab, u32 n_ctx, u32 n_chunks,
//   u32 first_scored (the first position scored in each chunk), i32 bos (-1: none),
//   i32 tokens[n_chunks * n_ctx]          (the text's tokens, before BOS replacement)
//   then per chunk, per scored position p in [first_scored, n_ctx - 1), one record:
//     i32 top_token, f64 target_log_prob (of the token at p + 1), f32 max_log_prob, f32 step,
//     u16 codes[n_vocab]: log_prob[i] = max_log_prob - step * codes[i]. Codes span at most
//     kLogProbRange nats below the top; 65535 means "that far down or further".
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <vector>

#include "core/mapped_file.h"

namespace qs {

inline constexpr float kLogProbRange = 16.0f;

struct LogProbFileHeader {
  uint32_t n_vocab = 0;
  uint32_t n_ctx = 0;
  uint32_t n_chunks = 0;
  uint32_t first_scored = 0;
  std::optional<int32_t> bos;
  std::vector<int32_t> tokens;  // n_chunks * n_ctx

  uint32_t scored_per_chunk() const { return n_ctx - 1 - first_scored; }
};

// One scored token's base distribution.
struct LogProbRecord {
  int32_t top_token = 0;
  double target_log_prob = 0.0;
  float max_log_prob = 0.0f;
  float step = 0.0f;
  const uint16_t *codes = nullptr;  // n_vocab

  float log_prob(int64_t i) const { return max_log_prob - step * static_cast<float>(codes[i]); }
};

// Bytes of one record for a vocabulary.
inline uint64_t log_prob_record_bytes(uint32_t n_vocab) { return 20 + 2 * static_cast<uint64_t>(n_vocab); }

// log softmax(logits)[target] as llama-perplexity's log_softmax forms it (float max, double sum):
// the one formula behind PPL, the saved target log-probs and KLD's NLL, so that a model compared
// with its own saved file reproduces them bit for bit.
double target_log_prob(const float *logits, int64_t n_vocab, int32_t target);

// Encodes one row of logits (n_vocab) whose next token is `target` into a record's bytes.
void encode_log_prob_record(const float *logits, int64_t n_vocab, int32_t target, uint8_t *record);

// Streams the header then records, chunk by chunk; the file appears under its name only when
// finish() succeeds (it is written to "<path>.tmp" and renamed).
class LogProbWriter {
 public:
  LogProbWriter(std::filesystem::path path, const LogProbFileHeader &header);
  ~LogProbWriter();  // removes the .tmp file if finish() was not reached
  // The records of one chunk: scored_per_chunk() of them, back to back.
  void write_chunk(std::span<const uint8_t> records);
  void finish();

 private:
  std::filesystem::path path_, tmp_path_;
  std::ofstream out_;
  LogProbFileHeader header_;
  uint32_t chunks_written_ = 0;
  bool finished_ = false;
};

// Maps a saved file; every size and count is checked against the file length on open.
class LogProbFile {
 public:
  explicit LogProbFile(const std::filesystem::path &path);  // throws qs::Error naming the file
  const LogProbFileHeader &header() const { return header_; }
  LogProbRecord record(uint32_t chunk, uint32_t index) const;  // index in [0, scored_per_chunk())

 private:
  MappedFile file_;
  LogProbFileHeader header_;
  uint64_t records_offset_ = 0;
};

}  // namespace qs
