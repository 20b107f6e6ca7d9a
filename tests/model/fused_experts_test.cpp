// Splitting transformers 5.x fused expert tensors, checked element by element against the
// layout conversion_mapping.py defines (per expert: gate rows, then up rows).
#include "model/fused_experts.h"

#include <gtest/gtest.h>

#include <vector>

#include "test_support.h"

namespace qs::fused_experts_test {
namespace {

using test::expect_error_containing;

// E = 2 experts, H = 3, I = 2.
ModelConfig small_moe(int64_t hidden = 3, int64_t moe_ff = 2) {
  return parse_model_config(R"({"architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe",
    "hidden_size": )" + std::to_string(hidden) +
                                R"(, "num_hidden_layers": 1, "num_attention_heads": 1, "num_key_value_heads": 1,
    "head_dim": 4, "intermediate_size": 16, "vocab_size": 10, "num_experts": 2, "num_experts_per_tok": 1,
    "moe_intermediate_size": )" + std::to_string(moe_ff) +
                                "}",
                            "config.json");
}

// gate_up[e][r][c] = 100 e + 10 r + c for r < 2I: gate is r < I, up is r >= I.
float gate_up_value(int64_t e, int64_t r, int64_t c) { return static_cast<float>(100 * e + 10 * r + c); }

TEST(FusedExperts, SplitsStandardGateUp) {
  const ModelConfig config = small_moe();
  std::vector<float> fused;
  for (int e = 0; e < 2; ++e)
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 3; ++c) fused.push_back(gate_up_value(e, r, c));
  const std::vector<int64_t> shape = {2, 4, 3};
  EXPECT_EQ(fused_gate_up_layout(shape, config, "t"), FusedExpertLayout::Standard);
  std::vector<float> gate(12), up(12);
  split_fused_gate_up(fused.data(), shape, config, "t", gate.data(), up.data());
  for (int e = 0; e < 2; ++e)
    for (int i = 0; i < 2; ++i)
      for (int h = 0; h < 3; ++h) {
        EXPECT_EQ(gate[(e * 2 + i) * 3 + h], gate_up_value(e, i, h));
        EXPECT_EQ(up[(e * 2 + i) * 3 + h], gate_up_value(e, 2 + i, h));
      }
}

TEST(FusedExperts, SplitsTransposedGateUpToTheSameResult) {
  const ModelConfig config = small_moe();
  // [E, H, 2I]: element [e][h][r] is the standard [e][r][h].
  std::vector<float> fused;
  for (int e = 0; e < 2; ++e)
    for (int h = 0; h < 3; ++h)
      for (int r = 0; r < 4; ++r) fused.push_back(gate_up_value(e, r, h));
  const std::vector<int64_t> shape = {2, 3, 4};
  EXPECT_EQ(fused_gate_up_layout(shape, config, "t"), FusedExpertLayout::Transposed);
  std::vector<float> gate(12), up(12);
  split_fused_gate_up(fused.data(), shape, config, "t", gate.data(), up.data());
  for (int e = 0; e < 2; ++e)
    for (int i = 0; i < 2; ++i)
      for (int h = 0; h < 3; ++h) {
        EXPECT_EQ(gate[(e * 2 + i) * 3 + h], gate_up_value(e, i, h));
        EXPECT_EQ(up[(e * 2 + i) * 3 + h], gate_up_value(e, 2 + i, h));
      }
}

TEST(FusedExperts, DownIsCopiedOrTransposed) {
  const ModelConfig config = small_moe();
  std::vector<float> standard;  // [E, H, I], value 100 e + 10 h + i
  for (int e = 0; e < 2; ++e)
    for (int h = 0; h < 3; ++h)
      for (int i = 0; i < 2; ++i) standard.push_back(static_cast<float>(100 * e + 10 * h + i));
  std::vector<float> out(12);
  const std::vector<int64_t> standard_shape = {2, 3, 2};
  fused_down_to_stacked(standard.data(), standard_shape, config, "t", out.data());
  EXPECT_EQ(out, standard);

  std::vector<float> transposed;  // [E, I, H]
  for (int e = 0; e < 2; ++e)
    for (int i = 0; i < 2; ++i)
      for (int h = 0; h < 3; ++h) transposed.push_back(static_cast<float>(100 * e + 10 * h + i));
  const std::vector<int64_t> transposed_shape = {2, 2, 3};
  EXPECT_EQ(fused_down_layout(transposed_shape, config, "t"), FusedExpertLayout::Transposed);
  fused_down_to_stacked(transposed.data(), transposed_shape, config, "t", out.data());
  EXPECT_EQ(out, standard);
}

TEST(FusedExperts, AmbiguousShapesReadAsTransformersWritesThem) {
  // H = 2I: [E, 2I, H] and [E, H, 2I] are the same shape; H = I likewise for down.
  const std::vector<int64_t> square = {2, 4, 4};
  EXPECT_EQ(fused_gate_up_layout(square, small_moe(4, 2), "t"), FusedExpertLayout::Standard);
  EXPECT_EQ(fused_down_layout(std::vector<int64_t>{2, 3, 3}, small_moe(3, 3), "t"), FusedExpertLayout::Standard);
}

TEST(FusedExperts, WrongShapesNameTheTensor) {
  const ModelConfig config = small_moe();
  expect_error_containing([&] { fused_gate_up_layout(std::vector<int64_t>{2, 4, 4}, config, "model.layers.0.mlp.experts.gate_up_proj"); },
                          {"model.layers.0.mlp.experts.gate_up_proj", "[2, 4, 4]", "[2, 4, 3]"});
  expect_error_containing([&] { fused_down_layout(std::vector<int64_t>{3, 3, 2}, config, "model.layers.0.mlp.experts.down_proj"); },
                          {"model.layers.0.mlp.experts.down_proj", "[3, 3, 2]", "[2, 3, 2]"});
  expect_error_containing([&] { fused_down_layout(std::vector<int64_t>{2, 6}, config, "d"); }, {"d", "[2, 6]"});
}

}  // namespace
}  // namespace qs::fused_experts_test
