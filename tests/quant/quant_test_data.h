// Deterministic test matrices for the quant tests: Gaussian, heavy-tailed (Student-t, 3 degrees
// of freedom) and Gaussian with a few outlier columns (as real LLM weights have), plus an
// importance vector shaped like a real imatrix (a few columns far more active than the rest).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace qs::test {

enum class Distribution { Gaussian, StudentT, OutlierColumns };

inline std::vector<float> make_matrix(Distribution dist, int64_t n_rows, int64_t n_per_row, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::student_t_distribution<float> student(3.0f);
  std::vector<float> values(static_cast<size_t>(n_rows * n_per_row));
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t c = 0; c < n_per_row; ++c) {
      float v = 0.0f;
      switch (dist) {
        case Distribution::Gaussian: v = normal(rng); break;
        case Distribution::StudentT: v = student(rng); break;
        case Distribution::OutlierColumns: v = normal(rng) * (c % 97 == 5 ? 12.0f : 1.0f); break;
      }
      values[static_cast<size_t>(r * n_per_row + c)] = 0.02f * v;
    }
  }
  return values;
}

// Non-negative per-column weights: log-normal spread plus a few dominant columns.
inline std::vector<float> make_importance(int64_t n_per_row, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> weights(static_cast<size_t>(n_per_row));
  for (int64_t c = 0; c < n_per_row; ++c) {
    weights[static_cast<size_t>(c)] = std::exp(1.5f * normal(rng)) * (c % 61 == 7 ? 50.0f : 1.0f);
  }
  return weights;
}

// sum_i w_i (a_i - b_i)^2 / sum_i w_i a_i^2 with w_i = importance[i % n_per_row] (1 if null).
inline double weighted_relative_mse(const std::vector<float> &original, const std::vector<float> &restored,
                                    int64_t n_per_row, const float *importance) {
  double err = 0.0, norm = 0.0;
  for (size_t i = 0; i < original.size(); ++i) {
    const double w = importance ? importance[i % static_cast<size_t>(n_per_row)] : 1.0;
    const double d = static_cast<double>(original[i]) - restored[i];
    err += w * d * d;
    norm += w * static_cast<double>(original[i]) * original[i];
  }
  return err / norm;
}

}  // namespace qs::test
