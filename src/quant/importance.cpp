// Importance weights with a floor (see importance.h).
#include "quant/importance.h"

#include <cmath>
#include <cstddef>

namespace qs {

std::vector<float> floored_importance(const float *importance, int64_t n_per_row, float floor_fraction) {
  double sum = 0.0;
  for (int64_t j = 0; j < n_per_row; ++j) sum += importance[j];
  const float floor = static_cast<float>(floor_fraction * sum / static_cast<double>(n_per_row));
  if (!(floor > 0.0f) || !std::isfinite(floor)) return std::vector<float>(static_cast<size_t>(n_per_row), 1.0f);
  std::vector<float> weights(static_cast<size_t>(n_per_row));
  for (int64_t j = 0; j < n_per_row; ++j) weights[static_cast<size_t>(j)] = importance[j] + floor;
  return weights;
}

}  // namespace qs
