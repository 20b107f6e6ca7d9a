#include "gpu/gpu_input_capture.h"

#include <algorithm>

#include "core/error.h"
#include "gpu/gpu_transformer.h"
#include "gpu/kernels.h"

namespace qs {
namespace {

// Products in flight at once: at most this many floats (512 MiB), so the output matrix's tile
// over a 150k vocabulary stays within a few hundred rows.
constexpr int64_t kProductFloats = int64_t{1} << 27;

}  // namespace

void GpuInputCapture::add(std::string_view weight_name, int expert, const float *x, int64_t n_rows, int64_t n_cols,
                          cudaStream_t stream) {
  if (weight_name != weight_name_ || n_rows == 0) return;
  Input input;
  input.expert = expert;
  input.n_rows = n_rows;
  input.n_cols = n_cols;
  const size_t n = static_cast<size_t>(n_rows * n_cols);
  input.rows.assign(x, n, stream);
  inputs_.push_back(std::move(input));
}

double GpuInputCapture::output_energy(GpuTransformer &model, const float *matrices, int64_t n_out, int64_t n_in) {
  double energy = 0;
  double *partials = partials_.reserve(gpu::kSumSquaresPartials);
  host_partials_.resize(gpu::kSumSquaresPartials);
  const int64_t tile_rows = std::max<int64_t>(1, kProductFloats / n_out);
  int64_t most_rows = 0;
  for (const Input &input : inputs_) most_rows = std::max(most_rows, input.n_rows);
  float *product = product_.reserve(static_cast<size_t>(std::min(tile_rows, most_rows) * n_out));
  for (const Input &input : inputs_) {
    if (input.n_cols != n_in) fail("layer metric: ", weight_name_, " has rows of ", n_in, ", its input ", input.n_cols);
    const float *matrix = matrices + std::max(input.expert, 0) * n_out * n_in;
    for (int64_t first = 0; first < input.n_rows; first += tile_rows) {
      const int64_t rows = std::min(tile_rows, input.n_rows - first);
      model.multiply(input.rows.data() + first * n_in, rows, n_in, matrix, n_out, product);
      gpu::sum_squares(product, rows * n_out, partials, model.stream());
      partials_.download(host_partials_.data(), host_partials_.size(), model.stream());
      model.synchronize();
      for (const double p : host_partials_) energy += p;
    }
  }
  return energy;
}

}  // namespace qs
