// Nearest codes at a known scale: plain loop and AVX-512 (16 values per step).
#include "quant/codes.h"

#include <cmath>

#include "quant/levels.h"

namespace qs {

void nearest_codes(const float *x, int n, float d, float offset, float lo, float hi, uint8_t *codes, bool fast) {
  const float id = inverse_or_zero(d);
#if defined(__AVX512F__)
  if (fast) {
    const __m512 vid = _mm512_set1_ps(id), voff = _mm512_set1_ps(offset);
    const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    const __m512i shift = _mm512_set1_epi32(-static_cast<int>(lo));
    for (int j = 0; j < n; j += 16) {
      const __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + j), voff), vid);
      const __m512i q = _mm512_add_epi32(nearest_level_epi32(v, vlo, vhi), shift);
      _mm_storeu_si128(reinterpret_cast<__m128i *>(codes + j), _mm512_cvtepi32_epi8(q));
    }
    return;
  }
#endif
  for (int j = 0; j < n; ++j) {
    codes[j] = static_cast<uint8_t>(nearest_level((x[j] - offset) * id, lo, hi) - static_cast<int>(lo));
  }
}

}  // namespace qs
