// Calibration chunks cut as llama-perplexity cuts its text, checked on a numbered token stream.
#include <gtest/gtest.h>

#include <numeric>

#include "core/error.h"
#include "measure/calibration.h"
#include "test_support.h"

namespace qs::calibration_test {
namespace {

TEST(CalibrationChunks, ChunksReplaceTheFirstTokenByBosAndScoreTheSecondHalf) {
  std::vector<int32_t> tokens(35);
  std::iota(tokens.begin(), tokens.end(), 100);  // token k of the text is 100 + k
  const CalibrationChunks chunks(tokens, 8, -1, 7);
  EXPECT_EQ(chunks.n_chunks(), 4);  // 35 / 8, the tail of 3 tokens is dropped
  EXPECT_EQ(chunks.first_scored(), 4);
  EXPECT_EQ(chunks.n_scored_per_chunk(), 3);  // positions 4, 5, 6 predict 5, 6, 7
  EXPECT_EQ(chunks.n_scored(), 12);
  const auto input = chunks.input(2);
  EXPECT_EQ(std::vector<int32_t>(input.begin(), input.end()), (std::vector<int32_t>{7, 117, 118, 119, 120, 121, 122, 123}));
  EXPECT_EQ(chunks.target(2, 0), 121);  // position 4 of chunk 2 is text token 20, it predicts 21
  EXPECT_EQ(chunks.target(2, 2), 123);
  EXPECT_EQ(chunks.target(0, 0), 105);  // the BOS replacement never changes a target
}

TEST(CalibrationChunks, WithoutBosTheTextIsKeptAndChunksCanBeLimited) {
  std::vector<int32_t> tokens(40);
  std::iota(tokens.begin(), tokens.end(), 0);
  const CalibrationChunks chunks(tokens, 10, 2, std::nullopt);
  EXPECT_EQ(chunks.n_chunks(), 2);
  EXPECT_EQ(chunks.input(1)[0], 10);
  EXPECT_EQ(chunks.target(1, 3), 19);
}

TEST(CalibrationChunks, TooShortTextOrContextIsAClearError) {
  const std::vector<int32_t> tokens(10, 1);
  test::expect_error_containing([&] { CalibrationChunks(tokens, 16, -1, std::nullopt); },
                                {"the text has 10 tokens, fewer than one context of 16"});
  test::expect_error_containing([&] { CalibrationChunks(tokens, 3, -1, std::nullopt); }, {"context of 3 tokens is too small"});
  test::expect_error_containing([&] { CalibrationChunks(tokens, 4, 0, std::nullopt); }, {"no chunk"});
}

}  // namespace
}  // namespace qs::calibration_test
