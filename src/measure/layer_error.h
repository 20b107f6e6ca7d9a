// The "layer" metric: how much a quantized tensor changes its own output on real inputs,
// ||X (W - Q)^T||^2 / ||X W^T||^2 over the calibration tokens (exllamav2's measure), with X the
// inputs the unquantized model feeds that matmul. Expert tensors sum over their experts, each with
// the tokens routed to it. The token embedding is a lookup, i.e. a matmul with one-hot inputs, so
// its X is the calibration tokens' counts.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "infer/activation_sink.h"
#include "infer/thread_pool.h"

namespace qs {

// Collects the input rows of every matmul it is shown, by weight and expert, across calls (one
// call per calibration chunk).
class MatmulInputCapture final : public ActivationSink {
 public:
  void matmul_input(std::string_view weight_name, int expert, const float *x, int64_t n_rows, int64_t n_cols) override;

  struct Inputs {
    int64_t n_cols = 0;
    std::vector<std::vector<float>> rows;  // per matrix (expert; 0 for a plain weight): n x n_cols
  };
  const Inputs *find(std::string_view weight_name) const;
  void clear() { inputs_.clear(); }

 private:
  std::map<std::string, Inputs, std::less<>> inputs_;
};

// Sum over the matrices of ||X_m D_m^T||^2, D_m the n_rows x n_cols slice m of `weights` (n_matrices
// stacked). Matrices without inputs add nothing. Double accumulation; the products go through
// sgemm in fixed tiles of tokens x weight rows spread over the pool (memory stays small) and the
// tile sums are added in tile order, so the result has the same bits for any thread count.
double matmul_output_energy(ThreadPool &pool, const MatmulInputCapture::Inputs &inputs, const float *weights,
                            int64_t n_matrices, int64_t n_rows, int64_t n_cols);

// The same in plain loops with double accumulation: the reference the tests hold the fast one to.
double matmul_output_energy_reference(const MatmulInputCapture::Inputs &inputs, const float *weights,
                                      int64_t n_matrices, int64_t n_rows, int64_t n_cols);

// Sum over vocabulary entries v of count[v] * ||D_v||^2, D_v row v of an embedding table (n_vocab
// rows of n_embd): the lookup's output energy on tokens seen count[v] times.
double lookup_output_energy(const std::vector<int64_t> &token_counts, const float *table, int64_t n_embd);

}  // namespace qs
