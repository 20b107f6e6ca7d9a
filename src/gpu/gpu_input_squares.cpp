#include "gpu/gpu_input_squares.h"

#include <vector>

#include "core/error.h"
#include "gpu/kernels.h"

namespace qs {

void GpuInputSquares::add(std::string_view weight_name, int expert, const float *x, int64_t n_rows, int64_t n_cols,
                          cudaStream_t stream) {
  auto key = std::make_pair(std::string(weight_name), expert);
  auto it = sums_.find(key);
  if (it == sums_.end()) {
    it = sums_.emplace(std::move(key), Sums{}).first;
    it->second.n_cols = n_cols;
    it->second.squares.reserve(static_cast<size_t>(n_cols));
    gpu::cuda_check(cudaMemsetAsync(it->second.squares.data(), 0, static_cast<size_t>(n_cols) * sizeof(double), stream),
                    "clearing imatrix sums");
  }
  Sums &s = it->second;
  if (s.n_cols != n_cols) fail("imatrix: '", weight_name, "' seen with ", n_cols, " and ", s.n_cols, " columns");
  gpu::add_column_squares(x, n_rows, n_cols, s.squares.data(), stream);
  s.rows += n_rows;
}

void GpuInputSquares::drain_into(ImatrixCollector &collector, cudaStream_t stream) {
  std::vector<double> host;
  for (auto &[key, s] : sums_) {
    host.resize(static_cast<size_t>(s.n_cols));
    s.squares.download(host.data(), host.size(), stream);
    gpu::cuda_check(cudaStreamSynchronize(stream), "reading imatrix sums");
    collector.add_squares(key.first, key.second, host, s.rows);
  }
  sums_.clear();
}

}  // namespace qs
