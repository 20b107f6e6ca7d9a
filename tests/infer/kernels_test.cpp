// Forward-pass kernels against hand-worked values and plain loops: RMSNorm, the sgemm matmul,
// causal attention (with GQA and sliding windows), and the thread pool they run on.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "core/error.h"
#include "infer/attention.h"
#include "infer/matmul.h"
#include "infer/norm.h"
#include "infer/thread_pool.h"

namespace qs::kernels_test {
namespace {

std::vector<float> random_values(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto &x : v) x = dist(rng);
  return v;
}

TEST(RmsNorm, HandWorkedRow) {
  // mean of squares (1 + 4 + 9 + 16) / 4 = 7.5; eps 0.5 -> divide by sqrt(8) = 2.828427.
  const float x[4] = {1, 2, 3, 4}, w[4] = {1, 1, 2, 0.5f};
  float out[4];
  rms_norm(x, w, out, 4, 0.5f);
  const double r = std::sqrt(8.0);
  EXPECT_NEAR(out[0], 1 / r, 1e-7);
  EXPECT_NEAR(out[1], 2 / r, 1e-7);
  EXPECT_NEAR(out[2], 2 * 3 / r, 1e-6);
  EXPECT_NEAR(out[3], 0.5 * 4 / r, 1e-7);
}

TEST(ThreadPool, RunsEveryTaskOnceAndRethrows) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(1000);
  pool.run(1000, [&](int64_t task, int thread) {
    EXPECT_GE(thread, 0);
    EXPECT_LT(thread, 3);
    hits[static_cast<size_t>(task)]++;
  });
  for (auto &h : hits) EXPECT_EQ(h.load(), 1);
  EXPECT_THROW(pool.run(50, [](int64_t task, int) {
    if (task == 17) fail("task 17");
  }), Error);
  // The pool still works after an exception.
  std::atomic<int> count{0};
  pool.run(10, [&](int64_t, int) { count++; });
  EXPECT_EQ(count.load(), 10);
}

TEST(Matmul, MatchesPlainLoopsOnEverySplit) {
  ThreadPool pool(3);
  // Shapes that split by rows, by columns, and with ragged column blocks; with and without bias.
  const int64_t shapes[][3] = {{200, 48, 70}, {5, 33, 100}, {1, 16, 7}, {64, 64, 64}};
  for (const auto &shape : shapes) {
    const int64_t rows = shape[0], n_in = shape[1], n_out = shape[2];
    const auto x = random_values(static_cast<size_t>(rows * n_in), 1);
    const auto w = random_values(static_cast<size_t>(n_out * n_in), 2);
    const auto bias = random_values(static_cast<size_t>(n_out), 3);
    for (const float *b : {static_cast<const float *>(nullptr), bias.data()}) {
      std::vector<float> got(static_cast<size_t>(rows * n_out)), want(got.size());
      matmul(pool, x.data(), rows, n_in, n_in, w.data(), n_out, b, got.data(), n_out);
      matmul_reference(x.data(), rows, n_in, w.data(), n_out, b, want.data());
      for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-4) << rows << "x" << n_in << "x" << n_out;
    }
  }
}

TEST(Attention, HandWorkedTwoTokens) {
  // One head of width 1, scale 1: q = (1, 1), k = (0, ln 3), v = (10, 20). Token 0 sees only
  // itself -> 10. Token 1: softmax(0, ln 3) = (1/4, 3/4) -> 2.5 + 15 = 17.5.
  ThreadPool pool(2);
  const float q[2] = {1, 1}, k[2] = {0, std::log(3.0f)}, v[2] = {10, 20};
  float out[2];
  AttentionShape shape{2, 1, 1, 1, 0, 1.0f};
  std::vector<std::vector<float>> scratch;
  causal_attention(pool, q, k, v, out, shape, scratch);
  EXPECT_NEAR(out[0], 10.0f, 1e-5);
  EXPECT_NEAR(out[1], 17.5f, 1e-5);
}

