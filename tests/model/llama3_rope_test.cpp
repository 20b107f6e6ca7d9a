// rope_freqs.weight for llama3 rope scaling, against the Llama 3.1 formula worked in double.
#include "model/llama3_rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/error.h"

namespace qs::llama3_rope_test {
namespace {

ModelConfig llama3_config(int64_t head_dim, double theta, const std::string &top_level_extra) {
  return parse_model_config(R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "hidden_size": )" + std::to_string(head_dim * 2) +
                                R"(, "num_hidden_layers": 1, "num_attention_heads": 2, "head_dim": )" +
                                std::to_string(head_dim) + R"(, "intermediate_size": 8, "vocab_size": 10,
    "rope_theta": )" + std::to_string(theta) +
                                R"(, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
      "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})" +
                                top_level_extra + "}",
                            "config.json");
}

TEST(Llama3Rope, SmallExampleWorkedByHand) {
  // head_dim 8, theta 10^4: frequencies 1, 0.1, 0.01, 0.001, wavelengths 2*pi / f = 6.28, 62.8,
  // 628.3, 6283.2. With a (top-level) old context of 1024: high-frequency cutoff 1024 / 4 = 256,
  // low-frequency cutoff 1024 / 1 = 1024. So: 1, 1, smoothed, factor 8. The smoothed one:
  // s = (1024 / 628.3185 - 1) / 3 = 0.2099..., factor = 1 / ((1 - s) / 8 + s) = 3.2396...
  const auto factors = llama3_rope_freqs(llama3_config(8, 10000.0, R"(, "original_max_position_embeddings": 1024)"));
  ASSERT_EQ(factors.size(), 4u);
  EXPECT_EQ(factors[0], 1.0f);
  EXPECT_EQ(factors[1], 1.0f);
  const double wavelength = 2 * std::numbers::pi / 0.01;
  const double s = (1024.0 / wavelength - 1.0) / 3.0;
  EXPECT_NEAR(factors[2], 1.0 / ((1.0 - s) / 8.0 + s), 1e-5);
  EXPECT_NEAR(factors[2], 3.2396, 1e-4);
  EXPECT_EQ(factors[3], 8.0f);
}

TEST(Llama3Rope, Llama31ShapeAgainstTheFormula) {
  // Llama 3.1 8B: head_dim 128, theta 500000, factor 8, low 1, high 4, old context 8192 (the
  // default convert uses when the top level has none).
  const auto factors = llama3_rope_freqs(llama3_config(128, 500000.0, ""));
  ASSERT_EQ(factors.size(), 64u);
  int ones = 0, eights = 0, smoothed = 0;
  for (int j = 0; j < 64; ++j) {
    const double freq = std::pow(500000.0, -2.0 * j / 128.0);
    const double wavelength = 2 * std::numbers::pi / freq;
    double expected;
    if (wavelength < 8192.0 / 4.0) expected = 1.0, ++ones;
    else if (wavelength > 8192.0) expected = 8.0, ++eights;
    else {
      const double s = (8192.0 / wavelength - 1.0) / 3.0;
      expected = 1.0 / ((1.0 - s) / 8.0 + s);
      ++smoothed;
    }
    EXPECT_NEAR(factors[j], expected, 1e-5 * expected) << "frequency " << j;
  }
  EXPECT_GT(ones, 0);
  EXPECT_GT(eights, 0);
  EXPECT_GT(smoothed, 0);
  // Monotone from 1 (fast rotations) to 8 (slow ones).
  for (int j = 1; j < 64; ++j) EXPECT_GE(factors[j], factors[j - 1]);
}

TEST(Llama3Rope, ReadsTheTopLevelContextLengthLikeConvert) {
  // convert_hf_to_gguf.py reads hparams["original_max_position_embeddings"] (top level), not the
  // rope dict's: the dict's 8192 is ignored when the top level says 1024, and 8192 is the default.
  const auto with_top_level = llama3_rope_freqs(llama3_config(8, 10000.0, R"(, "original_max_position_embeddings": 1024)"));
  const auto without = llama3_rope_freqs(llama3_config(8, 10000.0, ""));
  EXPECT_NE(with_top_level[2], without[2]);
  // Wavelength 628 is below 8192 / 4 = 2048, so with the default context it is a "1".
  EXPECT_EQ(without[2], 1.0f);
}

TEST(Llama3Rope, RefusesOtherRopeTypes) {
  const ModelConfig plain = parse_model_config(R"({"model_type": "llama", "hidden_size": 16, "num_hidden_layers": 1,
    "num_attention_heads": 2, "intermediate_size": 8, "vocab_size": 10})",
                                               "config.json");
  EXPECT_THROW(llama3_rope_freqs(plain), Error);
}

}  // namespace
}  // namespace qs::llama3_rope_test
