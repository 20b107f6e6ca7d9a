// The IQ1 search kernels (see iq1_search.h): the scalar references are iq1_block_search.h's (shared
// with the GPU); here the AVX-512 fast paths.
#include "quant/iq1_search.h"

#include <algorithm>
#include <bit>
#include <cfloat>

#include "quant/iq_grid_search_simd.h"

// Scalar and SIMD paths must round identically (and as ggml does): no fused multiply-adds.
#pragma GCC optimize("fp-contract=off")

namespace qs::iq1 {
namespace {

int best_neighbour_scalar(const iq::GridSearch &search, uint16_t key, const float *x, const float *weight,
                          float scale, const float *level_value, int8_t *L) {
  return best_neighbour_ref(search.tables(), key, x, weight, scale, level_value, L);
}

#if defined(__AVX512F__)
// ggml's sequential rule over candidates (sumqx[c], sumq2[c]) in order, 16 at a time: the lanes that
// pass against the current best are found at once; the first of them is exactly the candidate the
// sequential loop would take next, and the rest are re-tested against the new best.
int keep_best_in_order(const float *sumqx, const float *sumq2, int n, float &best_score, float &scale) {
  int chosen = -1;
  for (int base = 0; base < n; base += 16) {
    const __m512 x = _mm512_loadu_ps(sumqx + base);
    const __m512 q2 = _mm512_loadu_ps(sumq2 + base);
    const __m512 x2 = _mm512_mul_ps(x, x);
    __mmask16 open = _mm512_mask_cmp_ps_mask(iq::lanes_in_use(n, base), q2, _mm512_setzero_ps(), _CMP_GT_OQ);
    while (open) {
      const __mmask16 better =
          _mm512_mask_cmp_ps_mask(open, x2, _mm512_mul_ps(_mm512_set1_ps(best_score), q2), _CMP_GT_OQ);
      if (!better) break;
      const int lane = std::countr_zero(static_cast<unsigned>(better));
      const int c = base + lane;
      scale = sumqx[c] / sumq2[c];
      best_score = scale * sumqx[c];
      chosen = c;
      open = static_cast<__mmask16>(better & ~((2u << lane) - 1));
    }
  }
  return chosen;
}

// IQ1_S: for each i1, the splits i2 = i1..n sixteen at a time (consecutive i2 read consecutive prefix
// sums), both shifts interleaved into ggml's candidate order (i2, then +delta before -delta).
Split iq1s_split_avx512(const float *sum_wx, const float *sum_w, int n, const float *xp, const float *xm,
                        float initial_scale) {
  constexpr int kMaxN = 32;
  constexpr int kMaxCandidates = (kMaxN + 1) * (kMaxN + 2);  // pairs i1 <= i2 <= n, two shifts each
  alignas(64) float padded_x[kMaxN + 1 + 16] = {}, padded_w[kMaxN + 1 + 16] = {};
  std::copy(sum_wx, sum_wx + n + 1, padded_x);
  std::copy(sum_w, sum_w + n + 1, padded_w);
  alignas(64) float sumqx[kMaxCandidates + 32], sumq2[kMaxCandidates + 32];
  int pair_start[kMaxN + 2];
  const __m512i even = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i odd = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  int pairs = 0;
  for (int i1 = 0; i1 <= n; ++i1) {
    pair_start[i1] = pairs;
    const __m512 low_x = _mm512_set1_ps(sum_wx[i1] - sum_wx[0]), low_w = _mm512_set1_ps(sum_w[i1] - sum_w[0]);
    const __m512 at_i1_x = _mm512_set1_ps(sum_wx[i1]), at_i1_w = _mm512_set1_ps(sum_w[i1]);
    const __m512 top_x = _mm512_set1_ps(sum_wx[n]), top_w = _mm512_set1_ps(sum_w[n]);
    for (int i2 = i1; i2 <= n; i2 += 16) {
      const __m512 at_i2_x = _mm512_loadu_ps(padded_x + i2), at_i2_w = _mm512_loadu_ps(padded_w + i2);
      const __m512 mid_x = _mm512_sub_ps(at_i2_x, at_i1_x), high_x = _mm512_sub_ps(top_x, at_i2_x);
      const __m512 mid_w = _mm512_sub_ps(at_i2_w, at_i1_w), high_w = _mm512_sub_ps(top_w, at_i2_w);
      __m512 qx[2], q2[2];
      for (int shift = 0; shift < 2; ++shift) {
        const float *level = shift == 0 ? xp : xm;
        const __m512 l0 = _mm512_set1_ps(level[0]), l1 = _mm512_set1_ps(level[1]), l2 = _mm512_set1_ps(level[2]);
        qx[shift] = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(low_x, l0), _mm512_mul_ps(mid_x, l1)), _mm512_mul_ps(high_x, l2));
        q2[shift] = _mm512_add_ps(
            _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(low_w, l0), l0), _mm512_mul_ps(_mm512_mul_ps(mid_w, l1), l1)),
            _mm512_mul_ps(_mm512_mul_ps(high_w, l2), l2));
      }
      // Lanes past i2 = n hold garbage; the next i1's (or the end's) candidates overwrite them.
      const int c = 2 * (pairs + i2 - i1);
      _mm512_storeu_ps(sumqx + c, _mm512_permutex2var_ps(qx[0], even, qx[1]));
      _mm512_storeu_ps(sumqx + c + 16, _mm512_permutex2var_ps(qx[0], odd, qx[1]));
      _mm512_storeu_ps(sumq2 + c, _mm512_permutex2var_ps(q2[0], even, q2[1]));
      _mm512_storeu_ps(sumq2 + c + 16, _mm512_permutex2var_ps(q2[0], odd, q2[1]));
    }
    pairs += n + 1 - i1;
  }
  pair_start[n + 1] = pairs;
  Split best;
  best.scale = initial_scale;
  float best_score = -FLT_MAX;
  const int chosen = keep_best_in_order(sumqx, sumq2, 2 * pairs, best_score, best.scale);
  if (chosen >= 0) {
    const int pair = chosen / 2;
    best.i1 = static_cast<int>(std::upper_bound(pair_start, pair_start + n + 2, pair) - pair_start) - 1;
    best.i2 = best.i1 + pair - pair_start[best.i1];
    best.shift = chosen % 2;
  }
  return best;
}

