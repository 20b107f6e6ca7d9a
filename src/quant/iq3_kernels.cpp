// Scalar and AVX-512 kernels of the IQ3 search; see iq3_kernels.h. Every multiply-add is written
// as an explicit fused operation in both versions so the compiler cannot contract one differently
// from the other.
#include "quant/iq3_kernels.h"

#include <cmath>
#include <limits>

#if defined(__AVX2__)
// GCC 12 warns about the deliberately undefined pass-through operand inside its AVX-512 headers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace qs {

using iq3::mul_add;

void iq3_group_table_ref(const Iq3GridColumns &grid, const float *a, const float *w, float *neg2p, float *q) {
  const float wa[4] = {w[0] * a[0], w[1] * a[1], w[2] * a[2], w[3] * a[3]};
  for (int i = 0; i < grid.n_points; ++i) {
    const float m[4] = {grid.m[0][i], grid.m[1][i], grid.m[2][i], grid.m[3][i]};
    const float m2[4] = {grid.m2[0][i], grid.m2[1][i], grid.m2[2][i], grid.m2[3][i]};
    iq3::point_sums(wa, w, m, m2, neg2p[i], q[i]);
  }
}

void iq3_select_ref(const float *neg2p, const float *q, int n_points, const float *steps, int n_steps,
                    Iq3Selection *out) {
  for (int j = 0; j < n_steps; ++j) {
    Iq3Selection best{0, std::numeric_limits<float>::infinity()};
    for (int i = 0; i < n_points; ++i) {
      const float score = mul_add(steps[j], q[i], neg2p[i]);
      if (score < best.score) best = {i, score};
    }
    out[j] = best;
  }
}

#if defined(__AVX2__) && defined(__FMA__)
void iq3_group_table_avx2(const Iq3GridColumns &grid, const float *a, const float *w, float *neg2p, float *q) {
  __m256 wa[4], wv[4];
  for (int k = 0; k < 4; ++k) {
    wa[k] = _mm256_set1_ps(w[k] * a[k]);
    wv[k] = _mm256_set1_ps(w[k]);
  }
  const __m256 minus_two = _mm256_set1_ps(-2.0f);
  for (int i = 0; i < grid.n_points; i += 8) {
    __m256 p = _mm256_mul_ps(wa[0], _mm256_loadu_ps(grid.m[0] + i));
    __m256 qi = _mm256_mul_ps(wv[0], _mm256_loadu_ps(grid.m2[0] + i));
    for (int k = 1; k < 4; ++k) {
      p = _mm256_fmadd_ps(wa[k], _mm256_loadu_ps(grid.m[k] + i), p);
      qi = _mm256_fmadd_ps(wv[k], _mm256_loadu_ps(grid.m2[k] + i), qi);
    }
    _mm256_storeu_ps(neg2p + i, _mm256_mul_ps(minus_two, p));
    _mm256_storeu_ps(q + i, qi);
  }
}

namespace {

// As select_batch below (AVX-512), 8 points at a time; the lanes are merged in scalar code.
template <int n_steps>
void select_batch_avx2(const float *neg2p, const float *q, int n_points, const float *steps, Iq3Selection *out) {
  __m256 step[n_steps], best[n_steps];
  __m256i best_index[n_steps];
  for (int j = 0; j < n_steps; ++j) {
    step[j] = _mm256_set1_ps(steps[j]);
    best[j] = _mm256_set1_ps(std::numeric_limits<float>::infinity());
    best_index[j] = _mm256_setzero_si256();
  }
  __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i eight = _mm256_set1_epi32(8);
  for (int i = 0; i < n_points; i += 8) {
    const __m256 qv = _mm256_loadu_ps(q + i);
    const __m256 pv = _mm256_loadu_ps(neg2p + i);
    for (int j = 0; j < n_steps; ++j) {
      const __m256 score = _mm256_fmadd_ps(step[j], qv, pv);
      const __m256 better = _mm256_cmp_ps(score, best[j], _CMP_LT_OQ);
      best[j] = _mm256_blendv_ps(best[j], score, better);
      best_index[j] = _mm256_castps_si256(
          _mm256_blendv_ps(_mm256_castsi256_ps(best_index[j]), _mm256_castsi256_ps(index), better));
    }
    index = _mm256_add_epi32(index, eight);
  }
  for (int j = 0; j < n_steps; ++j) {
    alignas(32) float lane_best[8];
    alignas(32) int32_t lane_index[8];
    _mm256_store_ps(lane_best, best[j]);
    _mm256_store_si256(reinterpret_cast<__m256i *>(lane_index), best_index[j]);
    Iq3Selection sel{0, std::numeric_limits<float>::infinity()};
    for (int lane = 0; lane < 8; ++lane) {
      if (lane_best[lane] < sel.score || (lane_best[lane] == sel.score && lane_index[lane] < sel.index)) {
        sel = {lane_index[lane], lane_best[lane]};
      }
    }
    if (sel.score < std::numeric_limits<float>::infinity()) {
      // The score recomputed at that index, as the reference holds it (the sign of a zero included).
      sel.score = mul_add(steps[j], q[sel.index], neg2p[sel.index]);
    } else {
      sel.index = 0;
    }
    out[j] = sel;
  }
}

}  // namespace

