// GPT-2's reversible byte <-> code point map (openai/gpt-2 encoder.py bytes_to_unicode), used by
// byte-level BPE: every byte of the input is written as one printable code point before the BPE
// sees it, so vocabularies hold only printable text. Also UTF-8 helpers the tokenizer shares.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace qs::byte_level {

// The code point byte b is written as: '!'..'~', U+00A1..U+00AC and U+00AE..U+00FF stand for
// themselves; the other 68 bytes, in increasing order, become U+0100, U+0101, ...
char32_t byte_to_codepoint(uint8_t b);
// The byte a code point stands for, or -1 when the code point is not one of the 256.
int codepoint_to_byte(char32_t cp);

// Appends the byte-level form of raw bytes (each byte becomes its code point, UTF-8 encoded).
void encode_append(std::string_view bytes, std::string &out);
std::string encode(std::string_view bytes);

// Appends the bytes one token stands for, as HF's ByteLevel decoder does: when every code point
// of the token is in the map, the bytes they stand for; otherwise (an added token such as
// "<|pad|>" written in other characters) the token's own UTF-8 bytes.
void decode_token_append(std::string_view token_text, std::string &out);

}  // namespace qs::byte_level

namespace qs::utf8 {

void append(char32_t cp, std::string &out);
// Length in bytes of the (valid) UTF-8 sequence starting with lead byte b.
inline int sequence_length(uint8_t b) { return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4; }
// Decodes the code point at s[pos] of a valid UTF-8 string and advances pos past it.
char32_t next(std::string_view s, size_t &pos);
// Byte offset of the first ill-formed sequence, or npos when s is valid UTF-8.
size_t first_invalid(std::string_view s);
// s with every ill-formed subsequence replaced by U+FFFD, one per maximal subpart (Unicode 3.9
// "U+FFFD substitution of maximal subparts"), exactly as Rust's String::from_utf8_lossy does,
// which is what HF's decoders return.
std::string lossy(std::string_view s);

}  // namespace qs::utf8
