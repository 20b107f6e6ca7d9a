// Causal self-attention over one chunk of tokens with grouped-query heads (GQA): every query head
// h reads key/value head h / (n_head / n_head_kv). Scores and the weighted sum of values are
// sgemm calls per (head, block of queries); the block only reads the keys it can see.
#pragma once

#include <cstdint>
#include <vector>

#include "infer/thread_pool.h"

namespace qs {

struct AttentionShape {
  int64_t n_tokens = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t sliding_window = 0;  // 0: none; else query i sees keys j with i - window < j <= i
  float scale = 1.0f;          // usually 1 / sqrt(head_dim)
  // Several chunks in one call: n_tokens = n_sequences * sequence_length, each sequence attending
  // only to itself, positions restarting at 0 (0: one sequence of n_tokens).
  int64_t sequence_length = 0;
  // Queries before this position of each sequence are not computed and their output rows are
  // left as they are (a last layer whose earlier rows only serve as keys and values).
  int64_t first_query = 0;
};

// q and out: [n_tokens x n_head*head_dim]; k and v: [n_tokens x n_head_kv*head_dim], row-major.
// Positions are the row indices within each sequence. scratch is resized as needed and reused
// between calls.
void causal_attention(ThreadPool &pool, const float *q, const float *k, const float *v, float *out,
                      const AttentionShape &shape, std::vector<std::vector<float>> &scratch);

// Plain loops, one query at a time, double accumulation: the reference for the tests (one
// sequence, every query).
void causal_attention_reference(const float *q, const float *k, const float *v, float *out,
                                const AttentionShape &shape);

}  // namespace qs
