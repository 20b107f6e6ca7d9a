// Output energies of a weight on captured inputs: the sgemm path against plain double loops, a
// hand-computed case, experts that saw no token, and the embedding lookup's count weighting.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "measure/layer_error.h"

namespace qs::layer_error_test {
namespace {

TEST(LayerError, HandComputedEnergy) {
  // X = [[1, 2], [0, 1]], W = [[1, 0], [1, 1], [0, 2]]: X W^T = [[1, 3, 4], [0, 1, 2]],
  // squares 1 + 9 + 16 + 0 + 1 + 4 = 31.
  MatmulInputCapture capture;
  const float x[] = {1, 2, 0, 1};
  capture.matmul_input("w", -1, x, 1, 2);  // two calls (two chunks) append
  capture.matmul_input("w", -1, x + 2, 1, 2);
  const float w[] = {1, 0, 1, 1, 0, 2};
  ThreadPool pool(2);
  EXPECT_DOUBLE_EQ(matmul_output_energy(pool, *capture.find("w"), w, 1, 3, 2), 31.0);
  EXPECT_DOUBLE_EQ(matmul_output_energy_reference(*capture.find("w"), w, 1, 3, 2), 31.0);
  EXPECT_EQ(capture.find("other"), nullptr);
}

TEST(LayerError, SgemmPathMatchesDoubleLoopsOnExpertsWithUnevenTokens) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  const int64_t n_matrices = 3, n_rows = 40, n_cols = 64;
  MatmulInputCapture capture;
  // Expert 0 gets 300 tokens (more than one 256-row block), expert 1 none, expert 2 gets 7.
  for (const auto &[expert, tokens] : std::vector<std::pair<int, int>>{{0, 300}, {2, 7}}) {
    std::vector<float> x(static_cast<size_t>(tokens * n_cols));
    for (float &v : x) v = normal(rng);
    capture.matmul_input("blk.0.ffn_up_exps.weight", expert, x.data(), tokens, n_cols);
  }
  std::vector<float> w(static_cast<size_t>(n_matrices * n_rows * n_cols));
  for (float &v : w) v = normal(rng) * 0.1f;
  ThreadPool pool(2);
  const auto &inputs = *capture.find("blk.0.ffn_up_exps.weight");
  const double fast = matmul_output_energy(pool, inputs, w.data(), n_matrices, n_rows, n_cols);
  const double reference = matmul_output_energy_reference(inputs, w.data(), n_matrices, n_rows, n_cols);
  EXPECT_NEAR(fast, reference, 1e-5 * reference);
  // Expert 1 saw no token: changing its weights changes nothing.
  for (int64_t i = n_rows * n_cols; i < 2 * n_rows * n_cols; ++i) w[static_cast<size_t>(i)] = 100.0f;
  EXPECT_EQ(matmul_output_energy(pool, inputs, w.data(), n_matrices, n_rows, n_cols), fast);
}

TEST(LayerError, ThreadCountChangesNoBit) {
  // Fixed tiles of tokens x weight rows: 300 tokens and 300 rows leave a partial tile each way.
  std::mt19937 rng(6);
  std::normal_distribution<float> normal;
  const int64_t n_tokens = 300, n_rows = 300, n_cols = 96;
  std::vector<float> x(static_cast<size_t>(n_tokens * n_cols)), w(static_cast<size_t>(n_rows * n_cols));
  for (float &v : x) v = normal(rng);
  for (float &v : w) v = normal(rng);
  MatmulInputCapture capture;
  capture.matmul_input("w", -1, x.data(), n_tokens, n_cols);
  const auto &inputs = *capture.find("w");
  ThreadPool one(1);
  const double expected = matmul_output_energy(one, inputs, w.data(), 1, n_rows, n_cols);
  const double reference = matmul_output_energy_reference(inputs, w.data(), 1, n_rows, n_cols);
  EXPECT_NEAR(expected, reference, 1e-5 * reference);
  for (const int n_threads : {2, 3}) {
    ThreadPool pool(n_threads);
    EXPECT_EQ(matmul_output_energy(pool, inputs, w.data(), 1, n_rows, n_cols), expected) << n_threads << " threads";
  }
}

TEST(LayerError, MismatchedInputsAreRefused) {
  MatmulInputCapture capture;
  const float x[4] = {};
  capture.matmul_input("w", -1, x, 1, 4);
  EXPECT_THROW(capture.matmul_input("w", -1, x, 2, 2), Error);
  ThreadPool pool(1);
  const float w[8] = {};
  EXPECT_THROW(matmul_output_energy(pool, *capture.find("w"), w, 1, 4, 2), Error);
}

TEST(LayerError, LookupEnergyWeighsRowsByTokenCounts) {
  // Rows (1, 2), (3, 0), (0, 1) seen 2, 0 and 5 times: 2 * 5 + 0 * 9 + 5 * 1 = 15.
  const float table[] = {1, 2, 3, 0, 0, 1};
  EXPECT_DOUBLE_EQ(lookup_output_energy({2, 0, 5}, table, 2), 15.0);
}

}  // namespace
}  // namespace qs::layer_error_test
