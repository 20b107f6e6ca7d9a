// Byte-level BPE tokenizer (GPT-2 / Llama 3 family), loaded from a Hugging Face tokenizer.json
// (+ tokenizer_config.json) or from a GGUF's tokenizer.ggml.* metadata, and encoding exactly as
// HF tokenizers does: added tokens cut out first, then the pre-tokenizer's regex split, GPT-2's
// byte-to-character map, BPE merges by rank, and the post-processor's template (BOS).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/added_tokens.h"
#include "model/bpe.h"
#include "model/pretokenizer.h"

namespace qs {

namespace gguf {
class GgufFile;
}

// One element of the post-processor's template for a single sequence: the encoded text, or
// special token ids to insert.
struct TemplatePiece {
  bool is_sequence = false;
  std::vector<int32_t> ids;  // when !is_sequence
};

// Everything a tokenizer is made of, as plain data: what the loaders fill in and what the GGUF
// writer reads back.
struct TokenizerSpec {
  std::string source;  // file it came from, named in error messages
  std::vector<std::pair<std::string, int32_t>> vocab;  // the BPE model's tokens (byte-level text)
  std::vector<BpeModel::Merge> merges;                  // in rank order
  BpeOptions bpe;
  std::vector<AddedToken> added_tokens;
  std::vector<SplitRule> splits;  // Split steps before the ByteLevel step
  ByteLevelRule byte_level;
  std::vector<TemplatePiece> template_single;  // empty: add_special adds nothing
  int32_t bos_id = -1, eos_id = -1, pad_id = -1, unk_id = -1;  // -1: none
  std::optional<bool> add_bos, add_eos;  // as tokenizer_config.json / the GGUF states them
};

class Tokenizer {
 public:
  // dir/tokenizer.json (required), dir/tokenizer_config.json and dir/config.json (optional: BOS,
  // EOS, PAD and add_bos_token). Throws qs::Error naming the file and the field for a missing or
  // malformed file and for anything this tokenizer does not support (a model type other than BPE,
  // a normalizer, byte_fallback, ...).
  static Tokenizer from_hf_files(const std::filesystem::path &dir);
  // The same from the files' contents; source names them in errors. config_json may be empty.
  static Tokenizer from_hf_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                                std::string_view config_json, std::string_view source);
  // From tokenizer.ggml.* metadata (model "gpt2"; pre "llama-bpe" or "gpt-2"). Defined in
  // tokenizer_gguf.cpp.
  static Tokenizer from_gguf(const gguf::GgufFile &file);
  explicit Tokenizer(TokenizerSpec spec);

  // Token ids of text (valid UTF-8, else qs::Error). add_special applies the post-processor's
  // template (BOS first for Llama 3). parse_special = false treats special-token text such as
  // "<|begin_of_text|>" as plain text (HF's encode_special_tokens, llama.cpp's parse_special).
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special = true) const;
  // Text of ids (HF's decode); ill-formed UTF-8 from partial tokens becomes U+FFFD. Throws for
  // an id no token has.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  int32_t bos_id() const { return spec().bos_id; }
  int32_t eos_id() const { return spec().eos_id; }
  int32_t pad_id() const { return spec().pad_id; }
  bool add_bos() const;  // whether encode(text, true) starts with BOS
  bool add_eos() const;
  int32_t vocab_size() const;  // highest id + 1
  // The token's text as the vocabulary spells it (byte-level for BPE tokens, plain for added
  // tokens); throws for an id no token has.
  const std::string &token_text(int32_t id) const;
  std::optional<int32_t> token_id(std::string_view text) const;
  bool has_token(int32_t id) const;
  const AddedToken *added_token(int32_t id) const;  // nullptr for BPE tokens

  const TokenizerSpec &spec() const;
  const BpeModel &bpe() const;
  const PreTokenizer &pre_tokenizer() const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace qs
