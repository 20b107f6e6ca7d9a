// Regex splitting (PCRE2) and the Split / ByteLevel pre-tokenization steps of HF tokenizers
// (tokenizers/src/pre_tokenizers/{split,byte_level}.rs, tokenizer/normalizer.rs split()).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "model/pretokenizer.h"

#include <pcre2.h>

#include <algorithm>

#include "core/error.h"
#include "model/byte_level.h"

namespace qs {

std::string oniguruma_compatible_pattern(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 32);
  bool in_class = false;
  for (size_t i = 0; i < p.size();) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char d = p[i + 1];
      if (d == 's') out += "\\p{White_Space}";
      else if (d == 'S') out += "\\P{White_Space}";
      else out.append(p.substr(i, 2));  // any other escape, \\ and \[ included, stays as it is
      i += 2;
      continue;
    }
    if (!in_class) {
      out += c;
      ++i;
      if (c == '[') {
        in_class = true;
        // "[^]...]" and "[]...]": a ']' right after the opening is a literal member.
        if (i < p.size() && p[i] == '^') out += p[i++];
        if (i < p.size() && p[i] == ']') out += p[i++];
      }
      continue;
    }
    if (c == '[' && i + 1 < p.size() && p[i + 1] == ':') {  // POSIX class such as [:alpha:]
      const size_t end = p.find(":]", i + 2);
      const size_t stop = end == std::string_view::npos ? p.size() : end + 2;
      out.append(p.substr(i, stop - i));
      i = stop;
      continue;
    }
    if (c == ']') in_class = false;
    out += c;
    ++i;
  }
  return out;
}

void Regex::Free::operator()(pcre2_real_code_8 *code) const { pcre2_code_free(code); }

Regex::Regex(std::string_view pattern, bool literal) {
  const std::string compiled = literal ? std::string(pattern) : oniguruma_compatible_pattern(pattern);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  // PCRE2_LITERAL allows no UCP (nothing to classify in a literal anyway).
  const uint32_t options = literal ? (PCRE2_UTF | PCRE2_LITERAL) : (PCRE2_UTF | PCRE2_UCP);
  pcre2_code *code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(compiled.data()), compiled.size(), options,
                                   &error_code, &error_offset, nullptr);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof message);
    fail("pre-tokenizer regex \"", pattern, "\": ", reinterpret_cast<const char *>(message), " at offset ",
         error_offset);
  }
  code_.reset(code);
  uint32_t jit_available = 0;
  pcre2_config(PCRE2_CONFIG_JIT, &jit_available);
  jit_ = jit_available && pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
}

void Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>> &matches) const {
  struct FreeMatchData {
    void operator()(pcre2_match_data *m) const { pcre2_match_data_free(m); }
  };
  std::unique_ptr<pcre2_match_data, FreeMatchData> match_data(pcre2_match_data_create_from_pattern(code_.get(), nullptr));
  if (!match_data) fail("pre-tokenizer regex: out of memory");
  const auto *subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const size_t n = text.size();
  size_t search_from = 0;
  bool have_last = false;
  size_t last_match_end = 0;
  const auto next_char = [&](size_t pos) { return pos < n ? pos + utf8::sequence_length(uint8_t(text[pos])) : n + 1; };
  while (search_from <= n) {
    // The text was checked to be valid UTF-8 once; re-checking it at every call is quadratic.
    const int rc = pcre2_match(code_.get(), subject, n, search_from, PCRE2_NO_UTF_CHECK, match_data.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      fail("pre-tokenizer regex failed on a text of ", n, " bytes: ", reinterpret_cast<const char *>(message));
    }
    const PCRE2_SIZE *ovector = pcre2_get_ovector_pointer(match_data.get());
    const size_t start = ovector[0], end = ovector[1];
    if (start == end && have_last && last_match_end == end) {
      search_from = next_char(search_from);
      continue;
    }
    search_from = start == end ? next_char(end) : end;
    have_last = true;
    last_match_end = end;
    matches.emplace_back(start, end);
  }
}

