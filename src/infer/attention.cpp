// Causal attention: scores = scale * Q K^T over the visible keys, softmax per query row (float32,
// like transformers' eager attention), then P V.
#include "infer/attention.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "infer/vector_math.h"

namespace qs {
namespace {

constexpr int64_t kQueryBlock = 64;

// First key position query i can see.
int64_t first_visible_key(int64_t i, int64_t window) { return window > 0 ? std::max<int64_t>(0, i - window + 1) : 0; }

// Softmax over scores[begin, end) in place; entries outside are set to zero.
void masked_softmax(float *scores, int64_t n, int64_t begin, int64_t end) {
  float *visible = scores + begin;
  const int64_t count = end - begin;
  exp_shifted_in_place(visible, count, max_of(visible, count));
  const float sum = sum_of(visible, count);
  for (int64_t j = 0; j < count; ++j) visible[j] /= sum;
  std::fill(scores, visible, 0.0f);
  std::fill(scores + end, scores + n, 0.0f);
}

}  // namespace

void causal_attention(ThreadPool &pool, const float *q, const float *k, const float *v, float *out,
                      const AttentionShape &shape, std::vector<std::vector<float>> &scratch) {
  const int64_t n = shape.n_tokens, hd = shape.head_dim;
  if (n <= 0) return;
  if (shape.n_head_kv <= 0 || shape.n_head % shape.n_head_kv != 0) {
    fail("attention: ", shape.n_head, " query heads cannot share ", shape.n_head_kv, " key/value heads");
  }
  const int64_t seq = shape.sequence_length > 0 ? shape.sequence_length : n;
  if (n % seq != 0) fail("attention: ", n, " tokens are not whole sequences of ", seq);
  if (shape.first_query < 0 || shape.first_query >= seq)
    fail("attention: first query ", shape.first_query, " is outside a sequence of ", seq);
  const int64_t n_sequences = n / seq;
  const int64_t group = shape.n_head / shape.n_head_kv;
  const int64_t q_stride = shape.n_head * hd, kv_stride = shape.n_head_kv * hd;
  const int64_t n_blocks = (seq - shape.first_query + kQueryBlock - 1) / kQueryBlock;
  const int64_t tasks_per_sequence = shape.n_head * n_blocks;
  scratch.resize(static_cast<size_t>(pool.size()));
  for (auto &s : scratch) s.resize(static_cast<size_t>(kQueryBlock * seq));

  // Tasks run the largest blocks (the last ones, which see the most keys) first.
  pool.run(n_sequences * tasks_per_sequence, [&](int64_t task, int thread) {
    const int64_t sequence = task / tasks_per_sequence, in_sequence = task % tasks_per_sequence;
    const int64_t head = in_sequence % shape.n_head;
    const int64_t block = n_blocks - 1 - in_sequence / shape.n_head;
    const int64_t kv_head = head / group;
    const int64_t q0 = shape.first_query + block * kQueryBlock, q1 = std::min(seq, q0 + kQueryBlock);
    const int64_t key0 = first_visible_key(q0, shape.sliding_window), key1 = q1;
    const int64_t rows = q1 - q0, keys = key1 - key0;
    const int64_t base = sequence * seq;  // the sequence's first row
    float *scores = scratch[static_cast<size_t>(thread)].data();

    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(keys),
                static_cast<int>(hd), shape.scale, q + (base + q0) * q_stride + head * hd, static_cast<int>(q_stride),
                k + (base + key0) * kv_stride + kv_head * hd, static_cast<int>(kv_stride), 0.0f, scores,
                static_cast<int>(keys));
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = q0 + r;
      masked_softmax(scores + r * keys, keys, first_visible_key(i, shape.sliding_window) - key0, i + 1 - key0);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows), static_cast<int>(hd),
                static_cast<int>(keys), 1.0f, scores, static_cast<int>(keys),
                v + (base + key0) * kv_stride + kv_head * hd, static_cast<int>(kv_stride), 0.0f,
                out + (base + q0) * q_stride + head * hd, static_cast<int>(q_stride));
  });
}

void causal_attention_reference(const float *q, const float *k, const float *v, float *out,
                                const AttentionShape &shape) {
  const int64_t n = shape.n_tokens, hd = shape.head_dim;
  const int64_t group = shape.n_head / shape.n_head_kv;
  const int64_t q_stride = shape.n_head * hd, kv_stride = shape.n_head_kv * hd;
  std::vector<double> weights(static_cast<size_t>(n));
  for (int64_t head = 0; head < shape.n_head; ++head) {
    const int64_t kv_head = head / group;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t begin = first_visible_key(i, shape.sliding_window);
      double max_score = -std::numeric_limits<double>::infinity();
      for (int64_t j = begin; j <= i; ++j) {
        double dot = 0.0;
        for (int64_t d = 0; d < hd; ++d) dot += static_cast<double>(q[i * q_stride + head * hd + d]) * k[j * kv_stride + kv_head * hd + d];
        weights[static_cast<size_t>(j)] = dot * shape.scale;
        max_score = std::max(max_score, weights[static_cast<size_t>(j)]);
      }
      double sum = 0.0;
      for (int64_t j = begin; j <= i; ++j) sum += (weights[static_cast<size_t>(j)] = std::exp(weights[static_cast<size_t>(j)] - max_score));
      for (int64_t d = 0; d < hd; ++d) {
        double acc = 0.0;
        for (int64_t j = begin; j <= i; ++j) acc += weights[static_cast<size_t>(j)] / sum * v[j * kv_stride + kv_head * hd + d];
        out[i * q_stride + head * hd + d] = static_cast<float>(acc);
      }
    }
  }
}

}  // namespace qs
