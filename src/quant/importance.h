// The per-column weights our quantizers minimise when given an imatrix.
#pragma once

#include <cstdint>
#include <vector>

namespace qs {

// An imatrix is estimated from a finite calibration text: a column it barely saw active may still
// matter on other text. So the quantizers weight column j by importance[j] plus a floor of
// `floor_fraction` times the row's mean importance (summed in order). Each family picks the
// fraction at which its importance-weighted error stays well below ggml's while its plain RMSE
// does not grow past ggml's either (ggml hedges by multiplying the importance by sqrt(σ² + x²)).
// An importance that sums to 0 (or is not finite) carries no information: all weights are then 1.
std::vector<float> floored_importance(const float *importance, int64_t n_per_row, float floor_fraction);

}  // namespace qs
