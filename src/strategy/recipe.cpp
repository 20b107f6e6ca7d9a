// Recipes for llama.cpp's and ik_llama.cpp's llama-quantize: writing a type assignment as
// regex=type rules, and reading such rules back as the tools read them (recipe.h has the facts).
#include "strategy/recipe.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <map>
#include <regex>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"

namespace qs {
namespace {

// ---- facts about the tools' type names ----

// ggml type names the tool accepts that quantscope has no row for (their ggml.c type_traits), so
// that an error can say "not supported by quantscope" instead of "unknown".
constexpr std::array kLlamaOnlyTypeNames = {"i8", "i16", "i32", "i64", "f64", "q8_1", "q8_K", "q1_0", "q2_0", "nvfp4"};
constexpr std::array kIkOnlyTypeNames = {
    "i8",        "i16",       "i32",        "i64",        "f64",       "q6_0",       "q8_1",      "q8_0_x4",
    "q8_1_x4",   "q8_2_x4",   "q2_k_r4",    "q3_k_r4",    "q4_k_r4",   "q5_k_r4",    "q6_k_r4",   "q8_k_r8",
    "q8_k_r16",  "iq2_xxs_r4", "iq2_xs_r4", "iq3_xxs_r4", "iq3_s_r4",  "iq2_s_r4",   "iq1_s_r4",  "iq1_m_r4",
    "iq1_bn",    "iq2_bn",    "iq2_bn_r4",  "mxfp4_r8",   "iq4_ks",    "iq4_ks_r4",  "iq5_ks_r4", "iq4_kss",
    "iq5_ks",    "q8_K",      "q8_K64",     "q8_K128",    "q8_KV",     "q8_KV_r8",   "q8_K16",    "q8_K32",
    "q8_KR8",    "bf16_r16",  "q4_0_4x4",   "q4_0_4x8",   "q4_0_8x8",  "iq2_k",      "iq2_k_r4",  "iq2_ks",
    "iq1_kt",    "iq2_kt",    "iq3_kt",     "iq4_kt",     "q1_0_g128", "iq3_k",      "iq3_ks",    "iq2_kl",
    "iq4_k",     "iq4_k_r4",  "iq3_k_r4",   "iq5_k",      "iq5_k_r4",  "iq6_k",      "iq4_nl_r4", "iq4_xs_r8",
    "q4_0_r8",   "q8_0_r8",   "q5_0_r4",    "q6_0_r4",    "i2_s"};
// Our types ik_llama.cpp has no ggml type for (its ternary types are iq1_bn and iq2_bn instead).
constexpr std::array kTypesMissingInIk = {GgmlType::TQ1_0, GgmlType::TQ2_0};

// File types both tools accept as the base type without an imatrix, with the tensor type each
// stands for; 32-value blocks first, because llama.cpp of 2025 skipped a rule when the type its
// mix picked for the tensor needed a row-length fallback (PR #14995), which small blocks never do
// for rows whose length is a multiple of 32.
struct BaseFileType {
  const char *file_type;
  const char *tensor_type;
};
constexpr std::array kBaseFileTypes = {
    BaseFileType{"Q8_0", "Q8_0"},     BaseFileType{"Q5_1", "Q5_1"},     BaseFileType{"Q5_0", "Q5_0"},
    BaseFileType{"Q4_1", "Q4_1"},     BaseFileType{"Q4_0", "Q4_0"},     BaseFileType{"IQ4_NL", "IQ4_NL"},
    BaseFileType{"Q6_K", "Q6_K"},     BaseFileType{"Q5_K_M", "Q5_K"},   BaseFileType{"Q4_K_M", "Q4_K"},
};

// ---- small string helpers ----

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char &c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) { return to_lower(a) == to_lower(b); }

template <size_t N>
const char *find_name(const std::array<const char *, N> &names, std::string_view name, bool ignore_case) {
  for (const char *known : names)
    if (ignore_case ? equal_ignoring_case(known, name) : name == known) return known;
  return nullptr;
}

bool missing_in_ik(const QuantType &type) {
  return std::find(kTypesMissingInIk.begin(), kTypesMissingInIk.end(), type.id) != kTypesMissingInIk.end();
}

std::string_view trim(std::string_view s) {
  const auto is_blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  size_t begin = 0;
  for (size_t at = s.find(separator); at != std::string_view::npos; at = s.find(separator, begin)) {
    parts.push_back(s.substr(begin, at - begin));
    begin = at + 1;
  }
  parts.push_back(s.substr(begin));
  return parts;
}

// Single-quotes a shell word unless it is made only of characters no shell treats specially.
std::string shell_quote(std::string_view word) {
  const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_./:=@%+,-", c) != nullptr;
  });
  if (plain) return std::string(word);
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// ---- export ----

