// Text files in, token ids out; the checks are cheap so they run before any weight is loaded.
#include "infer/text_input.h"

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "formats/gguf.h"

namespace qs {

std::string read_text_file(const std::filesystem::path &path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail(path.string(), ": no such text file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string(), ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().empty()) fail(path.string(), ": the text file is empty");
  return text.str();
}

Tokenizer tokenizer_of(const ModelSource &source) {
  if (source.kind() == ModelSource::Kind::Gguf) return Tokenizer::from_gguf(gguf::GgufFile::open(source.path()));
  return Tokenizer::from_hf_files(source.path());
}

TokenizedText tokenize_text_file(const ModelSource &source, const std::filesystem::path &path, int64_t min_tokens) {
  const std::string text = read_text_file(path);
  const Tokenizer tokenizer = tokenizer_of(source);
  TokenizedText result;
  result.tokens = tokenizer.encode(text, /*add_special=*/true);
  if (tokenizer.add_bos() && tokenizer.bos_id() >= 0) result.bos = tokenizer.bos_id();
  if (static_cast<int64_t>(result.tokens.size()) < min_tokens) {
    fail(path.string(), ": ", result.tokens.size(), " tokens, fewer than one context of ", min_tokens,
         " (use a longer text or a smaller --ctx)");
  }
  return result;
}

}  // namespace qs