// out[4 p + k] = v[k] lane p, for 16 lanes of 4 vectors.
inline void store_transposed(const __m512 *v, float *out) {
  const __m512i pair_lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i pair_hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  // (k0, k1) and (k2, k3) pairs of lanes 0..7 and 8..15, as 64-bit elements.
  const __m512d ab_lo = _mm512_castps_pd(_mm512_permutex2var_ps(v[0], pair_lo, v[1]));
  const __m512d ab_hi = _mm512_castps_pd(_mm512_permutex2var_ps(v[0], pair_hi, v[1]));
  const __m512d cd_lo = _mm512_castps_pd(_mm512_permutex2var_ps(v[2], pair_lo, v[3]));
  const __m512d cd_hi = _mm512_castps_pd(_mm512_permutex2var_ps(v[2], pair_hi, v[3]));
  const __m512i first = _mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11), second = _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15);
  _mm512_storeu_ps(out, _mm512_castpd_ps(_mm512_permutex2var_pd(ab_lo, first, cd_lo)));
  _mm512_storeu_ps(out + 16, _mm512_castpd_ps(_mm512_permutex2var_pd(ab_lo, second, cd_lo)));
  _mm512_storeu_ps(out + 32, _mm512_castpd_ps(_mm512_permutex2var_pd(ab_hi, first, cd_hi)));
  _mm512_storeu_ps(out + 48, _mm512_castpd_ps(_mm512_permutex2var_pd(ab_hi, second, cd_hi)));
}

// The 153 splits (i1, i2) of 16 values in ggml's order, 16 per vector.
struct Iq1mPairs {
  static constexpr int kCount = 153;
  static constexpr int kVectors = (kCount + 15) / 16;
  alignas(64) int32_t i1[kVectors * 16];
  alignas(64) int32_t i2[kVectors * 16];
  Iq1mPairs() {
    int p = 0;
    for (int a = 0; a <= 16; ++a) {
      for (int b = a; b <= 16; ++b, ++p) {
        i1[p] = a;
        i2[p] = b;
      }
    }
    for (; p < kVectors * 16; ++p) i1[p] = i2[p] = 16;
  }
};
const Iq1mPairs kIq1mPairs;