// Name characters written as themselves; '.' becomes "\."; everything else "\xHH" (lower-case hex),
// which survives llama.cpp's lower-casing and contains no character the recipe formats split on.
std::string escape_name_part(std::string_view part) {
  static const char *kHex = "0123456789abcdef";
  std::string out;
  for (char c : part) {
    const auto byte = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
      out += c;
    } else if (c == '.') {
      out += "\\.";
    } else {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

bool is_canonical_decimal(std::string_view s) {
  if (s.empty() || s.size() > 9) return false;  // 9 digits: far beyond any layer count, fits int64
  if (s.size() > 1 && s[0] == '0') return false;  // "07" is not the layer a range regex would match
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A name with a "blk.N." component: prefix (up to and including the '.' before "blk"), N, and the
// non-empty rest. The first such component is taken, so names equal up to N split identically.
struct LayeredName {
  std::string prefix;
  int64_t layer;
  std::string rest;
};

std::optional<LayeredName> split_layered_name(const std::string &name) {
  size_t begin = 0;
  while (true) {
    const size_t end = name.find('.', begin);
    if (end == std::string::npos) return std::nullopt;
    if (std::string_view(name).substr(begin, end - begin) == "blk") {
      const size_t number_end = name.find('.', end + 1);
      if (number_end != std::string::npos && number_end + 1 < name.size()) {
        const std::string_view number = std::string_view(name).substr(end + 1, number_end - end - 1);
        if (is_canonical_decimal(number))
          return LayeredName{name.substr(0, begin), std::stoll(std::string(number)), name.substr(number_end + 1)};
      }
    }
    begin = end + 1;
  }
}

std::string digit_class(char first, char last) {
  if (first == last) return std::string(1, first);
  return std::string("[") + first + "-" + last + "]";
}

// Regex alternatives matching exactly the decimal strings from lo to hi, which have equal length.
void same_length_range(const std::string &lo, const std::string &hi, std::vector<std::string> &out) {
  if (lo == hi) {
    out.push_back(lo);
    return;
  }
  if (lo[0] == hi[0]) {
    std::vector<std::string> tails;
    same_length_range(lo.substr(1), hi.substr(1), tails);
    for (const auto &tail : tails) out.push_back(lo[0] + tail);
    return;
  }
  const size_t tail_length = lo.size() - 1;
  const std::string tail_lo = lo.substr(1), tail_hi = hi.substr(1);
  const bool lo_tail_is_zeros = tail_lo.find_first_not_of('0') == std::string::npos;
  const bool hi_tail_is_nines = tail_hi.find_first_not_of('9') == std::string::npos;
  // lo..(lo[0])99..9, then whole decades of the middle first digits, then (hi[0])00..0..hi.
  if (!lo_tail_is_zeros) {
    std::vector<std::string> tails;
    same_length_range(tail_lo, std::string(tail_length, '9'), tails);
    for (const auto &tail : tails) out.push_back(lo[0] + tail);
  }
  const char middle_first = lo_tail_is_zeros ? lo[0] : static_cast<char>(lo[0] + 1);
  const char middle_last = hi_tail_is_nines ? hi[0] : static_cast<char>(hi[0] - 1);
  if (middle_first <= middle_last) {
    std::string any_tail;
    for (size_t i = 0; i < tail_length; ++i) any_tail += "[0-9]";  // no {n}: ik splits rules at ','
    out.push_back(digit_class(middle_first, middle_last) + any_tail);
  }
  if (!hi_tail_is_nines) {
    std::vector<std::string> tails;
    same_length_range(std::string(tail_length, '0'), tail_hi, tails);
    for (const auto &tail : tails) out.push_back(hi[0] + tail);
  }
}

void number_range(int64_t lo, int64_t hi, std::vector<std::string> &out) {
  std::string lo_text = std::to_string(lo);
  const std::string hi_text = std::to_string(hi);
  while (lo_text.size() < hi_text.size()) {  // split where the digit count grows: 7..12 = 7..9, 10..12
    const std::string widest(lo_text.size(), '9');
    same_length_range(lo_text, widest, out);
    lo_text = "1" + std::string(lo_text.size(), '0');
  }
  same_length_range(lo_text, hi_text, out);
}

// ---- import: where a rule came from ----

struct Place {
  int64_t index = 0;
  bool is_argument = false;
};

std::string describe(const Place &place) {
  return cat(place.is_argument ? "recipe argument " : "recipe line ", place.index);
}

std::string where_in(const ParsedRecipe &recipe, int64_t line) {
  return cat(recipe.lines_are_arguments ? "argument " : "line ", line);
}

// The type as the tool accepts it, as our name; otherwise the tool's refusal, or ours.
std::string accepted_type(RecipeTool tool, std::string_view written, const std::string &context) {
  if (trim(written) != written)
    fail(context, ": type '", written, "' has blanks around it; ", recipe_tool_name(tool), " would reject it");
  const QuantType *type = find_quant_type(written);  // case-insensitive, like llama.cpp
  const char *kind_hint = " (a ggml tensor type such as q4_K, q8_0 or iq4_xs; not a file type such as Q4_K_M)";
  if (tool == RecipeTool::llama) {
    if (type) return type->name;
    if (find_name(kLlamaOnlyTypeNames, written, true))
      fail(context, ": type '", written, "' is a llama.cpp type quantscope does not support");
    fail(context, ": unknown type '", written, "': llama-quantize would reject it", kind_hint);
  }
  if (type && !missing_in_ik(*type)) {
    const std::string spelling = ggml_type_spelling(*type);
    if (written == spelling) return type->name;
    fail(context, ": type '", written, "' is not spelled as ggml spells it; ik_llama.cpp compares type names exactly ",
         "and would reject it: write '", spelling, "'");
  }
  if (type) fail(context, ": ik_llama.cpp has no type '", written, "' (", type->name, " exists in llama.cpp only)");
  if (find_name(kIkOnlyTypeNames, written, false))
    fail(context, ": type '", written, "' is an ik_llama.cpp type quantscope does not support");
  if (const char *spelling = find_name(kIkOnlyTypeNames, written, true))
    fail(context, ": type '", written, "' is an ik_llama.cpp type quantscope does not support (and ik_llama.cpp ",
         "compares type names exactly: it is spelled '", spelling, "')");
  fail(context, ": unknown type '", written, "': ik_llama.cpp would reject it", kind_hint);
}

// One PATTERN=TYPE item, split at its first '=' as both tools do.
RecipeRule parse_rule_item(RecipeTool tool, std::string_view item, const Place &place) {
  const std::string context = cat(describe(place), ": rule '", item, "'");
  const size_t equals = item.find('=');
  if (equals == std::string_view::npos) {
    const bool quantifier = tool == RecipeTool::ik && item.find('{') != std::string_view::npos;
    fail(context, " has no '=' (expected PATTERN=TYPE)",
         quantifier ? "; ik_llama.cpp splits rules at every ',', so a {m,n} quantifier cannot be used" : "");
  }
  std::string pattern(item.substr(0, equals));
  const std::string_view type = item.substr(equals + 1);
  if (pattern.empty())
    fail(context, " has an empty pattern",
         tool == RecipeTool::ik ? " (ik_llama.cpp would give every tensor this type; write .* if that is meant)" : "");
  if (type.empty()) fail(context, " has no type after '='");
  if (tool == RecipeTool::llama) pattern = to_lower(pattern);  // what llama-quantize compiles
  try {
    std::regex compiled(pattern);
  } catch (const std::regex_error &e) {
    fail(context, ": '", pattern, "' is not a regex std::regex accepts (", e.what(), ")");
  }
  return RecipeRule{pattern, accepted_type(tool, type, context), place.index};
}

// ---- import: command lines ----

struct Word {
  std::string text;
  Place place;
  bool expands = false;  // held a $NAME, ${...}, $(...) or `...` a shell would have replaced
};

bool starts_expansion(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '{' || c == '('; }

// Splits text into words as a POSIX shell would: blanks separate, '...' is literal, "..." keeps a
// backslash unless it precedes $ ` " \ or a newline, an unquoted backslash takes the next character
// literally (backslash-newline joins lines), '#' at the start of a word comments out the line.
// Expansions are not performed; words that would have had one are marked.
std::vector<Word> split_shell_words(std::string_view text) {
  std::vector<Word> words;
  Word word;
  bool in_word = false;
  int64_t line = 1;
  const auto start = [&] {
    if (!in_word) word = Word{"", Place{line, false}, false};
    in_word = true;
  };
  const auto finish = [&] {
    if (in_word) words.push_back(word);
    in_word = false;
  };
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const bool more = i + 1 < text.size();
    if (c == '\n') {
      finish();
      ++line;
      ++i;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      finish();
      ++i;
    } else if (c == '#' && !in_word) {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '\\') {
      if (more && text[i + 1] == '\n') {
        ++line;
      } else {
        start();
        if (more) word.text += text[i + 1];
      }
      i += 2;
    } else if (c == '\'') {
      start();
      const size_t close = text.find('\'', i + 1);
      if (close == std::string_view::npos) fail("recipe line ", line, ": a ' quote is never closed");
      const std::string_view quoted = text.substr(i + 1, close - i - 1);
      word.text += quoted;
      line += std::count(quoted.begin(), quoted.end(), '\n');
      i = close + 1;
    } else if (c == '"') {
      start();
      const int64_t opened_on = line;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        const char d = text[i];
        if (d == '\\' && i + 1 < text.size() && std::strchr("$`\"\\\n", text[i + 1]) != nullptr) {
          if (text[i + 1] == '\n') ++line;
          else word.text += text[i + 1];
          ++i;
          continue;
        }
        if ((d == '$' && i + 1 < text.size() && starts_expansion(text[i + 1])) || d == '`') word.expands = true;
        if (d == '\n') ++line;
        word.text += d;
      }
      if (i >= text.size()) fail("recipe line ", opened_on, ": a \" quote is never closed");
      ++i;
    } else {
      start();
      if ((c == '$' && more && starts_expansion(text[i + 1])) || c == '`') word.expands = true;
      word.text += c;
      ++i;
    }
  }
  finish();
  return words;
}

// Whether a line that is not a '#' comment has a word starting with one of the option names.
bool mentions_option(std::string_view text, const std::vector<std::string_view> &options) {
  for (std::string_view line : split(text, '\n')) {
    if (trim(line).starts_with('#')) continue;
    for (std::string_view word : split(line, ' '))
      for (std::string_view piece : split(word, '\t'))
        for (std::string_view option : options)
          if (trim(piece).starts_with(option)) return true;
  }
  return false;
}

// The exact tensor names an option sets, for the options that name their tensors.
std::optional<std::vector<std::string>> named_option_tensors(RecipeTool tool, std::string_view option) {
  // llama.cpp's token-embedding category also holds Gemma 3n's per-layer table
  // (tensor_name_match_token_embd); ik_llama.cpp compares with "token_embd.weight" only and has
  // its own option for the per-layer one.
  if (option == "--token-embedding-type") {
    if (tool == RecipeTool::llama) return std::vector<std::string>{"token_embd.weight", "per_layer_token_embd.weight"};
    return std::vector<std::string>{"token_embd.weight"};
  }
  if (option == "--output-tensor-type") return std::vector<std::string>{"output.weight"};
  if (tool == RecipeTool::ik && option == "--per-layer-token-embedding-type")
    return std::vector<std::string>{"per_layer_token_embd.weight"};
  return std::nullopt;
}

ParsedRecipe parse_command_words(RecipeTool tool, const std::vector<Word> &words, bool from_arguments) {
  ParsedRecipe recipe;
  recipe.tool = tool;
  recipe.lines_are_arguments = from_arguments;
  const std::string rules_option = tool == RecipeTool::llama ? "--tensor-type" : "--custom-q";
  const std::vector<std::string> named_options = {"--token-embedding-type", "--output-tensor-type",
                                                  "--per-layer-token-embedding-type"};
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string &text = words[i].text;
    // "--option value" and "--option=value"
    const auto value_of = [&](const std::string &option) -> std::optional<Word> {
      if (text == option) {
        if (i + 1 >= words.size()) fail(describe(words[i].place), ": ", option, " has no value");
        return words[++i];
      }
      if (text.starts_with(option + "=")) {
        Word value = words[i];
        value.text = text.substr(option.size() + 1);
        return value;
      }
      return std::nullopt;
    };
    const auto check_expansion = [&](const Word &value, const std::string &option) {
      if (value.expands)
        fail(describe(value.place), ": ", option, " '", value.text, "' uses a shell variable or command; ",
             "import the text it stands for (the rules themselves) instead");
    };
    if (text.starts_with("--tensor-type-file") && tool == RecipeTool::llama) {
      const std::optional<Word> file = value_of("--tensor-type-file");
      fail(describe(words[i].place), ": --tensor-type-file ", file ? file->text : std::string(),
           ": the rules are in that file, which this text does not hold; import the file's text instead");
    }
    if (const std::optional<Word> value = value_of(rules_option)) {
      check_expansion(*value, rules_option);
      // llama-quantize takes one rule per --tensor-type; ik_llama.cpp splits --custom-q at ','.
      const std::vector<std::string_view> items =
          tool == RecipeTool::llama ? std::vector<std::string_view>{value->text} : split(value->text, ',');
      for (std::string_view item : items) recipe.rules.push_back(parse_rule_item(tool, item, value->place));
      continue;
    }
    for (const std::string &option : named_options) {
      const std::optional<std::vector<std::string>> tensors = named_option_tensors(tool, option);
      if (!tensors) continue;
      if (const std::optional<Word> value = value_of(option)) {
        check_expansion(*value, option);
        const std::string context = cat(describe(value->place), ": ", option, " ", value->text);
        recipe.named_types.push_back(
            NamedTensorType{option, *tensors, accepted_type(tool, value->text, context), value->place.index});
        break;
      }
    }
  }
  return recipe;
}

