// The byte-level BPE tokenizer on tokenizers small enough to work out by hand: GPT-2's byte map,
// merge order by rank, ignore_merges, added-token splitting with its flags, templates, decoding,
// Oniguruma-compatible regexes, and clear errors for what is not supported.
#include "model/tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "core/error.h"
#include "model/byte_level.h"
#include "model/pretokenizer.h"
#include "model/tiny_tokenizer.h"
#include "test_support.h"

namespace qs::tokenizer_test {
namespace {

using Ids = std::vector<int32_t>;
using nlohmann::json;

Tokenizer tiny(bool ignore_merges = true, bool legacy_merges = false) {
  return Tokenizer::from_hf_json(test::tiny_tokenizer_json(ignore_merges, legacy_merges).dump(),
                                 test::tiny_tokenizer_config().dump(), "", "tiny");
}

using test::error_of;

TEST(ByteLevel, MapsEveryByteByGpt2sRule) {
  // openai/gpt-2 encoder.py: '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for themselves; the other
  // bytes, in increasing order, take 256, 257, ...
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const char32_t expected = printable ? char32_t(b) : next++;
    EXPECT_EQ(byte_level::byte_to_codepoint(uint8_t(b)), expected) << "byte " << b;
    EXPECT_EQ(byte_level::codepoint_to_byte(expected), b);
  }
  EXPECT_EQ(next, char32_t(256 + 68));
  // Well-known spellings from GPT-2's vocabulary: 'Ġ' = space, 'Ċ' = newline, 'ĉ' = tab, 'Ń' = 0xAD.
  EXPECT_EQ(byte_level::encode(" \n\t\xAD"), "\xC4\xA0\xC4\x8A\xC4\x89\xC5\x83");
  EXPECT_EQ(byte_level::codepoint_to_byte(U'A'), 'A');
  EXPECT_EQ(byte_level::codepoint_to_byte(0x144), -1);  // past the 256 used code points
  EXPECT_EQ(byte_level::codepoint_to_byte(0x20), -1);   // a raw space is never byte-level text
}

TEST(ByteLevel, LossyUtf8ReplacesEachMaximalSubpart) {
  EXPECT_EQ(utf8::lossy("ok \xE2\x82\xAC"), "ok \xE2\x82\xAC");
  // E2 82 is the start of a 3-byte sequence cut short: one U+FFFD; 0x80 alone: another.
  EXPECT_EQ(utf8::lossy("\xE2\x82" "a\x80"), "\xEF\xBF\xBD" "a\xEF\xBF\xBD");
  // C0 and F5 can start nothing; ED A0 would be a surrogate: ED is one subpart, A0 another.
  EXPECT_EQ(utf8::lossy("\xC0\xF5\xED\xA0"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(utf8::first_invalid("ab\xF0\x9F\x98"), 2u);
  EXPECT_EQ(utf8::first_invalid("ab\xF0\x9F\x98\x80"), std::string_view::npos);
}

TEST(Tokenizer, MergesByRankNotByPosition) {
  const Tokenizer t = tiny();
  // a b c: "b c" has rank 0, "a b" rank 1, so bc first, then "a bc" (rank 2) -> abc. Left to
  // right it would be ab + c.
  EXPECT_EQ(t.encode("abc", false), (Ids{7}));
  // a a a: both pairs have rank 5; the leftmost merges first -> aa, a.
  EXPECT_EQ(t.encode("aaa", false), (Ids{11, 0}));
  // " abc" is one pre-token: Ġ a b c -> (b c) -> Ġ a bc -> (a bc) -> Ġ abc; the stale (a b) and
  // (Ġ a) candidates no longer apply.
  EXPECT_EQ(t.encode("ab abc", false), (Ids{5, 4, 7}));
  EXPECT_EQ(t.encode("cd\n", false), (Ids{9, 19}));  // "cd" and "\n" are separate pre-tokens
}

TEST(Tokenizer, IgnoreMergesEmitsAVocabularyPreTokenWhole) {
  EXPECT_EQ(tiny(true).encode("cab", false), (Ids{10}));
  // Without it: c a b -> c ab (no merge makes "cab").
  EXPECT_EQ(tiny(false).encode("cab", false), (Ids{2, 5}));
  EXPECT_EQ(tiny(true).encode(" a", false), (Ids{8}));
}

TEST(Tokenizer, OldAndNewMergeFormsAreTheSame) {
  const Tokenizer array_form = tiny(true, false), string_form = tiny(true, true);
  EXPECT_EQ(string_form.bpe().merges(), array_form.bpe().merges());
  for (const char *text : {"abc", "aaa", "ab abc cd", "cab"})
    EXPECT_EQ(string_form.encode(text, false), array_form.encode(text, false)) << text;
}

TEST(Tokenizer, AddedTokensAreCutOutLongestFirst) {
  const Tokenizer t = tiny();
  // "<|x|>y" (26) is longer than "<|x|>" (25) at the same place.
  EXPECT_EQ(t.encode("a<|x|>yb", false), (Ids{0, 26, 1}));
  EXPECT_EQ(t.encode("a<|x|>b", false), (Ids{0, 25, 1}));
  EXPECT_EQ(t.encode("<|bos|><|eos|>", false), (Ids{23, 24}));
  // With special tokens not parsed the text goes through the pre-tokenizer: "a" "<|" "x" "|>" "yb".
  EXPECT_EQ(t.encode("a<|x|>yb", false, false), (Ids{0, 12, 13, 15, 13, 14, 16, 1}));
}

TEST(Tokenizer, UnnormalizedAddedTokensAreFoundBeforeNormalizedOnes) {
  // "bq" (normalized = false) is looked for first, in the whole text; "xab" (normalized = true)
  // only in what is left, "xa". A single leftmost pass would have taken "xab".
  EXPECT_EQ(tiny().encode("xabq", false), (Ids{15, 0, 30}));
  EXPECT_EQ(tiny().encode("xab", false), (Ids{29}));
}

TEST(Tokenizer, SingleWordAddedTokensNeedWordBoundaries) {
  const Tokenizer t = tiny();
  EXPECT_EQ(t.encode("zz zz", false), (Ids{27, 4, 27}));
  EXPECT_EQ(t.encode("azz", false), (Ids{0, 17, 17}));  // inside a word: plain text
  EXPECT_EQ(t.encode("zza", false), (Ids{17, 17, 0}));
}

TEST(Tokenizer, StrippingAddedTokensSwallowNeighbouringWhitespace) {
  // "<m>" has lstrip and rstrip: both double spaces belong to it.
  EXPECT_EQ(tiny().encode("a  <m>  b", false), (Ids{0, 28, 1}));
  EXPECT_EQ(tiny().encode("<m>", false), (Ids{28}));
}

TEST(Tokenizer, TemplateAddsBos) {
  const Tokenizer t = tiny();
  EXPECT_EQ(t.bos_id(), 23);
  EXPECT_EQ(t.eos_id(), 24);
  EXPECT_EQ(t.pad_id(), 25);
  EXPECT_TRUE(t.add_bos());
  EXPECT_FALSE(t.add_eos());
  EXPECT_EQ(t.encode("abc", true), (Ids{23, 7}));
  EXPECT_EQ(t.encode("<|bos|>abc", true), (Ids{23, 23, 7}));
  EXPECT_EQ(t.encode("", true), (Ids{23}));
  EXPECT_EQ(t.encode("", false), (Ids{}));
  EXPECT_EQ(t.vocab_size(), 31);
  EXPECT_EQ(t.token_text(8), "\xC4\xA0" "a");
  EXPECT_EQ(t.token_text(26), "<|x|>y");
  EXPECT_EQ(t.token_id("<|eos|>"), 24);
  EXPECT_EQ(t.token_id("abc"), 7);
  EXPECT_FALSE(t.token_id("nope").has_value());
}

TEST(Tokenizer, DecodesBytesAndAddedTokens) {
  const Tokenizer t = tiny();
  EXPECT_EQ(t.encode("\xE2\x82\xAC", false), (Ids{20, 21, 22}));  // "€" byte by byte
  EXPECT_EQ(t.decode(Ids{20, 21, 22}), "\xE2\x82\xAC");
  EXPECT_EQ(t.decode(Ids{20, 21}), "\xEF\xBF\xBD");  // a cut "€": one U+FFFD
  EXPECT_EQ(t.decode(Ids{20, 21, 20, 21, 22}), "\xEF\xBF\xBD\xE2\x82\xAC");
  EXPECT_EQ(t.decode(Ids{23, 4, 7, 28}), "<|bos|> abc<m>");
  EXPECT_EQ(t.decode(Ids{23, 4, 7, 28}, /*skip_special=*/true), " abc<m>");  // <m> is not special
  for (const char *text : {"ab abc cd\n", "xabq zz", "a<|x|>yb"})
    EXPECT_EQ(t.decode(t.encode(text, false)), text);
  EXPECT_EQ(t.decode(t.encode("a  <m>  b", false)), "a<m>b");  // the stripped spaces are gone
  EXPECT_NE(error_of([&] { t.decode(Ids{31}); }).find("no token has the id 31"), std::string::npos);
}

TEST(Tokenizer, Gpt2ByteLevelPrefixesEverySegment) {
  json j = test::tiny_tokenizer_json(false);
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  const Tokenizer t = Tokenizer::from_hf_json(j.dump(), "", "", "gpt2-like");
  // " ab abc" by GPT-2's regex: " ab" -> Ġ ab (ab has the lower rank), " abc" -> Ġ abc.
  EXPECT_EQ(t.encode("ab abc", false), (Ids{4, 5, 4, 7}));
  // HF prepends the space to every stretch between added tokens, not only the first.
  EXPECT_EQ(t.encode("ab<|x|>ab", false), (Ids{4, 5, 25, 4, 5}));
  // Without tokenizer_config.json the template's first special token is the BOS.
  EXPECT_EQ(t.bos_id(), 23);
}

TEST(Tokenizer, ConfigAddsBosWhenThereIsNoTemplate) {
  json j = test::tiny_tokenizer_json();
  j["post_processor"] = nullptr;
  const Tokenizer with = Tokenizer::from_hf_json(j.dump(), test::tiny_tokenizer_config().dump(), "", "no-template");
  EXPECT_EQ(with.encode("abc", true), (Ids{23, 7}));
  json config = test::tiny_tokenizer_config();
  config["add_bos_token"] = false;
  const Tokenizer without = Tokenizer::from_hf_json(j.dump(), config.dump(), "", "no-template");
  EXPECT_EQ(without.encode("abc", true), (Ids{7}));
  EXPECT_FALSE(without.add_bos());
}

TEST(PreTokenizer, RegexFollowsOnigurumasWhitespace) {
  EXPECT_EQ(oniguruma_compatible_pattern(R"(\s+(?!\S)|[^\s\p{L}]|\\s|[\]\s]|[[:alpha:]\s])"),
            R"(\p{White_Space}+(?!\P{White_Space})|[^\p{White_Space}\p{L}]|\\s|[\]\p{White_Space}]|[[:alpha:]\p{White_Space}])");
  // U+180E is no whitespace to Oniguruma (checked against libonig 6.9.8), but PCRE2's \s takes it:
  // under the Llama 3 regex "!" + U+180E is one run of punctuation-like characters.
  const PreTokenizer pre({{std::string(kLlama3Pattern), true, SplitBehavior::Isolated, false}}, {false, false});
  std::vector<std::string_view> pieces;
  std::deque<std::string> storage;
  pre.split("!\xE1\xA0\x8E", pieces, storage);
  EXPECT_EQ(pieces, (std::vector<std::string_view>{"!\xE1\xA0\x8E"}));
  pieces.clear();
  pre.split("Hello world  \n\n 123456 it's", pieces, storage);
  EXPECT_EQ(pieces, (std::vector<std::string_view>{"Hello", " world", "  \n\n", " ", "123", "456", " it", "'s"}));
}

TEST(PreTokenizer, SplitBehaviours) {
  const auto split = [](SplitBehavior behavior, bool invert) {
    const PreTokenizer pre({{"-", false, behavior, invert}}, {false, false});
    std::vector<std::string_view> pieces;
    std::deque<std::string> storage;
    pre.split("a-b--c", pieces, storage);
    return pieces;
  };
  using V = std::vector<std::string_view>;
  // "a-b--c" split on "-", worked out from HF's NormalizedString::split: the ranges are
  // a | - | b | - | - | c (each match its own range), then each behaviour joins or drops them.
  EXPECT_EQ(split(SplitBehavior::Isolated, false), (V{"a", "-", "b", "-", "-", "c"}));
  EXPECT_EQ(split(SplitBehavior::Removed, false), (V{"a", "b", "c"}));
  EXPECT_EQ(split(SplitBehavior::MergedWithPrevious, false), (V{"a-", "b-", "-", "c"}));
  EXPECT_EQ(split(SplitBehavior::MergedWithNext, false), (V{"a", "-b", "-", "-c"}));
  EXPECT_EQ(split(SplitBehavior::Contiguous, false), (V{"a", "-", "b", "--", "c"}));
  EXPECT_EQ(split(SplitBehavior::Removed, true), (V{"-", "-", "-"}));  // invert removes the gaps
}

TEST(Tokenizer, RefusesWhatItDoesNotSupport) {
  const auto load = [](const json &j) { Tokenizer::from_hf_json(j.dump(), "", "", "dir"); };
  const auto message = [&](json j) { return error_of([&] { load(j); }); };
  json j = test::tiny_tokenizer_json();
  j["model"]["type"] = "Unigram";
  EXPECT_NE(message(j).find("dir/tokenizer.json"), std::string::npos);
  EXPECT_NE(message(j).find("Unigram"), std::string::npos);
  j["model"]["type"] = "WordPiece";
  EXPECT_NE(message(j).find("WordPiece"), std::string::npos);

  j = test::tiny_tokenizer_json();
  j["normalizer"] = {{"type", "NFC"}};
  EXPECT_NE(message(j).find("normalizer \"NFC\""), std::string::npos);
  j = test::tiny_tokenizer_json();
  j["model"]["byte_fallback"] = true;
  EXPECT_NE(message(j).find("byte_fallback"), std::string::npos);
  j = test::tiny_tokenizer_json();
  j["decoder"] = {{"type", "WordPiece"}};
  EXPECT_NE(message(j).find("decoder"), std::string::npos);
  j = test::tiny_tokenizer_json();
  j["pre_tokenizer"] = {{"type", "Metaspace"}};
  EXPECT_NE(message(j).find("Metaspace"), std::string::npos);
  j = test::tiny_tokenizer_json();
  j["model"]["merges"].push_back(json::array({"d", "d"}));  // makes "dd", not in the vocabulary
  EXPECT_NE(message(j).find("\"dd\", which is not in the vocabulary"), std::string::npos);
  j = test::tiny_tokenizer_json();
  j["model"]["merges"] = json::array({"a b c"});
  EXPECT_NE(message(j).find("model.merges[0]"), std::string::npos);
  j = test::tiny_tokenizer_json();
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
  EXPECT_NE(message(j).find("(unclosed"), std::string::npos);

  EXPECT_NE(error_of([] { Tokenizer::from_hf_json("{\"model\": [1, 2", "", "", "dir"); }).find("dir/tokenizer.json: not valid JSON"),
            std::string::npos);
  EXPECT_NE(error_of([] { tiny().encode("bad \xFF", false); }).find("not valid UTF-8"), std::string::npos);
}

TEST(Tokenizer, LoadsFromADirectoryAndNamesAMissingFile) {
  test::ScratchDir dir;
  EXPECT_NE(error_of([&] { Tokenizer::from_hf_files(dir.path()); }).find(dir.path().string() + "/tokenizer.json: no such file"),
            std::string::npos);
  std::ofstream(dir.path() / "tokenizer.json") << test::tiny_tokenizer_json().dump();
  EXPECT_EQ(Tokenizer::from_hf_files(dir.path()).encode("abc", true), (Ids{23, 7}));  // BOS from the template
  std::ofstream(dir.path() / "tokenizer_config.json") << "{\"bos_token\": ";
  EXPECT_NE(error_of([&] { Tokenizer::from_hf_files(dir.path()); }).find("tokenizer_config.json: not valid JSON"),
            std::string::npos);
}

}  // namespace
}  // namespace qs::tokenizer_test
