// Nearest codes at a known scale: the AVX-512 form (16 values per step) of nearest_codes_ref.
#include "quant/codes.h"

#include "quant/levels.h"

namespace qs {

void nearest_codes(const float *x, int n, float d, float offset, float lo, float hi, uint8_t *codes, bool fast) {
#if defined(__AVX512F__)
  if (fast) {
    const float id = inverse_or_zero(d);
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
  nearest_codes_ref(x, n, d, offset, lo, hi, codes);
}

}  // namespace qs
