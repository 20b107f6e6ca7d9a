// The tokenizer as GGUF metadata (tokenizer.ggml.*), written the way llama.cpp's
// convert_hf_to_gguf.py writes a GPT-2 / Llama 3 style byte-level BPE, and read back by
// Tokenizer::from_gguf (defined in tokenizer_gguf.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "model/tokenizer.h"

namespace qs {

// gguf-py's TokenType values (tokenizer.ggml.token_type).
enum class GgufTokenType : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

// The name llama.cpp gives this tokenizer's pre-tokenization: "llama-bpe" for Llama 3's regex
// (with ignore_merges, which llama.cpp sets for it), "gpt-2" for GPT-2's. Throws qs::Error when
// llama.cpp has no pre-tokenizer that splits text the same way.
std::string llama_cpp_pre_tokenizer_name(const Tokenizer &tokenizer);

// tokenizer.ggml.model ("gpt2"), .pre, .tokens, .token_type, .merges, .bos/.eos/.padding/
// .unknown_token_id (those the tokenizer has) and .add_bos_token / .add_eos_token. n_vocab is
// the embedding's row count (config.json's vocab_size); ids no token has are written as
// "[PAD<id>]" of type Unused, as the converter does. -1 means tokenizer.vocab_size().
std::vector<gguf::KeyValue> tokenizer_gguf_metadata(const Tokenizer &tokenizer, int32_t n_vocab = -1);

}  // namespace qs
