// A tokenizer.json small enough to work out every encoding by hand: 23 byte-level BPE tokens, six
// merges, Llama 3's pre-tokenizer and eight added tokens exercising every flag.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace qs::test {

// Byte-level spellings used below: U+0120 'Ġ' is the byte ' ', U+010A 'Ċ' is '\n'; the bytes of
// "€" (E2 82 AC) are U+00E2 'â' (printable, itself), U+0124 'Ĥ' (0x82 is the 37th unprintable
// byte: 256 + 33 (0x00..0x20) + 1 (0x7F) + 2) and U+00AC '¬' (itself).
inline nlohmann::json tiny_tokenizer_json(bool ignore_merges = true, bool legacy_merges = false) {
  using nlohmann::json;
  const json vocab = {{"a", 0},  {"b", 1},  {"c", 2},          {"d", 3},   {"\xC4\xA0", 4},  {"ab", 5},
                      {"bc", 6}, {"abc", 7}, {"\xC4\xA0" "a", 8}, {"cd", 9}, {"cab", 10},      {"aa", 11},
                      {"<", 12}, {"|", 13},  {">", 14},          {"x", 15},  {"y", 16},        {"z", 17},
                      {"q", 18}, {"\xC4\x8A", 19}, {"\xC3\xA2", 20}, {"\xC4\xA4", 21}, {"\xC2\xAC", 22}};
  // Ranks 0..5. "cab" is in the vocabulary but no merge makes it (only ignore_merges can).
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"b", "c"}, {"a", "b"}, {"a", "bc"}, {"\xC4\xA0", "a"}, {"c", "d"}, {"a", "a"}};
  json merge_list = json::array();
  for (const auto &[a, b] : merges) merge_list.push_back(legacy_merges ? json(a + " " + b) : json::array({a, b}));

  const auto added = [](int id, const char *content, bool special, bool normalized, bool single_word = false,
                        bool lstrip = false, bool rstrip = false) {
    return json{{"id", id},         {"content", content}, {"single_word", single_word}, {"lstrip", lstrip},
                {"rstrip", rstrip}, {"normalized", normalized}, {"special", special}};
  };
  return json{
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens",
       json::array({added(23, "<|bos|>", true, false), added(24, "<|eos|>", true, false),
                    added(25, "<|x|>", true, false), added(26, "<|x|>y", true, false),
                    added(27, "zz", false, true, /*single_word=*/true), added(28, "<m>", false, false, false, true, true),
                    added(29, "xab", false, true), added(30, "bq", false, false)})},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         json::array({{{"type", "Split"},
                       {"pattern",
                        {{"Regex",
                          "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                          "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}}},
                       {"behavior", "Isolated"},
                       {"invert", false}},
                      {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}})}}},
      {"post_processor",
       {{"type", "Sequence"},
        {"processors",
         json::array({{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}},
                      {{"type", "TemplateProcessing"},
                       {"single", json::array({{{"SpecialToken", {{"id", "<|bos|>"}, {"type_id", 0}}}},
                                               {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
                       {"pair", json::array({{{"SpecialToken", {{"id", "<|bos|>"}, {"type_id", 0}}}},
                                             {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                             {{"SpecialToken", {{"id", "<|bos|>"}, {"type_id", 1}}}},
                                             {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}})},
                       {"special_tokens",
                        {{"<|bos|>", {{"id", "<|bos|>"}, {"ids", {23}}, {"tokens", {"<|bos|>"}}}}}}}})}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", ignore_merges},
        {"vocab", vocab},
        {"merges", merge_list}}}};
}

inline nlohmann::json tiny_tokenizer_config() {
  return {{"add_bos_token", true}, {"add_eos_token", false}, {"bos_token", "<|bos|>"},
          {"eos_token", "<|eos|>"}, {"pad_token", {{"content", "<|x|>"}, {"special", true}}}};
}

}  // namespace qs::test
