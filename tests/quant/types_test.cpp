// The type table against ggml's published layout (ggml.h ids, ggml-common.h block sizes).
#include <gtest/gtest.h>

#include "core/error.h"
#include "quant/types.h"

namespace qs::types_test {
namespace {

struct ExpectedType {
  const char *name;
  uint32_t id;
  int64_t block_size;
  size_t block_bytes;
};

// From ggml.h (enum ggml_type) and ggml-common.h (block structs and their static_asserts).
constexpr ExpectedType kGgmlLayout[] = {
    {"F32", 0, 1, 4},          {"F16", 1, 1, 2},          {"Q4_0", 2, 32, 18},       {"Q4_1", 3, 32, 20},
    {"Q5_0", 6, 32, 22},       {"Q5_1", 7, 32, 24},       {"Q8_0", 8, 32, 34},       {"Q2_K", 10, 256, 84},
    {"Q3_K", 11, 256, 110},    {"Q4_K", 12, 256, 144},    {"Q5_K", 13, 256, 176},    {"Q6_K", 14, 256, 210},
    {"IQ2_XXS", 16, 256, 66},  {"IQ2_XS", 17, 256, 74},   {"IQ3_XXS", 18, 256, 98},  {"IQ1_S", 19, 256, 50},
    {"IQ4_NL", 20, 32, 18},    {"IQ3_S", 21, 256, 110},   {"IQ2_S", 22, 256, 82},    {"IQ4_XS", 23, 256, 136},
    {"IQ1_M", 29, 256, 56},    {"BF16", 30, 1, 2},        {"TQ1_0", 34, 256, 54},    {"TQ2_0", 35, 256, 66},
    {"MXFP4", 39, 32, 17},
};

TEST(QuantTypes, TableMatchesGgmlLayout) {
  ASSERT_EQ(all_quant_types().size(), std::size(kGgmlLayout));
  for (const auto &expected : kGgmlLayout) {
    const QuantType *t = find_quant_type(expected.name);
    ASSERT_NE(t, nullptr) << expected.name;
    EXPECT_EQ(static_cast<uint32_t>(t->id), expected.id) << expected.name;
    EXPECT_EQ(t->block_size, expected.block_size) << expected.name;
    EXPECT_EQ(t->block_bytes, expected.block_bytes) << expected.name;
    EXPECT_EQ(find_quant_type(expected.id), t);
  }
}

TEST(QuantTypes, BitsPerWeightOfWellKnownTypes) {
  EXPECT_DOUBLE_EQ(quant_type_by_name("Q4_K").bits_per_weight(), 4.5);
  EXPECT_DOUBLE_EQ(quant_type_by_name("Q6_K").bits_per_weight(), 6.5625);
  EXPECT_DOUBLE_EQ(quant_type_by_name("Q8_0").bits_per_weight(), 8.5);
  EXPECT_DOUBLE_EQ(quant_type_by_name("IQ2_XXS").bits_per_weight(), 2.0625);
  EXPECT_DOUBLE_EQ(quant_type_by_name("IQ1_S").bits_per_weight(), 1.5625);
}

TEST(QuantTypes, NamesAreCaseInsensitiveAndUnknownNamesAreRefused) {
  EXPECT_EQ(find_quant_type("q4_k"), find_quant_type("Q4_K"));
  EXPECT_EQ(find_quant_type("Q4_K_M"), nullptr);
  EXPECT_THROW(quant_type_by_name("Q9_Z"), Error);
}

TEST(QuantTypes, OnlyGgmlsImatrixTypesRequireOne) {
  for (const auto &t : all_quant_types()) {
    const bool expected = t.id == GgmlType::IQ2_XXS || t.id == GgmlType::IQ2_XS || t.id == GgmlType::IQ1_S;
    EXPECT_EQ(t.needs_imatrix, expected) << t.name;
  }
}

}  // namespace
}  // namespace qs::types_test
