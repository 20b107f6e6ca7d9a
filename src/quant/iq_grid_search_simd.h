// AVX-512 helpers for the grid-neighbour kernels of IQ2/IQ1: picking the best of 16 neighbours
// scored in parallel exactly as the scalar references' sequential scan "if (score < best)" does.
#pragma once

#if defined(__AVX512F__)
// GCC 12 warns about the deliberately undefined pass-through operands inside its AVX-512 intrinsics
// (-Wmaybe-uninitialized, reported at the header's lines): not a problem of ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <bit>
#include <cfloat>
#include <cmath>

namespace qs::iq {

// The running winner of a scan over neighbours in order: the smallest score seen so far, first
// occurrence (a later neighbour wins only if strictly smaller). index -1: none yet.
struct BestLane {
  float score;
  int index;
};

// Scores `score` of neighbours base..base+15 (lanes outside `valid` ignored). Same result as testing
// each lane in order with "score < best.score": NaN never wins, ties keep the earlier neighbour.
inline void keep_smallest(__m512 score, __mmask16 valid, int base, BestLane &best) {
  const __mmask16 better = _mm512_mask_cmp_ps_mask(valid, score, _mm512_set1_ps(best.score), _CMP_LT_OQ);
  if (!better) return;
  // Min over the candidate lanes (others set to +inf, so no NaN takes part: any order gives the same).
  __m512 m = _mm512_mask_blend_ps(better, _mm512_set1_ps(INFINITY), score);
  m = _mm512_min_ps(m, _mm512_shuffle_f32x4(m, m, 0x4e));
  m = _mm512_min_ps(m, _mm512_shuffle_f32x4(m, m, 0xb1));
  m = _mm512_min_ps(m, _mm512_permute_ps(m, 0x4e));
  m = _mm512_min_ps(m, _mm512_permute_ps(m, 0xb1));
  const float smallest = _mm512_cvtss_f32(m);
  const __mmask16 at = _mm512_mask_cmp_ps_mask(better, score, _mm512_set1_ps(smallest), _CMP_EQ_OQ);
  best.score = smallest;
  best.index = base + std::countr_zero(static_cast<unsigned>(at));
}

// Lanes of a chunk that hold real neighbours (count - base of them, at most 16).
inline __mmask16 lanes_in_use(int count, int base) {
  const int n = count - base;
  return n >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << n) - 1);
}

}  // namespace qs::iq

#endif
