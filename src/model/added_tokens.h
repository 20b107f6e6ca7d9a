// Added tokens (tokenizer.json "added_tokens"): text such as "<|begin_of_text|>" that is cut out
// of the input before pre-tokenization and becomes its token directly. Splitting follows HF's
// AddedVocabulary (tokenizer/added_vocabulary.rs): tokens with normalized = false are found in
// the raw text first, then tokens with normalized = true in the pieces left; each pass takes the
// leftmost match, the longest among those starting there, then goes on after it; single_word,
// lstrip and rstrip are honoured as HF does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qs {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;      // a control token: skipped by decode(skip_special), not parsed when parse_special is off
  bool single_word = false;  // only where it is not inside a word
  bool lstrip = false;       // swallows the whitespace before it
  bool rstrip = false;       // swallows the whitespace after it
  bool normalized = true;    // matched after normalization (second pass)
};

// A stretch of the input: either text for the pre-tokenizer (token_id = -1) or one added token.
struct TextSegment {
  size_t start = 0, end = 0;  // byte range in the input
  int32_t token_id = -1;
};

class AddedTokenSplitter {
 public:
  explicit AddedTokenSplitter(std::vector<AddedToken> tokens);

  // Splits text (valid UTF-8) into segments in order; text segments are never empty.
  // parse_special = false leaves special tokens in the text as plain text (HF's
  // encode_special_tokens = true, llama.cpp's parse_special = false).
  void split(std::string_view text, bool parse_special, std::vector<TextSegment> &out) const;

  const std::vector<AddedToken> &tokens() const { return tokens_; }
  const AddedToken *find_by_id(int32_t id) const;
  const AddedToken *find_by_content(std::string_view content) const;

 private:
  struct Pass {
    // Indices into tokens_ by first byte, longest content first.
    std::vector<std::vector<uint32_t>> by_first_byte = std::vector<std::vector<uint32_t>>(256);
    bool empty = true;
  };
  void split_pass(std::string_view text, size_t base, const Pass &pass, bool parse_special,
                  std::vector<TextSegment> &out) const;

  std::vector<AddedToken> tokens_;
  Pass raw_pass_, normalized_pass_;
};

}  // namespace qs
