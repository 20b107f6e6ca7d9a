// The imatrix's statistics gathered on the GPU: for every weight (and expert) the sum over tokens
// of each input column's square, accumulated in GPU memory in double as the pass runs, and the
// token counts; handed to an ImatrixCollector at the end, which makes the Imatrix exactly as it
// does from the CPU pass's inputs.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <cuda_runtime_api.h>

#include "gpu/device_buffer.h"
#include "gpu/product_inputs.h"
#include "infer/imatrix_collect.h"

namespace qs {

class GpuInputSquares final : public GpuProductInputs {
 public:
  void add(std::string_view weight_name, int expert, const float *x, int64_t n_rows, int64_t n_cols,
           cudaStream_t stream) override;
  // Downloads every sum into the collector (waits for the stream).
  void drain_into(ImatrixCollector &collector, cudaStream_t stream);

 private:
  struct Sums {
    int64_t n_cols = 0;
    gpu::DeviceBuffer<double> squares;
    int64_t rows = 0;
  };
  std::map<std::pair<std::string, int>, Sums, std::less<>> sums_;
};

}  // namespace qs
