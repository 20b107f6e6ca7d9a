// Reading a text file and tokenizing it with the model's own tokenizer (tokenizer.json of an HF
// directory, or the tokenizer.ggml.* metadata of a GGUF), for perplexity and imatrix runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "model/model_source.h"
#include "model/tokenizer.h"

namespace qs {

// The whole file; qs::Error if it is missing, unreadable or empty.
std::string read_text_file(const std::filesystem::path &path);

Tokenizer tokenizer_of(const ModelSource &source);

struct TokenizedText {
  std::vector<int32_t> tokens;   // BOS first when the tokenizer adds one
  std::optional<int32_t> bos;    // the BOS id when the tokenizer adds one (chunks start with it)
};

// Tokenizes the file; qs::Error naming it when it holds fewer than min_tokens tokens.
TokenizedText tokenize_text_file(const ModelSource &source, const std::filesystem::path &path, int64_t min_tokens);

}  // namespace qs
