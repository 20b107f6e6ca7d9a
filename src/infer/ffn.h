// The SwiGLU feed-forward block: out = (silu(x Wg^T) * (x Wu^T)) Wd^T, used by dense layers and,
// per expert, by MoE layers.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "infer/activation_sink.h"
#include "infer/vector_math.h"
#include "infer/thread_pool.h"

namespace qs {

struct FfnWeights {
  const float *gate = nullptr;  // [n_ff x n_embd]
  const float *up = nullptr;    // [n_ff x n_embd]
  const float *down = nullptr;  // [n_embd x n_ff]
  int64_t n_ff = 0;
  // For the activation sink: the GGUF names and, for a stacked expert tensor, the expert index.
  std::string_view gate_name, up_name, down_name;
  int expert = -1;
};

struct FfnScratch {
  std::vector<float> gate, up;
};

// A block run that starts at one of its products, taking the others from an earlier run of the
// same block on the same x (when only that product's weight changed), and/or keeps its
// intermediates for such runs.
struct FfnStaging {
  enum class Start { products, gate, up, down };
  Start start = Start::products;
  const float *kept_gate_act = nullptr;  // silu(x Wg^T): for start up and down
  const float *kept_up = nullptr;        // x Wu^T: for start gate and down
  std::vector<float> *keep_gate_act = nullptr, *keep_up = nullptr;  // filled when not null
};

// out[n_rows x n_embd] = SwiGLU(x[n_rows x n_embd]).
void swiglu_ffn(ThreadPool &pool, const float *x, int64_t n_rows, int64_t n_embd, const FfnWeights &weights,
                float *out, FfnScratch &scratch, ActivationSink *sink, const FfnStaging *staging = nullptr);

// silu(a) = a * sigmoid(a)
inline float silu(float a) { return a / (1.0f + fast_exp(-a)); }

}  // namespace qs
