// The q/k row permutation against a hand-worked example of convert_hf_to_gguf.py's permute,
// and against its purpose: llama.cpp's adjacent-pair rope on permuted rows equals HF's
// rotate_half rope on the original rows.
#include "model/qk_permutation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"

namespace qs::qk_permutation_test {
namespace {

// Rows r = 0..7, 3 columns, value 10 * r + c, so each output row shows its source row.
std::vector<float> numbered_rows(int64_t n_rows, int64_t n_cols) {
  std::vector<float> w;
  for (int64_t r = 0; r < n_rows; ++r)
    for (int64_t c = 0; c < n_cols; ++c) w.push_back(static_cast<float>(10 * r + c));
  return w;
}

std::vector<int64_t> source_rows(const std::vector<float> &out, int64_t n_cols) {
  std::vector<int64_t> rows;
  for (size_t i = 0; i < out.size(); i += static_cast<size_t>(n_cols)) rows.push_back(static_cast<int64_t>(out[i]) / 10);
  return rows;
}

TEST(QkPermutation, MatchesConvertPermuteByHand) {
  // n_head 2, 8 rows: w.reshape(2, 2, 2, 3) indexes rows as (head h, half s, j) = 4h + 2s + j.
  // swapaxes(1, 2) gives (h, j, s), flattened as 4h + 2j + s. So output row 4h + 2j + s holds
  // input row 4h + 2s + j:  out 0 <- 0, 1 <- 2, 2 <- 1, 3 <- 3, 4 <- 4, 5 <- 6, 6 <- 5, 7 <- 7.
  const auto in = numbered_rows(8, 3);
  std::vector<float> out(in.size());
  permute_qk_rows(in.data(), out.data(), 2, 8, 3);
  EXPECT_EQ(source_rows(out, 3), (std::vector<int64_t>{0, 2, 1, 3, 4, 6, 5, 7}));
  EXPECT_EQ(out[3 * 1 + 2], 22.0f);  // row 1, column 2 came from row 2, column 2

  // One KV head of 8 rows (convert passes n_head_kv for k_proj): (s, j) with half = 4, so
  // output row 2j + s holds input row 4s + j.
  permute_qk_rows(in.data(), out.data(), 1, 8, 3);
  EXPECT_EQ(source_rows(out, 3), (std::vector<int64_t>{0, 4, 1, 5, 2, 6, 3, 7}));

  // A bias is one column.
  const std::vector<float> bias = {0, 1, 2, 3, 4, 5, 6, 7};
  std::vector<float> bias_out(8);
  permute_qk_rows(bias.data(), bias_out.data(), 2, 8, 1);
  EXPECT_EQ(bias_out, (std::vector<float>{0, 2, 1, 3, 4, 6, 5, 7}));
}

TEST(QkPermutation, InverseAndByteVersionsAgree) {
  const auto in = numbered_rows(24, 5);
  std::vector<float> permuted(in.size()), back(in.size());
  permute_qk_rows(in.data(), permuted.data(), 3, 24, 5);
  unpermute_qk_rows(permuted.data(), back.data(), 3, 24, 5);
  EXPECT_EQ(back, in);
  EXPECT_NE(permuted, in);

  // BF16-sized rows move the same way.
  std::vector<uint16_t> rows16(24 * 5), out16(rows16.size());
  for (size_t i = 0; i < rows16.size(); ++i) rows16[i] = static_cast<uint16_t>(in[i]);
  permute_qk_rows_bytes(rows16.data(), out16.data(), 3, 24, 5 * sizeof(uint16_t));
  for (size_t i = 0; i < out16.size(); ++i) EXPECT_EQ(out16[i], static_cast<uint16_t>(permuted[i]));
}

TEST(QkPermutation, RefusesRowsThatDoNotSplitIntoHeads) {
  std::vector<float> w(6 * 2), out(w.size());
  EXPECT_THROW(permute_qk_rows(w.data(), out.data(), 2, 6, 2), Error);  // heads of 3 rows
  EXPECT_THROW(permute_qk_rows(w.data(), out.data(), 0, 6, 2), Error);
  EXPECT_THROW(unpermute_qk_rows(w.data(), out.data(), 4, 6, 2), Error);
}

// HF (transformers apply_rotary_pos_emb): out = x * cos + rotate_half(x) * sin, rotate_half(x) =
// [-x2, x1] for the halves x1, x2; frequency j serves elements j and j + d/2.
std::vector<double> hf_rope(const std::vector<double> &x, double position, double theta) {
  const size_t d = x.size(), half = d / 2;
  std::vector<double> out(d);
  for (size_t j = 0; j < half; ++j) {
    const double angle = position * std::pow(theta, -2.0 * static_cast<double>(j) / static_cast<double>(d));
    out[j] = x[j] * std::cos(angle) - x[j + half] * std::sin(angle);
    out[j + half] = x[j + half] * std::cos(angle) + x[j] * std::sin(angle);
  }
  return out;
}

// llama.cpp LLAMA_ROPE_TYPE_NORM (ggml_rope): rotates adjacent pairs (2j, 2j + 1) by frequency j.
std::vector<double> llama_cpp_normal_rope(const std::vector<double> &x, double position, double theta) {
  const size_t d = x.size();
  std::vector<double> out(d);
  for (size_t j = 0; j < d / 2; ++j) {
    const double angle = position * std::pow(theta, -2.0 * static_cast<double>(j) / static_cast<double>(d));
    out[2 * j] = x[2 * j] * std::cos(angle) - x[2 * j + 1] * std::sin(angle);
    out[2 * j + 1] = x[2 * j] * std::sin(angle) + x[2 * j + 1] * std::cos(angle);
  }
  return out;
}

TEST(QkPermutation, TurnsHfRopeIntoLlamaCppNormalRope) {
  // A q projection output of 2 heads of 8: permuting W's rows permutes q the same way, so
  // llama.cpp's rope of the permuted q must be the permutation of HF's rope of q.
  constexpr int64_t n_head = 2, head_dim = 8, n_rows = n_head * head_dim;
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  std::vector<float> q(n_rows);
  for (auto &v : q) v = static_cast<float>(normal(rng));
  std::vector<float> q_permuted(n_rows);
  permute_qk_rows(q.data(), q_permuted.data(), n_head, n_rows, 1);

  for (double position : {0.0, 1.0, 17.0, 500.0}) {
    std::vector<float> expected_rows(n_rows), hf_all(n_rows);
    for (int64_t h = 0; h < n_head; ++h) {
      const std::vector<double> head(q.begin() + h * head_dim, q.begin() + (h + 1) * head_dim);
      const auto rotated = hf_rope(head, position, 10000.0);
      for (int64_t i = 0; i < head_dim; ++i) hf_all[h * head_dim + i] = static_cast<float>(rotated[i]);
    }
    permute_qk_rows(hf_all.data(), expected_rows.data(), n_head, n_rows, 1);
    for (int64_t h = 0; h < n_head; ++h) {
      const std::vector<double> head(q_permuted.begin() + h * head_dim, q_permuted.begin() + (h + 1) * head_dim);
      const auto rotated = llama_cpp_normal_rope(head, position, 10000.0);
      for (int64_t i = 0; i < head_dim; ++i)
        EXPECT_NEAR(rotated[i], expected_rows[h * head_dim + i], 1e-5) << "position " << position << " row " << h * head_dim + i;
    }
  }
}

}  // namespace
}  // namespace qs::qk_permutation_test
