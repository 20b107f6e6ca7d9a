// Bounded random mutation of a valid safetensors file: every mutant must either open or be
// refused with qs::Error — never another exception, never a crash (ASan/UBSan builds run this too).
#include <gtest/gtest.h>

#include <random>

#include "formats/safetensors.h"
#include "formats/safetensors_test_files.h"

namespace qs::safetensors_mutation_test {
namespace {

std::vector<uint8_t> valid_file() {
  const std::string header =
      R"({"__metadata__":{"format":"pt"},)"
      R"("model.layers.0.self_attn.q_proj.weight":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]},)"
      R"("model.norm.weight":{"dtype":"F32","shape":[3],"data_offsets":[12,24]},)"
      R"("model.embed_tokens.weight":{"dtype":"F16","shape":[2,2],"data_offsets":[24,32]},)"
      R"("scale":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[32,36]}})";
  std::vector<uint8_t> data;
  for (int i = 0; i < 36; ++i) data.push_back(static_cast<uint8_t>(i * 37 + 11));
  return test::safetensors_bytes(header, data);
}

// One random edit: a flipped bit, a random byte, a digit or JSON token swapped in the header,
// a truncation, an insertion, or an edge value written into the header length.
void mutate(std::vector<uint8_t> &bytes, std::mt19937 &rng) {
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  static const char *kTokens[] = {"0", "9", "-", "[", "]", "{", "}", ",", ":", "\"", "1e300", "18446744073709551616", "\xff"};
  switch (pick(7)) {
    case 0:
      if (!bytes.empty()) bytes[pick(bytes.size())] ^= static_cast<uint8_t>(1u << pick(8));
      break;
    case 1:
      if (!bytes.empty()) bytes[pick(bytes.size())] = static_cast<uint8_t>(pick(256));
      break;
    case 2:
      if (bytes.size() > 9) {
        const std::string token = kTokens[pick(std::size(kTokens))];
        const size_t at = 8 + pick(bytes.size() - 8);
        for (size_t k = 0; k < token.size() && at + k < bytes.size(); ++k) bytes[at + k] = static_cast<uint8_t>(token[k]);
      }
      break;
    case 3:
      bytes.resize(pick(bytes.size() + 1));
      break;
    case 4: {
      const size_t at = pick(bytes.size() + 1);
      bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), pick(9), static_cast<uint8_t>(pick(256)));
      break;
    }
    case 5:
      if (bytes.size() >= 8) {
        const uint64_t edges[] = {0, 1, 7, 8, bytes.size() - 8, bytes.size() - 7, bytes.size(), UINT64_MAX, 1ull << 63, 100'000'001};
        const uint64_t v = edges[pick(std::size(edges))];
        for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(v >> (8 * i));
      }
      break;
    default:
      if (bytes.size() > 8) bytes.pop_back();
      break;
  }
}

TEST(SafetensorsMutation, EveryMutantOpensOrThrowsQsError) {
  const std::vector<uint8_t> original = valid_file();
  // The unmutated file must open, or the loop below proves nothing.
  ASSERT_EQ(SafetensorsModel::from_memory(original, "seed").tensors().size(), 4u);

  std::mt19937 rng(20240601);
  int opened = 0;
  int refused = 0;
  for (int iteration = 0; iteration < 2000; ++iteration) {
    std::vector<uint8_t> bytes = original;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) mutate(bytes, rng);
    try {
      const auto model = SafetensorsModel::from_memory(bytes, "mutant");
      for (const auto &tensor : model.tensors()) {
        ASSERT_LE(tensor.bytes.size(), bytes.size());
        if (dtype_is_float(tensor.dtype)) (void)read_as_f32(tensor);
      }
      ++opened;
    } catch (const Error &) {
      ++refused;
    } catch (const std::exception &e) {
      FAIL() << "iteration " << iteration << " threw a non-qs::Error exception: " << e.what();
    }
  }
  // Both outcomes must occur for the mutations to have tested anything.
  EXPECT_GT(opened, 50);
  EXPECT_GT(refused, 500);
  EXPECT_EQ(opened + refused, 2000);
}

}  // namespace
}  // namespace qs::safetensors_mutation_test
