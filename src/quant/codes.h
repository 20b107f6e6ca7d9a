// Nearest integer codes of a run of values at a known scale, for the k-quant stores: the scalar
// reference (QS_HOST_DEVICE: the GPU's k-quant kernels run it too) and its AVX-512 form (same bits).
#pragma once

#include <cstdint>

#include "core/host_device.h"
#include "quant/levels.h"

namespace qs {

// codes[j] = nearest((x[j] - offset)·inverse_or_zero(d)) clamped to lo..hi, minus lo (so codes are
// 0..hi-lo), for j < n.
QS_HOST_DEVICE inline void nearest_codes_ref(const float *x, int n, float d, float offset, float lo, float hi,
                                             uint8_t *codes) {
  const float id = inverse_or_zero(d);
  for (int j = 0; j < n; ++j) {
    codes[j] = static_cast<uint8_t>(nearest_level((x[j] - offset) * id, lo, hi) - static_cast<int>(lo));
  }
}

// nearest_codes_ref, or for n a multiple of 16 with `fast` its AVX-512 form where the CPU has it.
void nearest_codes(const float *x, int n, float d, float offset, float lo, float hi, uint8_t *codes, bool fast);

// The code pickers the k-quant block encoders take (kquants_common.h): the reference, and the CPU's
// choice between it and the AVX-512 form.
struct NearestCodesRef {
  QS_HOST_DEVICE void operator()(const float *x, int n, float d, float offset, float lo, float hi, uint8_t *codes) const {
    nearest_codes_ref(x, n, d, offset, lo, hi, codes);
  }
};
struct NearestCodes {
  bool fast;
  void operator()(const float *x, int n, float d, float offset, float lo, float hi, uint8_t *codes) const {
    nearest_codes(x, n, d, offset, lo, hi, codes, fast);
  }
};

}  // namespace qs
