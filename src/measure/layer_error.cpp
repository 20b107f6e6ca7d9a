// Captured matmul inputs and the output energy of a weight (or of a quantization error) on them.
#include "measure/layer_error.h"

#include <algorithm>

#include "core/error.h"
#include "infer/matmul.h"

namespace qs {

void MatmulInputCapture::matmul_input(std::string_view weight_name, int expert, const float *x, int64_t n_rows,
                                      int64_t n_cols) {
  auto it = inputs_.find(weight_name);
  if (it == inputs_.end()) it = inputs_.emplace(std::string(weight_name), Inputs{}).first;
  Inputs &in = it->second;
  if (in.n_cols == 0) in.n_cols = n_cols;
  if (in.n_cols != n_cols) fail("captured inputs of ", weight_name, " change width from ", in.n_cols, " to ", n_cols);
  const size_t matrix = expert < 0 ? 0 : static_cast<size_t>(expert);
  if (in.rows.size() <= matrix) in.rows.resize(matrix + 1);
  in.rows[matrix].insert(in.rows[matrix].end(), x, x + n_rows * n_cols);
}

const MatmulInputCapture::Inputs *MatmulInputCapture::find(std::string_view weight_name) const {
  auto it = inputs_.find(weight_name);
  return it == inputs_.end() ? nullptr : &it->second;
}

namespace {

void check_inputs(const MatmulInputCapture::Inputs &inputs, int64_t n_matrices, int64_t n_cols) {
  if (inputs.n_cols != n_cols) fail("captured inputs have ", inputs.n_cols, " columns, the weight ", n_cols);
  if (static_cast<int64_t>(inputs.rows.size()) > n_matrices)
    fail("captured inputs for ", inputs.rows.size(), " matrices, the weight has ", n_matrices);
}

}  // namespace

double matmul_output_energy(ThreadPool &pool, const MatmulInputCapture::Inputs &inputs, const float *weights,
                            int64_t n_matrices, int64_t n_rows, int64_t n_cols) {
  check_inputs(inputs, n_matrices, n_cols);
  constexpr int64_t kBlockRows = 256;  // tokens per product: bounds the scratch to 256 x n_rows
  std::vector<float> product;
  double energy = 0;
  for (size_t m = 0; m < inputs.rows.size(); ++m) {
    const std::vector<float> &x = inputs.rows[m];
    const int64_t n_tokens = static_cast<int64_t>(x.size()) / n_cols;
    const float *w = weights + static_cast<int64_t>(m) * n_rows * n_cols;
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kBlockRows) {
      const int64_t t = std::min(kBlockRows, n_tokens - t0);
      product.resize(static_cast<size_t>(t * n_rows));
      matmul(pool, x.data() + t0 * n_cols, t, n_cols, n_cols, w, n_rows, nullptr, product.data(), n_rows);
      for (const float y : product) energy += static_cast<double>(y) * y;
    }
  }
  return energy;
}

double matmul_output_energy_reference(const MatmulInputCapture::Inputs &inputs, const float *weights,
                                      int64_t n_matrices, int64_t n_rows, int64_t n_cols) {
  check_inputs(inputs, n_matrices, n_cols);
  double energy = 0;
  for (size_t m = 0; m < inputs.rows.size(); ++m) {
    const std::vector<float> &x = inputs.rows[m];
    const int64_t n_tokens = static_cast<int64_t>(x.size()) / n_cols;
    const float *w = weights + static_cast<int64_t>(m) * n_rows * n_cols;
    for (int64_t t = 0; t < n_tokens; ++t) {
      for (int64_t r = 0; r < n_rows; ++r) {
        double y = 0;
        for (int64_t k = 0; k < n_cols; ++k) y += static_cast<double>(x[static_cast<size_t>(t * n_cols + k)]) * w[r * n_cols + k];
        energy += y * y;
      }
    }
  }
  return energy;
}

double lookup_output_energy(const std::vector<int64_t> &token_counts, const float *table, int64_t n_embd) {
  double energy = 0;
  for (size_t v = 0; v < token_counts.size(); ++v) {
    if (token_counts[v] == 0) continue;
    double row = 0;
    for (int64_t k = 0; k < n_embd; ++k) {
      const double d = table[static_cast<int64_t>(v) * n_embd + k];
      row += d * d;
    }
    energy += static_cast<double>(token_counts[v]) * row;
  }
  return energy;
}

}  // namespace qs
