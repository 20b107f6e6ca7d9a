// 500 seeded random strings (scripts, whitespace, controls, emoji, contractions, added-token text)
// encoded by HF tokenizers 0.23.2 (tools/tokenizer/make_fuzz_vectors.py): the kjv-llama tokenizer
// with six more added tokens using every flag (single_word, lstrip + rstrip, normalized or not,
// two that collide with vocabulary entries), and the same with GPT-2's ByteLevel(add_prefix_space)
// pre-tokenizer. Every id list and every decoded text must be the same.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/tokenizer.h"

namespace qs::tokenizer_fuzz_vectors_test {
namespace {

using nlohmann::json;
using Ids = std::vector<int32_t>;

std::string read_file(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path << " is missing";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(TokenizerFuzzVectors, RandomStringsMatchHfTokenizersWithEveryAddedTokenFlag) {
  const std::filesystem::path root(QUANTSCOPE_SOURCE_DIR);
  const json vectors = json::parse(read_file(root / "tests/data/reference/tokenizer_fuzz_vectors.json"));
  json tokenizer = json::parse(read_file(root / "models/kjv-llama/tokenizer.json"));
  tokenizer["added_tokens"] = vectors["about"]["added_tokens"];
  const Tokenizer t = Tokenizer::from_hf_json(tokenizer.dump(), "", "", "kjv+added");
  tokenizer["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  const Tokenizer prefix_space = Tokenizer::from_hf_json(tokenizer.dump(), "", "", "kjv+added, GPT-2 pre-tokenizer");

  ASSERT_EQ(vectors["strings"].size(), 500u);
  size_t n_lossy = 0;
  for (const json &v : vectors["strings"]) {
    const std::string text = v["text"];
    SCOPED_TRACE(text);
    EXPECT_EQ(t.encode(text, true), v["ids_with_bos"].get<Ids>());
    EXPECT_EQ(t.encode(text, false), v["ids_no_special"].get<Ids>());
    EXPECT_EQ(t.encode(text, false, false), v["ids_no_special_parse"].get<Ids>());
    EXPECT_EQ(prefix_space.encode(text, false), v["ids_prefix_space"].get<Ids>());
    EXPECT_EQ(t.decode(v["ids_no_special"].get<Ids>()), v["decoded"].get<std::string>());
    n_lossy += v["decoded"] != v["text"];
  }
  // Some texts do not come back: stripped spaces, and "\xe9" (é), an added token that took the id
  // of the byte-level token for byte 0xE9 and so decodes to that lone byte, U+FFFD.
  EXPECT_EQ(n_lossy, 24u);
}

}  // namespace
}  // namespace qs::tokenizer_fuzz_vectors_test
