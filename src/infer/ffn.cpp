// SwiGLU feed-forward: two sgemms, the gated activation, one more sgemm; with staging, only the
// products the changed weight touches.
#include "infer/ffn.h"

#include "infer/matmul.h"

namespace qs {

void swiglu_ffn(ThreadPool &pool, const float *x, int64_t n_rows, int64_t n_embd, const FfnWeights &weights,
                float *out, FfnScratch &scratch, ActivationSink *sink, const FfnStaging *staging) {
  if (n_rows <= 0) return;
  using Start = FfnStaging::Start;
  const Start start = staging ? staging->start : Start::products;
  const int64_t n_ff = weights.n_ff, n = n_rows * n_ff;
  if (scratch.gate.size() < static_cast<size_t>(n)) scratch.gate.resize(static_cast<size_t>(n));
  if (scratch.up.size() < static_cast<size_t>(n)) scratch.up.resize(static_cast<size_t>(n));
  if (sink) {
    sink->matmul_input(weights.gate_name, weights.expert, x, n_rows, n_embd);
    sink->matmul_input(weights.up_name, weights.expert, x, n_rows, n_embd);
  }
  float *gate = scratch.gate.data();
  const float *gate_act = gate, *up = scratch.up.data();
  if (start == Start::products || start == Start::gate) {
    matmul(pool, x, n_rows, n_embd, n_embd, weights.gate, n_ff, nullptr, gate, n_ff);
    for_each_range(pool, n, [gate](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) gate[i] = silu(gate[i]);
    });
  } else {
    gate_act = staging->kept_gate_act;
  }
  if (start == Start::products || start == Start::up) {
    matmul(pool, x, n_rows, n_embd, n_embd, weights.up, n_ff, nullptr, scratch.up.data(), n_ff);
  } else {
    up = staging->kept_up;
  }
  if (staging && staging->keep_gate_act) staging->keep_gate_act->assign(gate_act, gate_act + n);
  if (staging && staging->keep_up) staging->keep_up->assign(up, up + n);
  // The gated activation goes into the gate buffer (in place when it holds silu(x Wg^T)).
  for_each_range(pool, n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) gate[i] = gate_act[i] * up[i];
  });
  if (sink) sink->matmul_input(weights.down_name, weights.expert, gate, n_rows, n_ff);
  matmul(pool, gate, n_rows, n_ff, n_ff, weights.down, n_embd, nullptr, out, n_embd);
}

}  // namespace qs
