// GPT-2's byte <-> code point map and the UTF-8 helpers of the tokenizer.
#include "model/byte_level.h"

#include <array>

namespace qs::byte_level {
namespace {

bool maps_to_itself(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

struct Tables {
  std::array<char32_t, 256> to_cp{};
  std::array<std::string, 256> to_utf8;
  std::array<int16_t, 324> from_cp{};  // every code point of the map is below 0x100 + 68 = 324
  Tables() {
    from_cp.fill(-1);
    char32_t next_free = 0x100;
    for (int b = 0; b < 256; ++b) {
      to_cp[b] = maps_to_itself(b) ? char32_t(b) : next_free++;
      from_cp[to_cp[b]] = int16_t(b);
      utf8::append(to_cp[b], to_utf8[b]);
    }
  }
};

const Tables &tables() {
  static const Tables t;
  return t;
}

}  // namespace

char32_t byte_to_codepoint(uint8_t b) { return tables().to_cp[b]; }

int codepoint_to_byte(char32_t cp) { return cp < tables().from_cp.size() ? tables().from_cp[cp] : -1; }

void encode_append(std::string_view bytes, std::string &out) {
  const Tables &t = tables();
  for (unsigned char b : bytes) out += t.to_utf8[b];
}

std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  encode_append(bytes, out);
  return out;
}

void decode_token_append(std::string_view token_text, std::string &out) {
  const size_t start = out.size();
  size_t pos = 0;
  while (pos < token_text.size()) {
    const int b = codepoint_to_byte(utf8::next(token_text, pos));
    if (b < 0) {  // not a byte-level token: its own text, as HF's decoder falls back to
      out.resize(start);
      out.append(token_text);
      return;
    }
    out += char(b);
  }
}

}  // namespace qs::byte_level

namespace qs::utf8 {
namespace {

// Length of the well-formed sequence at s[pos] (> 0), or minus the length of the maximal subpart
// of an ill-formed one (< 0): the longest prefix that could still begin a well-formed sequence,
// at least one byte. Ranges from the Unicode standard, table 3-7.
int sequence_at(std::string_view s, size_t pos) {
  const auto byte = [&](size_t i) { return uint8_t(s[i]); };
  const uint8_t b0 = byte(pos);
  if (b0 < 0x80) return 1;
  int n = 0;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) n = 2;
  else if (b0 == 0xE0) n = 3, lo = 0xA0;
  else if (b0 == 0xED) n = 3, hi = 0x9F;
  else if (b0 >= 0xE1 && b0 <= 0xEF) n = 3;
  else if (b0 == 0xF0) n = 4, lo = 0x90;
  else if (b0 == 0xF4) n = 4, hi = 0x8F;
  else if (b0 >= 0xF1 && b0 <= 0xF3) n = 4;
  else return -1;
  for (int i = 1; i < n; ++i) {
    if (pos + i >= s.size()) return -i;
    const uint8_t b = byte(pos + i);
    const uint8_t min = i == 1 ? lo : 0x80, max = i == 1 ? hi : 0xBF;
    if (b < min || b > max) return -i;
  }
  return n;
}

}  // namespace

void append(char32_t cp, std::string &out) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

char32_t next(std::string_view s, size_t &pos) {
  const uint8_t b0 = uint8_t(s[pos]);
  const int n = sequence_length(b0);
  char32_t cp = n == 1 ? b0 : n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (int i = 1; i < n; ++i) cp = (cp << 6) | (uint8_t(s[pos + i]) & 0x3F);
  pos += n;
  return cp;
}

size_t first_invalid(std::string_view s) {
  for (size_t pos = 0; pos < s.size();) {
    const int n = sequence_at(s, pos);
    if (n < 0) return pos;
    pos += n;
  }
  return std::string_view::npos;
}

std::string lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t pos = 0; pos < s.size();) {
    const int n = sequence_at(s, pos);
    if (n > 0) {
      out.append(s.substr(pos, n));
      pos += n;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      pos += -n;
    }
  }
  return out;
}

}  // namespace qs::utf8
