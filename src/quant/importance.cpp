// Importance weights with a floor (see importance.h).
#include "quant/importance.h"

#include <cstddef>

namespace qs {

std::vector<float> floored_importance(const float *importance, int64_t n_per_row, float floor_fraction) {
  const float floor = importance_floor(importance, n_per_row, floor_fraction);
  std::vector<float> weights(static_cast<size_t>(n_per_row));
  for (int64_t j = 0; j < n_per_row; ++j) weights[static_cast<size_t>(j)] = floored_weight(importance[j], floor);
  return weights;
}

}  // namespace qs
