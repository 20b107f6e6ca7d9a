// The per-column weights our quantizers minimise when given an imatrix.
#pragma once

#include <cstdint>
#include <vector>

#include "core/host_device.h"

namespace qs {

// An imatrix is estimated from a finite calibration text: a column it barely saw active may still
// matter on other text. So the quantizers weight column j by importance[j] plus a floor of
// `floor_fraction` times the row's mean importance (summed in order). Each family picks the
// fraction at which its importance-weighted error stays well below ggml's while its plain RMSE
// does not grow past ggml's either (ggml hedges by multiplying the importance by sqrt(σ² + x²)).
// An importance that sums to 0 (or is not finite) carries no information: all weights are then 1.
std::vector<float> floored_importance(const float *importance, int64_t n_per_row, float floor_fraction);

// floored_importance's arithmetic, which the GPU's kernels repeat: the floor (the mean summed in
// double, in index order), or 0 where the importance carries no information; then each weight.
QS_HOST_DEVICE inline float importance_floor(const float *importance, int64_t n_per_row, float floor_fraction) {
  double sum = 0.0;
  for (int64_t j = 0; j < n_per_row; ++j) sum += importance[j];
  const float floor = static_cast<float>(floor_fraction * sum / static_cast<double>(n_per_row));
  const bool finite = (float_bits(floor) & 0x7f800000u) != 0x7f800000u;
  return floor > 0.0f && finite ? floor : 0.0f;
}
QS_HOST_DEVICE inline float floored_weight(float importance, float floor) {
  return floor > 0.0f ? importance + floor : 1.0f;
}

}  // namespace qs