std::vector<Word> argument_words(const std::vector<std::string> &args) {
  std::vector<Word> words;
  for (size_t i = 0; i < args.size(); ++i) words.push_back(Word{args[i], Place{static_cast<int64_t>(i + 1), true}, false});
  return words;
}

std::string rule_text(const RecipeRule &rule) {
  const QuantType *type = find_quant_type(rule.type);
  return rule.pattern + "=" + (type ? ggml_type_spelling(*type) : rule.type);
}

void require_ik_types(const std::vector<RecipeRule> &rules) {
  for (const auto &rule : rules) {
    const QuantType &type = quant_type_by_name(rule.type);
    if (missing_in_ik(type))
      fail("ik_llama.cpp has no type ", ggml_type_spelling(type), " (rule ", rule.pattern, "): it cannot quantize to ",
           type.name);
  }
}

}  // namespace

const char *recipe_tool_name(RecipeTool tool) {
  return tool == RecipeTool::llama ? "llama-quantize (llama.cpp)" : "llama-quantize (ik_llama.cpp)";
}

std::string ggml_type_spelling(const QuantType &type) {
  std::string spelling = to_lower(type.name);
  if (spelling.ends_with("_k")) spelling.back() = 'K';  // ggml keeps the k-quant suffix upper case
  return spelling;
}

