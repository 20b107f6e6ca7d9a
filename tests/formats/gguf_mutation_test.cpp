// A bounded random-mutation test of the GGUF reader (the libFuzzer target fuzz/fuzz_gguf.cpp does
// the same open-ended with clang): every mutant of a valid file parses or throws qs::Error.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "formats/gguf.h"
#include "formats/gguf_bytes.h"

namespace qs::gguf_mutation_test {
namespace {

TEST(GgufMutation, MutantsParseOrFailCleanly) {
  test::GgufBytes valid;
  valid.header(3, 2, 3).kv_string("general.architecture", "llama").kv_u32("general.alignment", 32);
  valid.str("tokens").u32(9).u32(8).u64(2).str("a").str("bc");
  valid.tensor_info("w", {32, 2}, 8, 0).tensor_info("f", {4}, 0, 96).pad_to(32);
  for (int i = 0; i < 96 + 16; ++i) valid.u8(static_cast<uint8_t>(i));
  test::ScratchDir dir;
  std::mt19937 rng(2024);
  int parsed = 0, refused = 0;
  for (int round = 0; round < 1000; ++round) {
    test::GgufBytes mutant = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % mutant.bytes.size();
      switch (rng() % 4) {
        case 0: mutant.bytes[at] = static_cast<uint8_t>(rng()); break;
        case 1: mutant.bytes[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 2: mutant.bytes.resize(at); break;
        default: mutant.bytes[at] = 0xff; break;
      }
      if (mutant.bytes.empty()) break;
    }
    mutant.save(dir.path() / "m.gguf");
    try {
      gguf::GgufFile::open(dir.path() / "m.gguf");
      ++parsed;
    } catch (const Error &) {
      ++refused;
    }
  }
  EXPECT_EQ(parsed + refused, 1000);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace qs::gguf_mutation_test
