// Allowed storage types per shape: whole blocks per row, and floats only for 1-D tensors.
#include "model/allowed_quant_types.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qs {
namespace {

std::vector<std::string> names(const std::vector<int64_t> &ggml_shape) {
  std::vector<std::string> out;
  for (const QuantType *type : allowed_quant_types(ggml_shape)) out.push_back(type->name);
  return out;
}

const std::vector<std::string> kFloatsOnly = {"F32", "F16", "BF16"};

TEST(AllowedQuantTypes, OneDimensionalTensorsStayFloat) {
  EXPECT_EQ(names({4096}), kFloatsOnly);
  EXPECT_EQ(names({4096, 1}), kFloatsOnly);     // ggml_n_dims counts {4096, 1} as 1-D
  EXPECT_EQ(names({4096, 1, 1}), kFloatsOnly);
  EXPECT_EQ(names({}), kFloatsOnly);
}

TEST(AllowedQuantTypes, RowLengthMustBeWholeBlocks) {
  // 256 is a multiple of every block size (1, 32, 256): the whole table.
  EXPECT_EQ(allowed_quant_types(std::vector<int64_t>{256, 2}).size(), all_quant_types().size());
  EXPECT_EQ(allowed_quant_types(std::vector<int64_t>{768, 32, 8}).size(), all_quant_types().size());
  // 32-wide rows: the 32-blocks (legacy, IQ4_NL, MXFP4) and floats, no 256-block k/i-quants.
  EXPECT_EQ(names({32, 8}), (std::vector<std::string>{"F32", "F16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "IQ4_NL",
                                                      "BF16", "MXFP4"}));
  EXPECT_EQ(names({17, 3}), kFloatsOnly);
  EXPECT_EQ(names({1, 4096}), kFloatsOnly);  // 2-D, but a 1-element row is no whole block
}

}  // namespace
}  // namespace qs