std::string layer_set_regex(std::vector<int64_t> layers) {
  if (layers.empty()) fail("layer_set_regex: no layers");
  std::sort(layers.begin(), layers.end());
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  if (layers.front() < 0) fail("layer_set_regex: negative layer ", layers.front());
  std::vector<std::string> alternatives;
  for (size_t begin = 0; begin < layers.size();) {
    size_t end = begin + 1;  // one run of consecutive layers
    while (end < layers.size() && layers[end] == layers[end - 1] + 1) ++end;
    number_range(layers[begin], layers[end - 1], alternatives);
    begin = end;
  }
  if (alternatives.size() == 1) return alternatives.front();
  std::string joined;
  for (const auto &alternative : alternatives) joined += (joined.empty() ? "" : "|") + alternative;
  return "(" + joined + ")";
}

std::vector<RecipeRule> export_recipe_rules(const std::vector<TypeAssignment> &assignment) {
  // One group per literal name, or per (prefix, rest, type) of layered names, in model order.
  struct Group {
    std::optional<LayeredName> shape;  // none: a literal name
    std::string literal_name;
    std::string type;
    std::vector<int64_t> layers;
  };
  std::vector<Group> groups;
  std::map<std::tuple<std::string, std::string, std::string>, size_t> layered_group;
  std::unordered_set<std::string> seen;
  for (const auto &item : assignment) {
    if (item.tensor.empty()) fail("recipe export: a tensor has an empty name");
    if (!seen.insert(item.tensor).second) fail("recipe export: tensor '", item.tensor, "' is listed twice");
    const QuantType *type = find_quant_type(item.type);
    if (!type) fail("recipe export: tensor '", item.tensor, "' has unknown type '", item.type, "'");
    std::optional<LayeredName> layered = split_layered_name(item.tensor);
    if (!layered) {
      groups.push_back(Group{std::nullopt, item.tensor, type->name, {}});
      continue;
    }
    const auto key = std::make_tuple(layered->prefix, layered->rest, std::string(type->name));
    auto [found, inserted] = layered_group.try_emplace(key, groups.size());
    if (inserted) groups.push_back(Group{layered, "", type->name, {}});
    groups[found->second].layers.push_back(layered->layer);
  }
  std::vector<RecipeRule> rules;
  for (const auto &group : groups) {
    std::string pattern;
    if (!group.shape) {
      pattern = "^" + escape_name_part(group.literal_name) + "$";
    } else {
      pattern = "^" + escape_name_part(group.shape->prefix) + "blk\\." + layer_set_regex(group.layers) + "\\." +
                escape_name_part(group.shape->rest) + "$";
    }
    rules.push_back(RecipeRule{pattern, group.type, 0});
  }
  return rules;
}

