// RMSNorm. The mean of squares is summed in double: transformers sums in float32, whose rounding
// differs from ours either way; double keeps ours the closer to the exact value.
#include "infer/norm.h"

#include <cmath>

namespace qs {

void rms_norm(const float *x, const float *weight, float *out, int64_t n, float eps) {
  // Eight partial sums, so that the compiler may vectorize the reduction.
  constexpr int kLanes = 8;
  double lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] += static_cast<double>(x[i + l]) * x[i + l];
  double sum_squares = 0.0;
  for (int l = 0; l < kLanes; ++l) sum_squares += lanes[l];
  for (; i < n; ++i) sum_squares += static_cast<double>(x[i]) * x[i];
  const float inv_rms = static_cast<float>(1.0 / std::sqrt(sum_squares / static_cast<double>(n) + eps));
  for (int64_t j = 0; j < n; ++j) out[j] = weight[j] * (x[j] * inv_rms);
}

}  // namespace qs
