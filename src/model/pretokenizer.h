// Pre-tokenization of byte-level BPE tokenizers, as HF tokenizers does it: Split steps (a regex
// run by PCRE2 with Oniguruma's meaning of \s, since HF compiles its regexes with Oniguruma) and
// the ByteLevel step (optional prefix space, optional GPT-2 regex). The result is the list of
// pre-tokens of one stretch of text, still as raw bytes; byte-level mapping comes after.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pcre2_real_code_8;

namespace qs {

// GPT-2's pre-tokenizer regex (HF's ByteLevel with use_regex = true).
inline constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Llama 3's, verbatim from its tokenizer.json (llama.cpp's "llama-bpe").
inline constexpr std::string_view kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The pattern rewritten so that PCRE2 gives Oniguruma's answers: PCRE2's \s also matches U+180E
// (MONGOLIAN VOWEL SEPARATOR), Oniguruma's is exactly the White_Space property, so \s and \S
// become \p{White_Space} and \P{White_Space}, inside character classes too.
std::string oniguruma_compatible_pattern(std::string_view pattern);

// A compiled regex (PCRE2, UTF + UCP, JIT-compiled where the library supports it).
class Regex {
 public:
  // literal: the pattern is plain text (HF's Split with a String pattern). Throws qs::Error
  // with PCRE2's message and the offset of the problem.
  Regex(std::string_view pattern, bool literal);
  Regex(Regex &&) noexcept = default;
  Regex &operator=(Regex &&) noexcept = default;

  // Appends the [start, end) byte ranges of the successive non-overlapping matches in text (valid
  // UTF-8). An empty match right where the previous match ended is skipped, and after an empty
  // match the search goes on one character later, as the onig crate's find_iter does.
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>> &matches) const;

 private:
  struct Free {
    void operator()(pcre2_real_code_8 *code) const;
  };
  std::unique_ptr<pcre2_real_code_8, Free> code_;
  bool jit_ = false;
};

// What happens to the matched text of a Split step (HF's SplitDelimiterBehavior).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct SplitRule {
  std::string pattern;
  bool is_regex = true;  // false: a literal string
  SplitBehavior behavior = SplitBehavior::Isolated;
  bool invert = false;  // split on what the pattern does not match
};

struct ByteLevelRule {
  bool add_prefix_space = false;  // prepend ' ' to every piece that does not start with one
  bool use_regex = true;          // split every piece with the GPT-2 regex
};

class PreTokenizer {
 public:
  PreTokenizer(std::vector<SplitRule> splits, ByteLevelRule byte_level);

  // Splits one stretch of text (the text between two added tokens) into pre-tokens, in order,
  // dropping empty ones as HF does. The views point into text or into storage (prefix spaces).
  void split(std::string_view text, std::vector<std::string_view> &pieces, std::deque<std::string> &storage) const;

  const std::vector<SplitRule> &split_rules() const { return rules_; }
  const ByteLevelRule &byte_level() const { return byte_level_; }

 private:
  std::vector<SplitRule> rules_;
  std::vector<Regex> regexes_;  // one per rule
  ByteLevelRule byte_level_;
  Regex gpt2_;
};

}  // namespace qs