// IQ1_M: 16 splits per vector, each lane accumulating its four shifts' sums value by value in sorted
// order, exactly like the scalar loop; a value's term depends on the shift only through whether its
// half takes +delta or -delta, so two terms per level serve all four shifts.
Split iq1m_split_avx512(const float *x, const float *w, const bool *second_half, const float *xp, const float *xm,
                        float initial_scale) {
  // Per value j and level: the +delta and -delta terms of sumqx and of sumq2.
  float tx[16][2][3], tq[16][2][3];
  for (int j = 0; j < 16; ++j) {
    for (int level = 0; level < 3; ++level) {
      for (int minus = 0; minus < 2; ++minus) {
        const float q = (minus ? xm : xp)[level];
        tx[j][minus][level] = w[j] * q * x[j];
        tq[j][minus][level] = w[j] * q * q;
      }
    }
  }
  // Shift k takes -delta in the first half for k >= 2, in the second for odd k.
  constexpr int kMinusFirst[4] = {0, 0, 1, 1}, kMinusSecond[4] = {0, 1, 0, 1};
  alignas(64) float sumqx[Iq1mPairs::kVectors * 64], sumq2[Iq1mPairs::kVectors * 64];
  for (int v = 0; v < Iq1mPairs::kVectors; ++v) {
    const __m512i i1 = _mm512_load_si512(kIq1mPairs.i1 + 16 * v);
    const __m512i i2 = _mm512_load_si512(kIq1mPairs.i2 + 16 * v);
    __m512 ax[4], aq[4];
    for (int k = 0; k < 4; ++k) ax[k] = aq[k] = _mm512_setzero_ps();
    for (int j = 0; j < 16; ++j) {
      const __m512i jv = _mm512_set1_epi32(j);
      const __mmask16 below_i1 = _mm512_cmpgt_epi32_mask(i1, jv);  // j < i1: level 0
      const __mmask16 below_i2 = _mm512_cmpgt_epi32_mask(i2, jv);  // j < i2: level 1 (if not 0)
      __m512 term_x[2], term_q[2];
      for (int minus = 0; minus < 2; ++minus) {
        const float *lx = tx[j][minus], *lq = tq[j][minus];
        term_x[minus] = _mm512_mask_blend_ps(below_i1, _mm512_mask_blend_ps(below_i2, _mm512_set1_ps(lx[2]), _mm512_set1_ps(lx[1])),
                                             _mm512_set1_ps(lx[0]));
        term_q[minus] = _mm512_mask_blend_ps(below_i1, _mm512_mask_blend_ps(below_i2, _mm512_set1_ps(lq[2]), _mm512_set1_ps(lq[1])),
                                             _mm512_set1_ps(lq[0]));
      }
      const int *minus_of = second_half[j] ? kMinusSecond : kMinusFirst;
      for (int k = 0; k < 4; ++k) {
        ax[k] = _mm512_add_ps(ax[k], term_x[minus_of[k]]);
        aq[k] = _mm512_add_ps(aq[k], term_q[minus_of[k]]);
      }
    }
    // Lane p of ax[k] is candidate 4 p + k: transpose the 4 x 16 sums into candidate order.
    store_transposed(ax, sumqx + 64 * v);
    store_transposed(aq, sumq2 + 64 * v);
  }
  Split best;
  best.scale = initial_scale;
  float best_score = -FLT_MAX;
  const int chosen = keep_best_in_order(sumqx, sumq2, 4 * Iq1mPairs::kCount, best_score, best.scale);
  if (chosen >= 0) {
    best.i1 = kIq1mPairs.i1[chosen / 4];
    best.i2 = kIq1mPairs.i2[chosen / 4];
    best.shift = chosen % 4;
  }
  return best;
}

// 16 neighbours per step from the transposed level table; per lane the scalar kernel's operations.
int best_neighbour_avx512(const iq::GridSearch &search, uint16_t key, const float *x, const float *weight,
                          float scale, const float *level_value, int8_t *L) {
  const uint16_t *neighbours = search.neighbours_of(key);
  const int count = neighbours[0];
  const uint8_t *chunk = search.chunks_of(key);
  const __m512 scale_v = _mm512_set1_ps(scale);
  const __m512 values = _mm512_setr_ps(level_value[0], level_value[1], level_value[2], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                       0, 0, 0);
  __m512 x_v[8], w_v[8];
  for (int i = 0; i < 8; ++i) {
    x_v[i] = _mm512_set1_ps(x[i]);
    w_v[i] = _mm512_set1_ps(weight[i]);
  }
  iq::BestLane best{FLT_MAX, -1};
  for (int base = 0; base < count; base += 16, chunk += 128) {
    __m512 d2 = _mm512_setzero_ps();
    for (int i = 0; i < 8; ++i) {
      const __m512i level = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(chunk + 16 * i)));
      const __m512 diff = _mm512_sub_ps(_mm512_mul_ps(scale_v, _mm512_permutexvar_ps(level, values)), x_v[i]);
      d2 = _mm512_add_ps(d2, _mm512_mul_ps(_mm512_mul_ps(w_v[i], diff), diff));
    }
    iq::keep_smallest(d2, iq::lanes_in_use(count, base), base, best);
  }
  const int grid_index = neighbours[1 + (best.index < 0 ? 0 : best.index)];
  for (int i = 0; i < 8; ++i) L[i] = search.levels_of(grid_index)[i];
  return grid_index;
}
#endif

}  // namespace

const Kernels &scalar_kernels() {
  static const Kernels kernels{iq1s_split_ref, iq1m_split_ref, best_neighbour_scalar};
  return kernels;
}

const Kernels &fast_kernels() {
#if defined(__AVX512F__)
  static const Kernels kernels{iq1s_split_avx512, iq1m_split_avx512, best_neighbour_avx512};
  return kernels;
#else
  return scalar_kernels();
#endif
}

}  // namespace qs::iq1
