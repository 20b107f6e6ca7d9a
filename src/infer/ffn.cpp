// SwiGLU feed-forward: two sgemms, the gated activation in place, one more sgemm.
#include "infer/ffn.h"

#include <algorithm>

#include "infer/matmul.h"

namespace qs {

void swiglu_ffn(ThreadPool &pool, const float *x, int64_t n_rows, int64_t n_embd, const FfnWeights &weights,
                float *out, FfnScratch &scratch, ActivationSink *sink) {
  if (n_rows <= 0) return;
  const int64_t n_ff = weights.n_ff;
  const size_t needed = static_cast<size_t>(n_rows * n_ff);
  if (scratch.gate.size() < needed) scratch.gate.resize(needed);
  if (scratch.up.size() < needed) scratch.up.resize(needed);
  if (sink) {
    sink->matmul_input(weights.gate_name, weights.expert, x, n_rows, n_embd);
    sink->matmul_input(weights.up_name, weights.expert, x, n_rows, n_embd);
  }
  matmul(pool, x, n_rows, n_embd, n_embd, weights.gate, n_ff, nullptr, scratch.gate.data(), n_ff);
  matmul(pool, x, n_rows, n_embd, n_embd, weights.up, n_ff, nullptr, scratch.up.data(), n_ff);
  float *gate = scratch.gate.data();
  const float *up = scratch.up.data();
  const int64_t n_slices = std::min<int64_t>(pool.size(), n_rows);
  pool.run(n_slices, [&](int64_t slice, int) {
    const int64_t begin = n_rows * slice / n_slices * n_ff, end = n_rows * (slice + 1) / n_slices * n_ff;
    for (int64_t i = begin; i < end; ++i) gate[i] = silu(gate[i]) * up[i];
  });
  if (sink) sink->matmul_input(weights.down_name, weights.expert, gate, n_rows, n_ff);
  matmul(pool, gate, n_rows, n_ff, n_ff, weights.down, n_embd, nullptr, out, n_embd);
}

}  // namespace qs
