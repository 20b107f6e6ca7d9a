// The layer metric on the GPU (measure/layer_error.h has its definition and the CPU's version):
// the inputs the unquantized model feeds one weight's product over every calibration batch (per
// expert for stacked experts, each with its routed tokens), kept in GPU memory while that
// weight's units run, and ||X M^T||^2 of any matrix of the weight's shape against them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gpu/device_buffer.h"
#include "gpu/product_inputs.h"

namespace qs {

class GpuTransformer;

class GpuInputCapture final : public GpuProductInputs {
 public:
  explicit GpuInputCapture(std::string weight_name) : weight_name_(std::move(weight_name)) {}
  const std::string &weight_name() const { return weight_name_; }

  // Keeps a copy of x when it is weight_name's input; other weights' inputs pass by.
  void add(std::string_view weight_name, int expert, const float *x, int64_t n_rows, int64_t n_cols,
           cudaStream_t stream) override;

  // Sum over the captured inputs X_p of ||X_p M_e^T||^2, M_e the n_out x n_in slice e of `matrices`
  // in GPU memory (e: the input's expert; 0 for a plain weight). The products go through the
  // model's cuBLAS in tiles of rows, their squares are summed in double in a fixed order: the
  // same bits on every run.
  double output_energy(GpuTransformer &model, const float *matrices, int64_t n_out, int64_t n_in);

 private:
  struct Input {
    int expert = -1;
    int64_t n_rows = 0, n_cols = 0;
    gpu::DeviceBuffer<float> rows;
  };
  std::string weight_name_;
  std::vector<Input> inputs_;
  gpu::DeviceBuffer<float> product_;
  gpu::DeviceBuffer<double> partials_;
  std::vector<double> host_partials_;
};

}  // namespace qs
