// Cutting added tokens out of the input, as HF's AddedVocabulary::find_matches does.
#include "model/added_tokens.h"

#include <algorithm>

#include "core/error.h"
#include "model/byte_level.h"
#include "model/pretokenizer.h"

namespace qs {
namespace {

// Rust's regex \s: the Unicode White_Space property (HF's lstrip / rstrip use it).
bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Rust's regex \w (UTS #18 word characters), used by single_word.
bool is_word_char(std::string_view one_char) {
  static const Regex word(R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}])", false);
  std::vector<std::pair<size_t, size_t>> matches;
  word.find_all(one_char, matches);
  return !matches.empty();
}

size_t last_char_start(std::string_view s) {
  size_t pos = s.size() - 1;
  while (pos > 0 && (uint8_t(s[pos]) & 0xC0) == 0x80) --pos;
  return pos;
}

bool ends_with_word(std::string_view s) { return !s.empty() && is_word_char(s.substr(last_char_start(s))); }

bool starts_with_word(std::string_view s) {
  return !s.empty() && is_word_char(s.substr(0, utf8::sequence_length(uint8_t(s[0]))));
}

// Where the whitespace at the end of s begins.
size_t trailing_space_start(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    const size_t start = last_char_start(s.substr(0, end));
    size_t pos = start;
    if (!is_white_space(utf8::next(s, pos))) break;
    end = start;
  }
  return end;
}

// Where the whitespace at the start of s ends.
size_t leading_space_end(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t next = pos;
    if (!is_white_space(utf8::next(s, next))) break;
    pos = next;
  }
  return pos;
}

}  // namespace

AddedTokenSplitter::AddedTokenSplitter(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  for (uint32_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken &t = tokens_[i];
    if (t.content.empty()) continue;  // HF ignores empty added tokens
    if (const AddedToken *other = find_by_content(t.content); other != &t)
      fail("added token \"", t.content, "\" is listed twice (ids ", other->id, " and ", t.id, ")");
    Pass &pass = t.normalized ? normalized_pass_ : raw_pass_;
    pass.by_first_byte[uint8_t(t.content[0])].push_back(i);
    pass.empty = false;
  }
  for (Pass *pass : {&raw_pass_, &normalized_pass_})
    for (auto &bucket : pass->by_first_byte)
      std::stable_sort(bucket.begin(), bucket.end(),
                       [&](uint32_t a, uint32_t b) { return tokens_[a].content.size() > tokens_[b].content.size(); });
}

const AddedToken *AddedTokenSplitter::find_by_id(int32_t id) const {
  for (const AddedToken &t : tokens_)
    if (t.id == id) return &t;
  return nullptr;
}

const AddedToken *AddedTokenSplitter::find_by_content(std::string_view content) const {
  for (const AddedToken &t : tokens_)
    if (t.content == content) return &t;
  return nullptr;
}

void AddedTokenSplitter::split_pass(std::string_view text, size_t base, const Pass &pass, bool parse_special,
                                    std::vector<TextSegment> &out) const {
  const auto push_text = [&](size_t start, size_t end) {
    if (end > start) out.push_back({base + start, base + end, -1});
  };
  if (pass.empty) {
    push_text(0, text.size());
    return;
  }
  size_t emitted_to = 0;  // HF's start_offset: where the last emitted segment ended
  size_t search = 0;
  while (search < text.size()) {
    // Leftmost match, longest at that position.
    const AddedToken *found = nullptr;
    size_t match_start = search;
    for (; match_start < text.size() && !found; ++match_start) {
      for (uint32_t index : pass.by_first_byte[uint8_t(text[match_start])]) {
        if (text.substr(match_start).starts_with(tokens_[index].content)) {
          found = &tokens_[index];
          break;
        }
      }
    }
    if (!found) break;
    size_t start = match_start - 1;
    size_t stop = start + found->content.size();
    search = stop;  // the next match is searched after this one, whether it is kept or not
    if (!parse_special && found->special) continue;
    if (found->single_word) {
      const bool space_before = start == 0 || !ends_with_word(text.substr(0, start));
      const bool space_after = stop == text.size() || !starts_with_word(text.substr(stop));
      if (!space_before || !space_after) continue;
    }
    if (found->lstrip) start = std::max(trailing_space_start(text.substr(0, start)), emitted_to);
    if (found->rstrip) stop += leading_space_end(text.substr(stop));
    if (emitted_to < start) push_text(emitted_to, start);
    out.push_back({base + start, base + stop, found->id});
    emitted_to = stop;
  }
  if (emitted_to < text.size()) push_text(emitted_to, text.size());
}

void AddedTokenSplitter::split(std::string_view text, bool parse_special, std::vector<TextSegment> &out) const {
  out.clear();
  std::vector<TextSegment> first;
  split_pass(text, 0, raw_pass_, parse_special, first);
  for (const TextSegment &segment : first) {
    if (segment.token_id >= 0) out.push_back(segment);
    else
      split_pass(text.substr(segment.start, segment.end - segment.start), segment.start, normalized_pass_,
                 parse_special, out);
  }
}

}  // namespace qs
