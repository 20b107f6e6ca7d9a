// The tokenizer as tokenizer.ggml.* metadata: the keys, types and values llama.cpp's
// convert_hf_to_gguf.py writes for a Llama 3 style BPE, and a round trip through a GGUF file after
// which from_gguf encodes exactly as from_hf_files.
#include "model/tokenizer_gguf.h"

#include <gtest/gtest.h>

#include <functional>

#include "core/error.h"
#include "model/tiny_tokenizer.h"
#include "model/tokenizer_vectors.h"
#include "test_support.h"

namespace qs::tokenizer_gguf_test {
namespace {

using Ids = std::vector<int32_t>;

Tokenizer tiny() {
  return Tokenizer::from_hf_json(test::tiny_tokenizer_json().dump(), test::tiny_tokenizer_config().dump(), "", "tiny");
}

const gguf::Value &find(const std::vector<gguf::KeyValue> &kv, std::string_view key) {
  for (const gguf::KeyValue &entry : kv)
    if (entry.key == key) return entry.value;
  throw Error(cat("no key ", key));
}

gguf::GgufFile write_and_read(const std::vector<gguf::KeyValue> &kv, const test::ScratchDir &dir) {
  const auto path = dir.path() / "tokenizer.gguf";
  gguf::GgufWriter writer(path);
  writer.set("general.architecture", "llama");
  for (const gguf::KeyValue &entry : kv) writer.set(entry.key, entry.value);
  writer.finish();
  return gguf::GgufFile::open(path);
}

using test::error_of;

TEST(TokenizerGguf, WritesWhatLlamaCppsConverterWrites) {
  const std::vector<gguf::KeyValue> kv = tokenizer_gguf_metadata(tiny(), 33);  // two ids past the last token
  EXPECT_EQ(find(kv, "tokenizer.ggml.model").as_string(), "gpt2");
  EXPECT_EQ(find(kv, "tokenizer.ggml.pre").as_string(), "llama-bpe");

  const gguf::Array &tokens = find(kv, "tokenizer.ggml.tokens").as_array();
  ASSERT_EQ(tokens.element_type, gguf::ValueType::STRING);
  ASSERT_EQ(tokens.items.size(), 33u);
  EXPECT_EQ(tokens.items[4].as_string(), "\xC4\xA0");  // byte-level spelling, as in the vocabulary
  EXPECT_EQ(tokens.items[23].as_string(), "<|bos|>");
  EXPECT_EQ(tokens.items[32].as_string(), "[PAD32]");

  const gguf::Array &types = find(kv, "tokenizer.ggml.token_type").as_array();
  ASSERT_EQ(types.element_type, gguf::ValueType::INT32);
  // 1 normal (BPE tokens), 3 control (special added tokens), 4 user-defined (other added
  // tokens), 5 unused (ids without a token).
  std::vector<int64_t> expected(33, 1);
  for (int id : {23, 24, 25, 26}) expected[id] = 3;
  for (int id : {27, 28, 29, 30}) expected[id] = 4;
  expected[31] = expected[32] = 5;
  for (size_t i = 0; i < 33; ++i) EXPECT_EQ(types.items[i].as_int(), expected[i]) << "token " << i;

  const gguf::Array &merges = find(kv, "tokenizer.ggml.merges").as_array();
  ASSERT_EQ(merges.items.size(), 6u);
  EXPECT_EQ(merges.items[0].as_string(), "b c");
  EXPECT_EQ(merges.items[3].as_string(), "\xC4\xA0 a");

  EXPECT_EQ(find(kv, "tokenizer.ggml.bos_token_id").type(), gguf::ValueType::UINT32);
  EXPECT_EQ(find(kv, "tokenizer.ggml.bos_token_id").as_int(), 23);
  EXPECT_EQ(find(kv, "tokenizer.ggml.eos_token_id").as_int(), 24);
  EXPECT_EQ(find(kv, "tokenizer.ggml.padding_token_id").as_int(), 25);
  EXPECT_EQ(find(kv, "tokenizer.ggml.add_bos_token").type(), gguf::ValueType::BOOL);
  EXPECT_EQ(find(kv, "tokenizer.ggml.add_bos_token").as_int(), 1);
  EXPECT_EQ(find(kv, "tokenizer.ggml.add_eos_token").as_int(), 0);
}

TEST(TokenizerGguf, AddedTokensThatLookSpecialAreControlTokens) {
  nlohmann::json j = test::tiny_tokenizer_json();
  j["added_tokens"][4]["content"] = "<|zz|>";  // not marked special, but named like one
  j["added_tokens"][5]["content"] = "a\xE2\x96\x81" "b";  // user-defined: U+2581 is written as a space
  const Tokenizer t = Tokenizer::from_hf_json(j.dump(), "", "", "tiny");
  const auto kv = tokenizer_gguf_metadata(t);
  EXPECT_EQ(find(kv, "tokenizer.ggml.token_type").as_array().items[27].as_int(), 3);
  EXPECT_EQ(find(kv, "tokenizer.ggml.tokens").as_array().items[28].as_string(), "a b");
}

TEST(TokenizerGguf, RoundTripEncodesAsTheHfTokenizer) {
  test::ScratchDir dir;
  const Tokenizer hf = tiny();
  const Tokenizer from_file = Tokenizer::from_gguf(write_and_read(tokenizer_gguf_metadata(hf), dir));
  EXPECT_EQ(from_file.bos_id(), 23);
  EXPECT_EQ(from_file.eos_id(), 24);
  EXPECT_TRUE(from_file.add_bos());
  EXPECT_EQ(from_file.vocab_size(), 31);
  // Strings that use no added-token flag (GGUF has no lstrip / single_word / normalized).
  for (const char *text : {"ab abc cd\n", "aaa", "cab", "a<|x|>yb", "\xE2\x82\xAC", "<|bos|>abc", ""}) {
    EXPECT_EQ(from_file.encode(text, true), hf.encode(text, true)) << text;
    EXPECT_EQ(from_file.encode(text, false, false), hf.encode(text, false, false)) << text;
  }
}

TEST(TokenizerGguf, KjvRoundTripEncodesEveryReferenceString) {
  test::ScratchDir dir;
  const Tokenizer hf = Tokenizer::from_hf_files(test::kjv_tokenizer_dir());
  // Its Split regex is verbatim the one llama.cpp's LLAMA3 pre-tokenizer was written from.
  EXPECT_EQ(llama_cpp_pre_tokenizer_name(hf), "llama-bpe");
  const Tokenizer from_file = Tokenizer::from_gguf(write_and_read(tokenizer_gguf_metadata(hf), dir));
  const std::vector<test::TokenizerVector> vectors = test::load_tokenizer_vectors();
  ASSERT_GE(vectors.size(), 60u);
  for (const test::TokenizerVector &v : vectors) {
    EXPECT_EQ(from_file.encode(v.text, true), v.ids_with_bos) << v.text;
    EXPECT_EQ(from_file.encode(v.text, false, false), v.ids_no_special_parse.value_or(Ids{})) << v.text;
    EXPECT_EQ(from_file.decode(v.ids_no_special), v.decoded) << v.text;
  }
}

TEST(TokenizerGguf, RefusesWhatLlamaCppCannotTokenizeTheSameWay) {
  nlohmann::json j = test::tiny_tokenizer_json(/*ignore_merges=*/false);
  // Llama 3's regex without ignore_merges: llama.cpp's llama-bpe would ignore merges anyway.
  const Tokenizer no_ignore = Tokenizer::from_hf_json(j.dump(), "", "", "tiny");
  EXPECT_NE(error_of([&] { tokenizer_gguf_metadata(no_ignore); }).find("llama.cpp has no pre-tokenizer"),
            std::string::npos);
  // GPT-2's byte-level regex is llama.cpp's "gpt-2".
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  EXPECT_EQ(llama_cpp_pre_tokenizer_name(Tokenizer::from_hf_json(j.dump(), "", "", "gpt2")), "gpt-2");

  test::ScratchDir dir;
  auto kv = tokenizer_gguf_metadata(tiny());
  kv[1].value = gguf::Value("qwen2");
  EXPECT_NE(error_of([&] { Tokenizer::from_gguf(write_and_read(kv, dir)); }).find("tokenizer.ggml.pre is \"qwen2\""),
            std::string::npos);
  kv[0].value = gguf::Value("llama");
  EXPECT_NE(error_of([&] { Tokenizer::from_gguf(write_and_read(kv, dir)); }).find("tokenizer.ggml.model is \"llama\""),
            std::string::npos);
}

}  // namespace
}  // namespace qs::tokenizer_gguf_test