namespace {

struct Range {
  size_t start, end;
  bool flag;  // is a match (before behaviour), or is to be removed (after)
};

// HF's NormalizedString::split: the pattern's matches and the gaps between them, then the
// behaviour decides what is kept and how matches join their neighbours.
void split_by_rule(std::string_view piece, const Regex &regex, const SplitRule &rule,
                   std::vector<std::pair<size_t, size_t>> &scratch, std::vector<std::string_view> &out) {
  std::vector<Range> ranges;
  scratch.clear();
  regex.find_all(piece, scratch);
  size_t previous = 0;
  for (const auto &[start, end] : scratch) {
    if (previous != start) ranges.push_back({previous, start, false});
    ranges.push_back({start, end, true});
    previous = end;
  }
  if (previous != piece.size()) ranges.push_back({previous, piece.size(), false});
  if (rule.invert)
    for (Range &r : ranges) r.flag = !r.flag;

  std::vector<Range> kept;
  switch (rule.behavior) {
    case SplitBehavior::Isolated:
      for (Range r : ranges) kept.push_back({r.start, r.end, false});
      break;
    case SplitBehavior::Removed:
      for (Range r : ranges) kept.push_back(r);  // matches carry flag = true: removed
      break;
    case SplitBehavior::Contiguous: {
      bool previous_match = false;
      for (const Range &r : ranges) {
        if (r.flag == previous_match && !kept.empty()) kept.back().end = r.end;
        else kept.push_back({r.start, r.end, false});
        previous_match = r.flag;
      }
      break;
    }
    case SplitBehavior::MergedWithPrevious: {
      bool previous_match = false;
      for (const Range &r : ranges) {
        if (r.flag && !previous_match && !kept.empty()) kept.back().end = r.end;
        else kept.push_back({r.start, r.end, false});
        previous_match = r.flag;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      bool previous_match = false;
      for (auto it = ranges.rbegin(); it != ranges.rend(); ++it) {
        if (it->flag && !previous_match && !kept.empty()) kept.back().start = it->start;
        else kept.push_back({it->start, it->end, false});
        previous_match = it->flag;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    }
  }
  for (const Range &r : kept)
    if (!r.flag && r.end > r.start) out.push_back(piece.substr(r.start, r.end - r.start));
}

}  // namespace

PreTokenizer::PreTokenizer(std::vector<SplitRule> splits, ByteLevelRule byte_level)
    : rules_(std::move(splits)), byte_level_(byte_level), gpt2_(kGpt2Pattern, false) {
  for (const SplitRule &rule : rules_) {
    if (rule.pattern.empty()) fail("pre-tokenizer Split with an empty pattern");
    regexes_.emplace_back(rule.pattern, !rule.is_regex);
  }
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view> &pieces,
                         std::deque<std::string> &storage) const {
  std::vector<std::pair<size_t, size_t>> scratch;
  std::vector<std::string_view> current;
  if (!text.empty()) current.push_back(text);
  std::vector<std::string_view> next;
  for (size_t i = 0; i < rules_.size(); ++i) {
    next.clear();
    for (std::string_view piece : current) split_by_rule(piece, regexes_[i], rules_[i], scratch, next);
    current.swap(next);
  }
  const SplitRule gpt2_rule{std::string(), true, SplitBehavior::Isolated, false};
  for (std::string_view piece : current) {
    // HF prepends the space to every piece left by the steps before, not only to the first.
    if (byte_level_.add_prefix_space && piece.front() != ' ') {
      std::string &prefixed = storage.emplace_back(1, ' ');
      prefixed.append(piece);
      piece = prefixed;
    }
    if (byte_level_.use_regex) split_by_rule(piece, gpt2_, gpt2_rule, scratch, pieces);
    else pieces.push_back(piece);
  }
}

}  // namespace qs