TEST(Attention, MatchesNaiveLoopsWithGqaAndWindows) {
  ThreadPool pool(2);
  for (int64_t window : {int64_t{0}, int64_t{7}, int64_t{100}}) {
    AttentionShape shape;
    shape.n_tokens = 150;  // several query blocks, the last one ragged
    shape.n_head = 4;
    shape.n_head_kv = 2;
    shape.head_dim = 16;
    shape.sliding_window = window;
    shape.scale = 0.25f;
    const auto q = random_values(static_cast<size_t>(shape.n_tokens * 64), 11);
    const auto k = random_values(static_cast<size_t>(shape.n_tokens * 32), 12);
    const auto v = random_values(static_cast<size_t>(shape.n_tokens * 32), 13);
    std::vector<float> got(q.size()), want(q.size());
    std::vector<std::vector<float>> scratch;
    causal_attention(pool, q.data(), k.data(), v.data(), got.data(), shape, scratch);
    causal_attention_reference(q.data(), k.data(), v.data(), want.data(), shape);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 2e-5) << "window " << window << " at " << i;
  }
}

TEST(Attention, BatchedSequencesAttendOnlyToThemselvesFromTheirFirstQuery) {
  // Three sequences of 70 back to back, queries from position 20 on: each computed row equals the
  // reference on that sequence alone, rows before 20 are left untouched.
  ThreadPool pool(2);
  const int64_t seq = 70, n_seq = 3, width_q = 4 * 8, width_kv = 2 * 8;
  AttentionShape shape;
  shape.n_tokens = seq * n_seq;
  shape.n_head = 4;
  shape.n_head_kv = 2;
  shape.head_dim = 8;
  shape.scale = 0.35f;
  shape.sequence_length = seq;
  shape.first_query = 20;
  const auto q = random_values(static_cast<size_t>(shape.n_tokens * width_q), 31);
  const auto k = random_values(static_cast<size_t>(shape.n_tokens * width_kv), 32);
  const auto v = random_values(static_cast<size_t>(shape.n_tokens * width_kv), 33);
  std::vector<float> got(q.size(), 7.0f);
  std::vector<std::vector<float>> scratch;
  causal_attention(pool, q.data(), k.data(), v.data(), got.data(), shape, scratch);
  AttentionShape one = shape;
  one.n_tokens = seq;
  one.sequence_length = 0;
  one.first_query = 0;
  std::vector<float> want(static_cast<size_t>(seq * width_q));
  for (int64_t b = 0; b < n_seq; ++b) {
    causal_attention_reference(q.data() + b * seq * width_q, k.data() + b * seq * width_kv,
                               v.data() + b * seq * width_kv, want.data(), one);
    for (int64_t t = 0; t < seq; ++t)
      for (int64_t j = 0; j < width_q; ++j) {
        const float value = got[static_cast<size_t>((b * seq + t) * width_q + j)];
        if (t < 20) ASSERT_EQ(value, 7.0f) << b << " " << t;
        else ASSERT_NEAR(value, want[static_cast<size_t>(t * width_q + j)], 2e-5) << b << " " << t;
      }
  }
  shape.first_query = 70;
  EXPECT_THROW(causal_attention(pool, q.data(), k.data(), v.data(), got.data(), shape, scratch), Error);
  shape.first_query = 0;
  shape.sequence_length = 64;  // 210 tokens are not whole sequences of 64
  EXPECT_THROW(causal_attention(pool, q.data(), k.data(), v.data(), got.data(), shape, scratch), Error);
}

TEST(Attention, FutureTokensDoNotMatter) {
  // Changing the last token's key and value must not change any earlier output.
  ThreadPool pool(2);
  AttentionShape shape{80, 2, 1, 8, 0, 0.3f};
  const auto q = random_values(80 * 16, 21);
  auto k = random_values(80 * 8, 22), v = random_values(80 * 8, 23);
  std::vector<float> a(q.size()), b(q.size());
  std::vector<std::vector<float>> scratch;
  causal_attention(pool, q.data(), k.data(), v.data(), a.data(), shape, scratch);
  for (int d = 0; d < 8; ++d) k[79 * 8 + d] += 5.0f, v[79 * 8 + d] -= 3.0f;
  causal_attention(pool, q.data(), k.data(), v.data(), b.data(), shape, scratch);
  for (size_t i = 0; i < 79 * 16; ++i) ASSERT_EQ(a[i], b[i]);
  bool last_changed = false;
  for (size_t i = 79 * 16; i < 80 * 16; ++i) last_changed |= a[i] != b[i];
  EXPECT_TRUE(last_changed);
}

}  // namespace
}  // namespace qs::kernels_test
