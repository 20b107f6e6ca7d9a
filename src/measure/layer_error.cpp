// Captured matmul inputs and the output energy of a weight (or of a quantization error) on them.
#include "measure/layer_error.h"

#include <cblas.h>

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

// Sum of squares in double over kLanes independent partial sums (combined in lane order), so the
// compiler can vectorize what would otherwise be one serial chain of additions.
double sum_of_squares(const float *y, int64_t n) {
  constexpr int kLanes = 8;
  double lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] += static_cast<double>(y[i + j]) * y[i + j];
  for (int j = 0; i < n; ++i, ++j) lanes[j] += static_cast<double>(y[i]) * y[i];
  double sum = 0;
  for (const double lane : lanes) sum += lane;
  return sum;
}

void check_inputs(const MatmulInputCapture::Inputs &inputs, int64_t n_matrices, int64_t n_cols) {
  if (inputs.n_cols != n_cols) fail("captured inputs have ", inputs.n_cols, " columns, the weight ", n_cols);
  if (static_cast<int64_t>(inputs.rows.size()) > n_matrices)
    fail("captured inputs for ", inputs.rows.size(), " matrices, the weight has ", n_matrices);
}

}  // namespace

double matmul_output_energy(ThreadPool &pool, const MatmulInputCapture::Inputs &inputs, const float *weights,
                            int64_t n_matrices, int64_t n_rows, int64_t n_cols) {
  check_inputs(inputs, n_matrices, n_cols);
  use_single_threaded_blas();
  // Fixed tiles of (tokens x weight rows), each one sgemm into per-thread scratch and one sum of
  // squares, added in tile order: the result does not depend on the thread count, the tiles keep
  // both threads busy even for the smallest weight, and no step runs on one thread alone.
  constexpr int64_t kTileTokens = 128, kTileRows = 256;
  struct Tile {
    int64_t matrix, token0, n_tokens, row0, n_rows;
  };
  std::vector<Tile> tiles;
  for (size_t m = 0; m < inputs.rows.size(); ++m) {
    const int64_t n_tokens = static_cast<int64_t>(inputs.rows[m].size()) / n_cols;
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTileTokens)
      for (int64_t r0 = 0; r0 < n_rows; r0 += kTileRows)
        tiles.push_back({static_cast<int64_t>(m), t0, std::min(kTileTokens, n_tokens - t0), r0,
                         std::min(kTileRows, n_rows - r0)});
  }
  std::vector<double> tile_energy(tiles.size());
  std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.size()));
  pool.run(static_cast<int64_t>(tiles.size()), [&](int64_t i, int thread) {
    const Tile &t = tiles[static_cast<size_t>(i)];
    std::vector<float> &product = scratch[static_cast<size_t>(thread)];
    product.resize(static_cast<size_t>(t.n_tokens * t.n_rows));
    const float *x = inputs.rows[static_cast<size_t>(t.matrix)].data() + t.token0 * n_cols;
    const float *w = weights + (t.matrix * n_rows + t.row0) * n_cols;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(t.n_tokens), static_cast<int>(t.n_rows),
                static_cast<int>(n_cols), 1.0f, x, static_cast<int>(n_cols), w, static_cast<int>(n_cols), 0.0f,
                product.data(), static_cast<int>(t.n_rows));
    tile_energy[static_cast<size_t>(i)] = sum_of_squares(product.data(), static_cast<int64_t>(product.size()));
  });
  double energy = 0;
  for (const double e : tile_energy) energy += e;
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
