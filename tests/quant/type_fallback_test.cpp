// llama.cpp's row-length fallback (src/llama-quant.cpp: tensor_type_fallback).
#include <gtest/gtest.h>

#include "quant/type_fallback.h"

namespace qs::type_fallback_test {
namespace {

TEST(TypeFallback, FollowsLlamaCpp) {
  struct Case {
    GgmlType wanted;
    int64_t n_cols;
    GgmlType expected;
    bool fell_back;
  };
  const Case cases[] = {
      {GgmlType::Q4_K, 4096, GgmlType::Q4_K, false}, {GgmlType::Q4_K, 4160, GgmlType::Q5_0, true},
      {GgmlType::Q5_K, 96, GgmlType::Q5_1, true},    {GgmlType::Q6_K, 96, GgmlType::Q8_0, true},
      {GgmlType::Q2_K, 96, GgmlType::Q4_0, true},    {GgmlType::Q3_K, 96, GgmlType::Q4_0, true},
      {GgmlType::IQ2_XXS, 96, GgmlType::IQ4_NL, true}, {GgmlType::IQ4_XS, 96, GgmlType::IQ4_NL, true},
      {GgmlType::TQ1_0, 96, GgmlType::Q4_0, true},   {GgmlType::Q4_K, 100, GgmlType::F16, true},
      {GgmlType::Q8_0, 100, GgmlType::F16, true},    {GgmlType::F16, 7, GgmlType::F16, false},
  };
  for (const auto &c : cases) {
    const TypeChoice choice = fallback_type(c.wanted, c.n_cols);
    EXPECT_EQ(choice.type, c.expected) << quant_type(c.wanted).name << " with " << c.n_cols << " columns";
    EXPECT_EQ(choice.fell_back, c.fell_back) << quant_type(c.wanted).name;
  }
}

}  // namespace
}  // namespace qs::type_fallback_test
