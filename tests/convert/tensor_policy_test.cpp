// llama.cpp's rules for which tensors are quantized and how row lengths fall back
// (src/llama-quant.cpp: tensor_allows_quantization, tensor_type_fallback).
#include <gtest/gtest.h>

#include "convert/tensor_policy.h"

namespace qs {
namespace {

TEST(TensorPolicy, NormsRoutersAndVectorsStayFullPrecision) {
  const std::vector<int64_t> matrix = {256, 256}, vector = {256}, padded_vector = {256, 1};
  EXPECT_TRUE(tensor_allows_quantization("blk.0.attn_q.weight", matrix));
  EXPECT_TRUE(tensor_allows_quantization("token_embd.weight", matrix));
  EXPECT_TRUE(tensor_allows_quantization("blk.3.ffn_down_exps.weight", std::vector<int64_t>{768, 256, 8}));
  EXPECT_FALSE(tensor_allows_quantization("blk.0.attn_norm.weight", vector));
  EXPECT_FALSE(tensor_allows_quantization("blk.0.attn_q.bias", vector));
  EXPECT_FALSE(tensor_allows_quantization("blk.0.attn_q_norm.weight", padded_vector));
  EXPECT_FALSE(tensor_allows_quantization("blk.0.ffn_gate_inp.weight", matrix));
  EXPECT_FALSE(tensor_allows_quantization("rope_freqs.weight", vector));
}

TEST(TensorPolicy, FallbacksFollowLlamaCpp) {
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

TEST(TensorPolicy, AllowedTypesDependOnRowLength) {
  auto names = [](const std::vector<const QuantType *> &types) {
    std::vector<std::string> out;
    for (auto *t : types) out.push_back(t->name);
    return out;
  };
  const auto for_96 = names(allowed_quant_types("blk.0.ffn_up.weight", std::vector<int64_t>{96, 64}));
  EXPECT_NE(std::find(for_96.begin(), for_96.end(), "Q8_0"), for_96.end());
  EXPECT_EQ(std::find(for_96.begin(), for_96.end(), "Q4_K"), for_96.end());
  const auto for_norm = names(allowed_quant_types("output_norm.weight", std::vector<int64_t>{256}));
  EXPECT_EQ(for_norm, (std::vector<std::string>{"F32", "F16", "BF16"}));
  EXPECT_EQ(allowed_quant_types("blk.0.ffn_up.weight", std::vector<int64_t>{256, 64}).size(), all_quant_types().size());
}

}  // namespace
}  // namespace qs
