// libFuzzer target for tokenizer.json: the first input line up to a NUL byte is the text to
// encode, the rest is parsed as tokenizer.json. Refusals are qs::Error; nothing may crash.
#include <string>
#include <string_view>

#include "core/error.h"
#include "model/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string_view input(reinterpret_cast<const char *>(data), size);
  const size_t split = input.find('\0');
  const std::string_view text = split == std::string_view::npos ? std::string_view() : input.substr(0, split);
  const std::string_view json = split == std::string_view::npos ? input : input.substr(split + 1);
  try {
    const qs::Tokenizer tokenizer = qs::Tokenizer::from_hf_json(json, "", "", "fuzz");
    const auto ids = tokenizer.encode(text, true);
    (void)tokenizer.decode(ids);
  } catch (const qs::Error &) {
  }
  return 0;
}
