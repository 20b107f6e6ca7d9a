// Laying 16 blocks of values side by side in AVX-512 lanes (element j of block b at [16j + b]), so
// that per-block sums run lane-wise in element order, exactly as a scalar reference adds them.
#pragma once

#include "quant/levels.h"

#if defined(__AVX512F__)

namespace qs {

inline constexpr int kLaneCount = 16;

// Transposes a 16x16 tile of floats held in 16 rows.
inline void transpose_16x16(__m512 r[16]) {
  __m512 t[16];
  for (int g = 0; g < 4; ++g) {
    const __m512 a = _mm512_unpacklo_ps(r[4 * g], r[4 * g + 1]), b = _mm512_unpackhi_ps(r[4 * g], r[4 * g + 1]);
    const __m512 c = _mm512_unpacklo_ps(r[4 * g + 2], r[4 * g + 3]), d = _mm512_unpackhi_ps(r[4 * g + 2], r[4 * g + 3]);
    // t[4g + k] holds, in 128-bit lane L, column 4L + k of rows 4g..4g+3.
    t[4 * g + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(c)));
    t[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(c)));
    t[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(b), _mm512_castps_pd(d)));
    t[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(b), _mm512_castps_pd(d)));
  }
  for (int k = 0; k < 4; ++k) {
    const __m512 v0 = _mm512_shuffle_f32x4(t[k], t[4 + k], 0x44), v1 = _mm512_shuffle_f32x4(t[k], t[4 + k], 0xEE);
    const __m512 v2 = _mm512_shuffle_f32x4(t[8 + k], t[12 + k], 0x44), v3 = _mm512_shuffle_f32x4(t[8 + k], t[12 + k], 0xEE);
    r[k] = _mm512_shuffle_f32x4(v0, v2, 0x88);
    r[4 + k] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
    r[8 + k] = _mm512_shuffle_f32x4(v1, v3, 0x88);
    r[12 + k] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
  }
}

// Lays n_rows (<= 16) blocks of n values side by side: out[j*16 + b] = src[b*n + j]; missing blocks 0.
inline void transpose_blocks(const float *src, int n, int n_rows, float *out) {
  for (int j0 = 0; j0 < n; j0 += kLaneCount) {
    __m512 r[kLaneCount];
    for (int b = 0; b < kLaneCount; ++b) r[b] = b < n_rows ? _mm512_loadu_ps(src + b * n + j0) : _mm512_setzero_ps();
    transpose_16x16(r);
    for (int j = 0; j < kLaneCount; ++j) _mm512_store_ps(out + (j0 + j) * kLaneCount, r[j]);
  }
}

}  // namespace qs

#endif
