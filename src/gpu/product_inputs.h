// What a GPU pass can show of each matrix product's input while it runs: the imatrix's column
// sums (gpu_input_squares.h) and the layer metric's captured inputs (gpu_input_capture.h) are
// made from it on the GPU, so the rows never come to the host.
#pragma once

#include <cstdint>
#include <string_view>

#include <cuda_runtime_api.h>

namespace qs {

class GpuProductInputs {
 public:
  virtual ~GpuProductInputs() = default;
  // x: n_rows x n_cols in GPU memory, the input of weight_name's product, valid for work queued on
  // `stream` now. expert: the expert of a stacked expert tensor (its routed tokens only), else -1.
  // Weights sharing one input (q/k/v, gate/up) get one call each.
  virtual void add(std::string_view weight_name, int expert, const float *x, int64_t n_rows, int64_t n_cols,
                   cudaStream_t stream) = 0;
};

}  // namespace qs
