// tests/data/reference/tokenizer_vectors.json (strings and the ids HF tokenizers gives them) and
// the shipped tokenizer's directory, for the tests that compare against them. A missing file is a
// test failure, never a skip.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace qs::test {

struct TokenizerVector {
  std::string text;
  std::vector<int32_t> ids_with_bos, ids_no_special;
  std::vector<std::string> pieces_no_special;
  std::string decoded;
  std::optional<std::vector<int32_t>> ids_no_special_parse;  // special-token text left as text
};

inline std::filesystem::path kjv_tokenizer_dir() {
  return std::filesystem::path(QUANTSCOPE_SOURCE_DIR) / "models/kjv-llama";
}

inline std::vector<TokenizerVector> load_tokenizer_vectors() {
  const auto path = std::filesystem::path(QUANTSCOPE_SOURCE_DIR) / "tests/data/reference/tokenizer_vectors.json";
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << path << " is missing";
    return {};
  }
  const nlohmann::json list = nlohmann::json::parse(in);
  std::vector<TokenizerVector> vectors;
  for (const nlohmann::json &v : list) {
    TokenizerVector t;
    t.text = v.at("text").get<std::string>();
    t.ids_with_bos = v.at("ids_with_bos").get<std::vector<int32_t>>();
    t.ids_no_special = v.at("ids_no_special").get<std::vector<int32_t>>();
    t.pieces_no_special = v.at("pieces_no_special").get<std::vector<std::string>>();
    t.decoded = v.at("decoded").get<std::string>();
    if (v.contains("ids_no_special_parse")) t.ids_no_special_parse = v["ids_no_special_parse"].get<std::vector<int32_t>>();
    vectors.push_back(std::move(t));
  }
  return vectors;
}

}  // namespace qs::test
