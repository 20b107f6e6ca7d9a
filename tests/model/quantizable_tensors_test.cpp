// llama.cpp's rule for which tensors are quantized (src/llama-quant.cpp: tensor_allows_quantization)
// and the storage types a shape allows: whole blocks per row, floats only for what stays unquantized.
#include "model/quantizable_tensors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace qs::quantizable_tensors_test {
namespace {

// The names of the types a 2-D-or-more weight called "w.weight" of this shape may be stored as.
std::vector<std::string> names(const std::vector<int64_t> &ggml_shape) {
  std::vector<std::string> out;
  for (const QuantType *type : allowed_quant_types("w.weight", ggml_shape)) out.push_back(type->name);
  return out;
}

TEST(QuantizableTensors, NormsRoutersAndVectorsStayFullPrecision) {
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

const std::vector<std::string> kFloatsOnly = {"F32", "F16", "BF16"};

TEST(QuantizableTensors, OneDimensionalTensorsStayFloat) {
  EXPECT_EQ(names({4096}), kFloatsOnly);
  EXPECT_EQ(names({4096, 1}), kFloatsOnly);     // ggml_n_dims counts {4096, 1} as 1-D
  EXPECT_EQ(names({4096, 1, 1}), kFloatsOnly);
  EXPECT_EQ(names({}), kFloatsOnly);
}

TEST(QuantizableTensors, RowLengthMustBeWholeBlocks) {
  // 256 is a multiple of every block size (1, 32, 256): the whole table.
  EXPECT_EQ(allowed_quant_types("w.weight", std::vector<int64_t>{256, 2}).size(), all_quant_types().size());
  EXPECT_EQ(allowed_quant_types("w.weight", std::vector<int64_t>{768, 32, 8}).size(), all_quant_types().size());
  // 32-wide rows: the 32-blocks (legacy, IQ4_NL, MXFP4) and floats, no 256-block k/i-quants.
  EXPECT_EQ(names({32, 8}), (std::vector<std::string>{"F32", "F16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "IQ4_NL",
                                                      "BF16", "MXFP4"}));
  EXPECT_EQ(names({17, 3}), kFloatsOnly);
  EXPECT_EQ(names({1, 4096}), kFloatsOnly);  // 2-D, but a 1-element row is no whole block
}

TEST(QuantizableTensors, AllowedTypesDependOnRowLength) {
  auto type_names = [](const std::vector<const QuantType *> &types) {
    std::vector<std::string> out;
    for (auto *t : types) out.push_back(t->name);
    return out;
  };
  const auto for_96 = type_names(allowed_quant_types("blk.0.ffn_up.weight", std::vector<int64_t>{96, 64}));
  EXPECT_NE(std::find(for_96.begin(), for_96.end(), "Q8_0"), for_96.end());
  EXPECT_EQ(std::find(for_96.begin(), for_96.end(), "Q4_K"), for_96.end());
  const auto for_norm = type_names(allowed_quant_types("output_norm.weight", std::vector<int64_t>{256}));
  EXPECT_EQ(for_norm, (std::vector<std::string>{"F32", "F16", "BF16"}));
  EXPECT_EQ(allowed_quant_types("blk.0.ffn_up.weight", std::vector<int64_t>{256, 64}).size(), all_quant_types().size());
}

}  // namespace
}  // namespace qs::quantizable_tensors_test