std::string recipe_base_type(const std::vector<RecipeRule> &rules) {
  for (const auto &base : kBaseFileTypes) {
    const bool used = std::any_of(rules.begin(), rules.end(),
                                  [&](const RecipeRule &rule) { return equal_ignoring_case(rule.type, base.tensor_type); });
    if (!used) return base.file_type;
  }
  return kBaseFileTypes.front().file_type;
}

std::string llama_tensor_type_file(const std::vector<RecipeRule> &rules) {
  std::string text;
  for (const auto &rule : rules) text += rule_text(rule) + "\n";
  return text;
}

std::string llama_quantize_command(const std::vector<RecipeRule> &rules, const RecipeCommandPaths &paths) {
  std::string command = "llama-quantize --tensor-type-file " + shell_quote(paths.tensor_type_file);
  if (!paths.imatrix.empty()) command += " --imatrix " + shell_quote(paths.imatrix);
  return command + " " + shell_quote(paths.input_gguf) + " " + shell_quote(paths.output_gguf) + " " +
         recipe_base_type(rules);
}

std::string ik_custom_q_argument(const std::vector<RecipeRule> &rules) {
  require_ik_types(rules);
  std::string argument;
  for (const auto &rule : rules) argument += (argument.empty() ? "" : ",") + rule_text(rule);
  return argument;
}