void iq3_select_avx2(const float *neg2p, const float *q, int n_points, const float *steps, int n_steps,
                     Iq3Selection *out) {
  constexpr int kBatch = 4;
  for (; n_steps >= kBatch; n_steps -= kBatch, steps += kBatch, out += kBatch) {
    select_batch_avx2<kBatch>(neg2p, q, n_points, steps, out);
  }
  switch (n_steps) {
    case 3: select_batch_avx2<3>(neg2p, q, n_points, steps, out); break;
    case 2: select_batch_avx2<2>(neg2p, q, n_points, steps, out); break;
    case 1: select_batch_avx2<1>(neg2p, q, n_points, steps, out); break;
    default: break;
  }
}
#endif

#if defined(__AVX512F__) && defined(__FMA__)
void iq3_group_table_avx512(const Iq3GridColumns &grid, const float *a, const float *w, float *neg2p, float *q) {
  __m512 wa[4], wv[4];
  for (int k = 0; k < 4; ++k) {
    wa[k] = _mm512_set1_ps(w[k] * a[k]);
    wv[k] = _mm512_set1_ps(w[k]);
  }
  const __m512 minus_two = _mm512_set1_ps(-2.0f);
  for (int i = 0; i < grid.n_points; i += 16) {
    __m512 p = _mm512_mul_ps(wa[0], _mm512_loadu_ps(grid.m[0] + i));
    __m512 qi = _mm512_mul_ps(wv[0], _mm512_loadu_ps(grid.m2[0] + i));
    for (int k = 1; k < 4; ++k) {
      p = _mm512_fmadd_ps(wa[k], _mm512_loadu_ps(grid.m[k] + i), p);
      qi = _mm512_fmadd_ps(wv[k], _mm512_loadu_ps(grid.m2[k] + i), qi);
    }
    _mm512_storeu_ps(neg2p + i, _mm512_mul_ps(minus_two, p));
    _mm512_storeu_ps(q + i, qi);
  }
}

// Up to kBatch steps per pass over the table, each in its own registers (independent dependency
// chains). Each lane keeps its smallest score and, scanning upwards and replacing only on <, the
// lowest index with it; merging the lanes the same way gives the reference's answer.
constexpr int kBatch = 6;

template <int n_steps>
void select_batch(const float *neg2p, const float *q, int n_points, const float *steps, Iq3Selection *out) {
  __m512 step[n_steps], best[n_steps];
  __m512i best_index[n_steps];
  for (int j = 0; j < n_steps; ++j) {
    step[j] = _mm512_set1_ps(steps[j]);
    best[j] = _mm512_set1_ps(std::numeric_limits<float>::infinity());
    best_index[j] = _mm512_setzero_si512();
  }
  __m512i index = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i sixteen = _mm512_set1_epi32(16);
  for (int i = 0; i < n_points; i += 16) {
    const __m512 qv = _mm512_loadu_ps(q + i);
    const __m512 pv = _mm512_loadu_ps(neg2p + i);
    for (int j = 0; j < n_steps; ++j) {
      const __m512 score = _mm512_fmadd_ps(step[j], qv, pv);
      const __mmask16 better = _mm512_cmp_ps_mask(score, best[j], _CMP_LT_OQ);
      best[j] = _mm512_mask_mov_ps(best[j], better, score);
      best_index[j] = _mm512_mask_mov_epi32(best_index[j], better, index);
    }
    index = _mm512_add_epi32(index, sixteen);
  }
  for (int j = 0; j < n_steps; ++j) {
    const float min_score = _mm512_reduce_min_ps(best[j]);
    if (!(min_score < std::numeric_limits<float>::infinity())) {
      out[j] = {0, std::numeric_limits<float>::infinity()};
      continue;
    }
    const __mmask16 at_min = _mm512_cmp_ps_mask(best[j], _mm512_set1_ps(min_score), _CMP_EQ_OQ);
    const int min_index = _mm512_mask_reduce_min_epi32(at_min, best_index[j]);
    // The score recomputed at that index, as the reference holds it (the sign of a zero included).
    out[j] = {min_index, mul_add(steps[j], q[min_index], neg2p[min_index])};
  }
}

void iq3_select_avx512(const float *neg2p, const float *q, int n_points, const float *steps, int n_steps,
                       Iq3Selection *out) {
  for (; n_steps >= kBatch; n_steps -= kBatch, steps += kBatch, out += kBatch) {
    select_batch<kBatch>(neg2p, q, n_points, steps, out);
  }
  switch (n_steps) {
    case 5: select_batch<5>(neg2p, q, n_points, steps, out); break;
    case 4: select_batch<4>(neg2p, q, n_points, steps, out); break;
    case 3: select_batch<3>(neg2p, q, n_points, steps, out); break;
    case 2: select_batch<2>(neg2p, q, n_points, steps, out); break;
    case 1: select_batch<1>(neg2p, q, n_points, steps, out); break;
    default: break;
  }
}
#endif

}  // namespace qs
