// The shipped kjv-llama tokenizer against HF tokenizers' own output: every string of
// tests/data/reference/tokenizer_vectors.json (made by tools/train/make_reference.py with
// tokenizers 0.23) must encode to the same ids, with and without BOS and with special-token
// parsing off, spell the same pieces, and decode to the same text.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <cstring>

#include "model/tokenizer.h"
#include "model/tokenizer_vectors.h"

namespace qs::tokenizer_vectors_test {
namespace {

TEST(TokenizerVectors, EveryReferenceStringMatchesHfTokenizers) {
  const Tokenizer tokenizer = Tokenizer::from_hf_files(test::kjv_tokenizer_dir());
  const std::vector<test::TokenizerVector> vectors = test::load_tokenizer_vectors();
  ASSERT_GE(vectors.size(), 60u);
  EXPECT_EQ(tokenizer.bos_id(), 3836);  // <|begin_of_text|>, the first added token after 3836 BPE tokens
  EXPECT_EQ(tokenizer.eos_id(), 3837);
  EXPECT_EQ(tokenizer.pad_id(), 3838);
  EXPECT_EQ(tokenizer.vocab_size(), 3840);
  size_t n_with_unparsed = 0;
  for (const test::TokenizerVector &v : vectors) {
    SCOPED_TRACE(v.text);
    EXPECT_EQ(tokenizer.encode(v.text, true), v.ids_with_bos);
    const std::vector<int32_t> ids = tokenizer.encode(v.text, false);
    EXPECT_EQ(ids, v.ids_no_special);
    std::vector<std::string> pieces;
    for (int32_t id : ids) pieces.push_back(tokenizer.token_text(id));
    EXPECT_EQ(pieces, v.pieces_no_special);
    EXPECT_EQ(tokenizer.decode(v.ids_no_special), v.decoded);
    if (v.ids_no_special_parse) {
      EXPECT_EQ(tokenizer.encode(v.text, false, /*parse_special=*/false), *v.ids_no_special_parse);
      ++n_with_unparsed;
    }
  }
  EXPECT_EQ(n_with_unparsed, vectors.size());
}

std::string read_file(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path << " is missing";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The one I32 tensor "tokens" of a safetensors file: 8-byte little-endian header length, JSON
// header, then the data at the header's data_offsets.
std::vector<int32_t> read_safetensors_tokens(const std::filesystem::path &path) {
  const std::string bytes = read_file(path);
  if (bytes.size() < 8) return {};
  uint64_t header_size = 0;
  std::memcpy(&header_size, bytes.data(), 8);
  const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, header_size));
  EXPECT_EQ(header["tokens"]["dtype"], "I32");
  const auto offsets = header["tokens"]["data_offsets"].get<std::vector<uint64_t>>();
  std::vector<int32_t> tokens((offsets[1] - offsets[0]) / 4);
  std::memcpy(tokens.data(), bytes.data() + 8 + header_size + offsets[0], tokens.size() * 4);
  return tokens;
}

TEST(TokenizerVectors, EvalTextEncodesAsHfTokenizersAndRoundTrips) {
  const Tokenizer tokenizer = Tokenizer::from_hf_files(test::kjv_tokenizer_dir());
  const std::string text = read_file(test::kjv_tokenizer_dir() / "eval.txt");
  const std::vector<int32_t> expected =
      read_safetensors_tokens(std::filesystem::path(QUANTSCOPE_SOURCE_DIR) / "tests/data/reference/tokens_eval_kjv.safetensors");
  ASSERT_EQ(expected.size(), 48156u);  // as tests/data/reference/README.md states
  const std::vector<int32_t> ids = tokenizer.encode(text, true);
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(tokenizer.decode(std::span(ids).subspan(1)), text);
}

}  // namespace
}  // namespace qs::tokenizer_vectors_test