std::string ik_recipe_lines(const std::vector<RecipeRule> &rules) {
  require_ik_types(rules);
  std::string text =
      "# ik_llama.cpp recipe (quantscope): one rule per line, the first matching rule wins.\n"
      "# llama-quantize --custom-q \"$(grep -v '^#' recipe.txt | paste -sd, -)\" IN.gguf OUT.gguf " +
      recipe_base_type(rules) + "\n";
  for (const auto &rule : rules) text += rule_text(rule) + "\n";
  return text;
}

std::string ik_quantize_command(const std::vector<RecipeRule> &rules, const RecipeCommandPaths &paths) {
  std::string command = "llama-quantize";
  if (!paths.imatrix.empty()) command += " --imatrix " + shell_quote(paths.imatrix);
  command += " --custom-q " + shell_quote(ik_custom_q_argument(rules));
  return command + " " + shell_quote(paths.input_gguf) + " " + shell_quote(paths.output_gguf) + " " +
         recipe_base_type(rules);
}

ParsedRecipe parse_llama_recipe(std::string_view text) {
  if (mentions_option(text, {"--tensor-type", "--token-embedding-type", "--output-tensor-type"}))
    return parse_command_words(RecipeTool::llama, split_shell_words(text), false);
  // A --tensor-type-file: llama-quantize reads it word by word (`file >> arg`).
  ParsedRecipe recipe;
  recipe.tool = RecipeTool::llama;
  int64_t line = 1;
  size_t i = 0;
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      if (text[i++] == '\n') ++line;
      continue;
    }
    const size_t begin = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    recipe.rules.push_back(parse_rule_item(RecipeTool::llama, text.substr(begin, i - begin), Place{line, false}));
  }
  return recipe;
}

