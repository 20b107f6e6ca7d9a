// RMSNorm, as Llama/Qwen define it: x / sqrt(mean(x^2) + eps) * weight.
#pragma once

#include <cstdint>

namespace qs {

// One row of n values; out may equal x.
void rms_norm(const float *x, const float *weight, float *out, int64_t n, float eps);

}  // namespace qs
