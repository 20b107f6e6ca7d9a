// Reading and writing saved log-probabilities (format in logprob_file.h).
#include "infer/logprob_file.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "infer/vector_math.h"

namespace qs {
namespace {

constexpr char kMagic[8] = {'Q', 'S', 'L', 'O', 'G', 'P', 'R', 'B'};
constexpr uint32_t kLogprobFileVersion = 1;
constexpr uint64_t kHeaderBytes = 8 + 6 * 4;

template <class T>
void put(std::ofstream &out, T value) {
  out.write(reinterpret_cast<const char *>(&value), sizeof(T));
}

template <class T>
T get(const uint8_t *at) {
  T value;
  std::memcpy(&value, at, sizeof(T));
  return value;
}

}  // namespace

double target_log_prob(const float *logits, int64_t n_vocab, int32_t target) {
  const float max_logit = max_of(logits, n_vocab);
  const double sum_exp = sum_exp_shifted(logits, n_vocab, max_logit);
  return static_cast<double>(logits[target]) - static_cast<double>(max_logit) - std::log(sum_exp);
}

void encode_log_prob_record(const float *logits, int64_t n_vocab, int32_t target_token, uint8_t *record) {
  float max_logit = logits[0], min_logit = logits[0];
  int32_t top = 0;
  for (int64_t i = 1; i < n_vocab; ++i) {
    if (logits[i] > max_logit) max_logit = logits[i], top = static_cast<int32_t>(i);
    min_logit = std::min(min_logit, logits[i]);
  }
  const double sum_exp = sum_exp_shifted(logits, n_vocab, max_logit);
  const float log_sum_exp = static_cast<float>(std::log(sum_exp));
  const double target = target_log_prob(logits, n_vocab, target_token);
  const float max_log_prob = -log_sum_exp;
  const float span = std::min(kLogProbRange, max_logit - min_logit);
  const float step = span / 65535.0f;
  std::memcpy(record, &top, 4);
  std::memcpy(record + 4, &target, 8);
  std::memcpy(record + 12, &max_log_prob, 4);
  std::memcpy(record + 16, &step, 4);
  uint16_t *codes = reinterpret_cast<uint16_t *>(record + 20);
  if (step == 0.0f) {
    std::fill(codes, codes + n_vocab, uint16_t{0});
    return;
  }
  const float inv_step = 1.0f / step;
  for (int64_t i = 0; i < n_vocab; ++i) {
    const float code = std::nearbyint((max_logit - logits[i]) * inv_step);
    codes[i] = static_cast<uint16_t>(std::min(code, 65535.0f));
  }
}

LogProbWriter::LogProbWriter(std::filesystem::path path, const LogProbFileHeader &header)
    : path_(std::move(path)), tmp_path_(path_.string() + ".tmp"), header_(header) {
  if (header.tokens.size() != static_cast<size_t>(header.n_chunks) * header.n_ctx) {
    fail(path_.string(), ": ", header.tokens.size(), " tokens for ", header.n_chunks, " chunks of ", header.n_ctx);
  }
  out_.open(tmp_path_, std::ios::binary | std::ios::trunc);
  if (!out_) fail(tmp_path_.string(), ": cannot open for writing");
  out_.write(kMagic, 8);
  put(out_, kLogprobFileVersion);
  put(out_, header.n_vocab);
  put(out_, header.n_ctx);
  put(out_, header.n_chunks);
  put(out_, header.first_scored);
  put(out_, header.bos.value_or(-1));
  out_.write(reinterpret_cast<const char *>(header.tokens.data()), static_cast<std::streamsize>(header.tokens.size() * 4));
  if (!out_) fail(tmp_path_.string(), ": write failed");
}

LogProbWriter::~LogProbWriter() {
  if (!finished_) {
    out_.close();
    std::error_code ec;
    std::filesystem::remove(tmp_path_, ec);
  }
}

void LogProbWriter::write_chunk(std::span<const uint8_t> records) {
  const uint64_t expected = header_.scored_per_chunk() * log_prob_record_bytes(header_.n_vocab);
  if (records.size() != expected) fail(path_.string(), ": chunk of ", records.size(), " bytes, expected ", expected);
  if (chunks_written_ >= header_.n_chunks) fail(path_.string(), ": more chunks than the header's ", header_.n_chunks);
  out_.write(reinterpret_cast<const char *>(records.data()), static_cast<std::streamsize>(records.size()));
  if (!out_) fail(tmp_path_.string(), ": write failed (disk full?)");
  ++chunks_written_;
}

void LogProbWriter::finish() {
  if (chunks_written_ != header_.n_chunks) {
    fail(path_.string(), ": ", chunks_written_, " of ", header_.n_chunks, " chunks written");
  }
  out_.close();
  if (!out_) fail(tmp_path_.string(), ": write failed");
  std::error_code ec;
  std::filesystem::rename(tmp_path_, path_, ec);
  if (ec) fail(path_.string(), ": cannot rename from ", tmp_path_.string(), ": ", ec.message());
  finished_ = true;
}

LogProbFile::LogProbFile(const std::filesystem::path &path) : file_(path) {
  const std::string name = path.string();
  const uint8_t *data = file_.data();
  const uint64_t size = file_.size();
  if (size < kHeaderBytes || std::memcmp(data, kMagic, 8) != 0) {
    fail(name, ": not a quantscope log-prob file (saved by `quantscope perplexity --save-logits`)");
  }
  const uint32_t version = get<uint32_t>(data + 8);
  if (version != kLogprobFileVersion) fail(name, ": log-prob file version ", version, ", this build reads ", kLogprobFileVersion);
  header_.n_vocab = get<uint32_t>(data + 12);
  header_.n_ctx = get<uint32_t>(data + 16);
  header_.n_chunks = get<uint32_t>(data + 20);
  header_.first_scored = get<uint32_t>(data + 24);
  const int32_t bos = get<int32_t>(data + 28);
  if (bos >= 0) header_.bos = bos;
  if (header_.n_vocab == 0 || header_.n_ctx < 2 || header_.n_chunks == 0 || header_.first_scored >= header_.n_ctx - 1) {
    fail(name, ": bad header (n_vocab ", header_.n_vocab, ", n_ctx ", header_.n_ctx, ", n_chunks ", header_.n_chunks,
         ", first scored ", header_.first_scored, ")");
  }
  const uint64_t n_tokens = static_cast<uint64_t>(header_.n_chunks) * header_.n_ctx;
  records_offset_ = kHeaderBytes + 4 * n_tokens;
  const uint64_t expected = records_offset_ + static_cast<uint64_t>(header_.n_chunks) * header_.scored_per_chunk() *
                                                  log_prob_record_bytes(header_.n_vocab);
  if (size != expected) fail(name, ": ", size, " bytes, the header promises ", expected, " (truncated or corrupt)");
  header_.tokens.resize(n_tokens);
  std::memcpy(header_.tokens.data(), data + kHeaderBytes, 4 * n_tokens);
  for (size_t i = 0; i < header_.tokens.size(); ++i) {
    if (header_.tokens[i] < 0 || static_cast<uint32_t>(header_.tokens[i]) >= header_.n_vocab) {
      fail(name, ": token ", header_.tokens[i], " at ", i, " is outside the vocabulary of ", header_.n_vocab);
    }
  }
}

LogProbRecord LogProbFile::record(uint32_t chunk, uint32_t index) const {
  if (chunk >= header_.n_chunks || index >= header_.scored_per_chunk()) {
    fail(file_.path().string(), ": no record ", index, " in chunk ", chunk);
  }
  const uint64_t at = records_offset_ + (static_cast<uint64_t>(chunk) * header_.scored_per_chunk() + index) *
                                            log_prob_record_bytes(header_.n_vocab);
  const uint8_t *p = file_.data() + at;
  LogProbRecord r;
  r.top_token = get<int32_t>(p);
  r.target_log_prob = get<double>(p + 4);
  r.max_log_prob = get<float>(p + 12);
  r.step = get<float>(p + 16);
  r.codes = reinterpret_cast<const uint16_t *>(p + 20);
  return r;
}

}  // namespace qs