ParsedRecipe parse_llama_recipe_args(const std::vector<std::string> &args) {
  return parse_command_words(RecipeTool::llama, argument_words(args), true);
}

ParsedRecipe parse_ik_recipe(std::string_view text) {
  if (mentions_option(text, {"--custom-q"})) return parse_command_words(RecipeTool::ik, split_shell_words(text), false);
  ParsedRecipe recipe;
  recipe.tool = RecipeTool::ik;
  int64_t line = 0;
  for (std::string_view raw : split(text, '\n')) {
    ++line;
    const std::string_view content = trim(raw);
    if (content.empty() || content.starts_with('#')) continue;
    for (std::string_view item : split(content, ','))
      recipe.rules.push_back(parse_rule_item(RecipeTool::ik, item, Place{line, false}));
  }
  return recipe;
}

ParsedRecipe parse_ik_recipe_args(const std::vector<std::string> &args) {
  return parse_command_words(RecipeTool::ik, argument_words(args), true);
}

ParsedRecipe parse_recipe(RecipeTool tool, std::string_view text) {
  return tool == RecipeTool::llama ? parse_llama_recipe(text) : parse_ik_recipe(text);
}

RecipeImport resolve_recipe(const ParsedRecipe &recipe, const std::vector<std::string> &tensor_names,
                            RulePrecedence precedence) {
  if (recipe.tool == RecipeTool::ik) precedence = RulePrecedence::first_match;
  std::vector<std::regex> compiled;
  for (const auto &rule : recipe.rules) {
    try {
      compiled.emplace_back(rule.pattern);
    } catch (const std::regex_error &e) {
      fail(describe(Place{rule.line, recipe.lines_are_arguments}), ": '", rule.pattern,
           "' is not a regex std::regex accepts (", e.what(), ")");
    }
  }
  // Exact names set by options; a later option of the same name replaces an earlier one.
  std::unordered_map<std::string, const NamedTensorType *> named;
  for (const auto &option : recipe.named_types)
    for (const auto &tensor : option.tensors) named[tensor] = &option;

  RecipeImport result;
  std::vector<bool> decides(recipe.rules.size(), false), matches(recipe.rules.size(), false);
  for (const auto &name : tensor_names) {
    ImportedTensorType entry{name, std::nullopt, ""};
    std::optional<size_t> chosen;
    for (size_t r = 0; r < compiled.size(); ++r) {
      if (!std::regex_search(name, compiled[r])) continue;
      matches[r] = true;
      if (!chosen || precedence == RulePrecedence::last_match) chosen = r;
    }
    if (const auto option = named.find(name); option != named.end()) {
      entry.type = option->second->type;
      entry.decided_by = cat(option->second->option, " (", where_in(recipe, option->second->line), ")");
    } else if (chosen) {
      const RecipeRule &rule = recipe.rules[*chosen];
      decides[*chosen] = true;
      entry.type = rule.type;
      entry.decided_by = rule.line > 0 ? cat(where_in(recipe, rule.line), ": ", rule_text(rule)) : rule_text(rule);
    }
    result.tensors.push_back(std::move(entry));
  }
  for (size_t r = 0; r < recipe.rules.size(); ++r) {
    if (decides[r]) continue;
    result.unused_rules.push_back(recipe.rules[r]);
    if (matches[r]) result.shadowed_rules.push_back(recipe.rules[r]);
  }
  return result;
}

RecipeImport import_recipe(RecipeTool tool, std::string_view text, const std::vector<std::string> &tensor_names,
                           RulePrecedence precedence) {
  return resolve_recipe(parse_recipe(tool, text), tensor_names, precedence);
}

}  // namespace qs
