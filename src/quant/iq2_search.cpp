// The CPU's side of the IQ2 grid search (see iq2_search.h): pair-coded grids and the table build and
// scan kernels (scalar reference, then the AVX-512 fast path).
#include "quant/iq2_search.h"

#include <cfloat>
#include <span>

#include "quant/iq2_grids.h"
#include "quant/iq_grid_search_simd.h"

// Scalar and SIMD paths must round identically: no implicit fused multiply-adds (fmas are explicit).
#pragma GCC optimize("fp-contract=off")

namespace qs::iq2 {
namespace {

PairCodedGrid pair_code(std::span<const uint64_t> grid) {
  PairCodedGrid coded;
  coded.size = static_cast<int>(grid.size());
  for (auto &row : coded.codes) row.resize(grid.size());
  for (size_t g = 0; g < grid.size(); ++g) {
    int level[8];
    for (int j = 0; j < 8; ++j) {
      const auto byte = static_cast<uint8_t>(grid[g] >> (8 * j));
      level[j] = byte == 0x08 ? 0 : byte == 0x19 ? 1 : 2;
    }
    for (int p = 0; p < 4; ++p) coded.codes[p][g] = static_cast<uint8_t>(3 * level[2 * p] + level[2 * p + 1]);
  }
  return coded;
}

void build_scalar(const PairCodedGrid &grid, const PairTables &pairs, bool odd_parity, GroupTable &table) {
  for (int g = 0; g < grid.size; ++g) {
    entry_sums(pairs, grid.codes[0][g], grid.codes[1][g], grid.codes[2][g], grid.codes[3][g], odd_parity, table.a2[g],
               table.b[g]);
  }
}

void scan_scalar(const PairCodedGrid &grid, const GroupTable &table, const float *u, int n_u, int *best) {
  for (int t = 0; t < n_u; ++t) {
    float best_score = FLT_MAX;
    best[t] = -1;
    for (int g = 0; g < grid.size; ++g) {
      const float score = entry_score(table.a2[g], table.b[g], u[t]);
      if (score < best_score) {
        best_score = score;
        best[t] = g;
      }
    }
  }
}

#if defined(__AVX512F__)
// All (at most 16) candidates in one register.
int best_candidate_avx512(const Candidates &candidates, float u, float *score) {
  const __m512 s = _mm512_fmsub_ps(_mm512_set1_ps(u), _mm512_load_ps(candidates.b), _mm512_load_ps(candidates.a2));
  iq::BestLane winner{FLT_MAX, -1};
  iq::keep_smallest(s, iq::lanes_in_use(candidates.n, 0), 0, winner);
  *score = winner.score;
  return winner.index < 0 ? 0 : winner.index;
}

// 16 entries per step; the pair shares are looked up with permutes (9 codes fit one 16-float table).
template <bool odd_parity>
void build_avx512_t(const PairCodedGrid &grid, const PairTables &pairs, GroupTable &table) {
  __m512 a_share[4], b_share[4], flip_share[4];
  const uint8_t *codes[4];
  for (int p = 0; p < 4; ++p) {
    a_share[p] = _mm512_load_ps(pairs.a[p]);
    b_share[p] = _mm512_load_ps(pairs.b[p]);
    flip_share[p] = _mm512_load_ps(pairs.flip[p]);
    codes[p] = grid.codes[p].data();
  }
  float *a2_out = table.a2, *b_out = table.b;
  for (int g = 0; g < grid.size; g += 16) {
    __m512i code[4];
    for (int p = 0; p < 4; ++p) {
      code[p] = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(codes[p] + g)));
    }
    __m512 a = _mm512_add_ps(
        _mm512_add_ps(_mm512_permutexvar_ps(code[0], a_share[0]), _mm512_permutexvar_ps(code[1], a_share[1])),
        _mm512_add_ps(_mm512_permutexvar_ps(code[2], a_share[2]), _mm512_permutexvar_ps(code[3], a_share[3])));
    const __m512 b = _mm512_add_ps(
        _mm512_add_ps(_mm512_permutexvar_ps(code[0], b_share[0]), _mm512_permutexvar_ps(code[1], b_share[1])),
        _mm512_add_ps(_mm512_permutexvar_ps(code[2], b_share[2]), _mm512_permutexvar_ps(code[3], b_share[3])));
    if constexpr (odd_parity) {
      const __m512 flip = _mm512_min_ps(
          _mm512_min_ps(_mm512_permutexvar_ps(code[0], flip_share[0]), _mm512_permutexvar_ps(code[1], flip_share[1])),
          _mm512_min_ps(_mm512_permutexvar_ps(code[2], flip_share[2]), _mm512_permutexvar_ps(code[3], flip_share[3])));
      a = _mm512_sub_ps(a, _mm512_add_ps(flip, flip));
    }
    _mm512_store_ps(a2_out + g, _mm512_add_ps(a, a));
    _mm512_store_ps(b_out + g, b);
  }
}

void build_avx512(const PairCodedGrid &grid, const PairTables &pairs, bool odd_parity, GroupTable &table) {
  if (odd_parity) {
    build_avx512_t<true>(grid, pairs, table);
  } else {
    build_avx512_t<false>(grid, pairs, table);
  }
}

// Per lane (entries g = lane mod 16) the first smallest score, then the smallest index among the lanes
// holding the overall smallest: the first occurrence the scalar scan finds. N scales at once, N fixed
// so that the running minima stay in registers.
template <int N>
void scan_avx512_n(const PairCodedGrid &grid, const GroupTable &table, const float *u, int *best) {
  __m512 u_v[N], lowest[N];
  __m512i at[N];
#pragma GCC unroll 8
  for (int t = 0; t < N; ++t) {
    u_v[t] = _mm512_set1_ps(u[t]);
    lowest[t] = _mm512_set1_ps(FLT_MAX);
    at[t] = _mm512_set1_epi32(-1);
  }
  __m512i index = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i step = _mm512_set1_epi32(16);
  for (int g = 0; g < grid.size; g += 16) {
    const __m512 b = _mm512_load_ps(table.b + g);
    const __m512 a2 = _mm512_load_ps(table.a2 + g);
#pragma GCC unroll 8
    for (int t = 0; t < N; ++t) {
      const __m512 score = _mm512_fmsub_ps(u_v[t], b, a2);
      const __mmask16 lower = _mm512_cmp_ps_mask(score, lowest[t], _CMP_LT_OQ);
      lowest[t] = _mm512_mask_mov_ps(lowest[t], lower, score);
      at[t] = _mm512_mask_mov_epi32(at[t], lower, index);
    }
    index = _mm512_add_epi32(index, step);
  }
#pragma GCC unroll 8
  for (int t = 0; t < N; ++t) {
    iq::BestLane winner{FLT_MAX, -1};
    const __mmask16 found = _mm512_cmpge_epi32_mask(at[t], _mm512_setzero_si512());
    iq::keep_smallest(lowest[t], found, 0, winner);
    if (winner.index < 0) {
      best[t] = -1;
      continue;
    }
    // Lanes tied with the winner: take the smallest entry index among them.
    const __mmask16 tied = _mm512_mask_cmp_ps_mask(found, lowest[t], _mm512_set1_ps(winner.score), _CMP_EQ_OQ);
    best[t] = _mm512_mask_reduce_min_epi32(tied, at[t]);
  }
}

// Six scales per pass keep every running minimum in a register (eight would spill).
void scan_avx512(const PairCodedGrid &grid, const GroupTable &table, const float *u, int n_u, int *best) {
  int t = 0;
  for (; t + 6 <= n_u; t += 6) scan_avx512_n<6>(grid, table, u + t, best + t);
  for (; t < n_u; ++t) scan_avx512_n<1>(grid, table, u + t, best + t);
}
#endif

}  // namespace

const PairCodedGrid &iq2xxs_pairs() {
  static const PairCodedGrid grid = pair_code(iq2xxs_grid);
  return grid;
}
const PairCodedGrid &iq2xs_pairs() {
  static const PairCodedGrid grid = pair_code(iq2xs_grid);
  return grid;
}
const PairCodedGrid &iq2s_pairs() {
  static const PairCodedGrid grid = pair_code(iq2s_grid);
  return grid;
}

const Kernels &scalar_kernels() {
  static const Kernels kernels{build_scalar, scan_scalar, best_candidate_ref};
  return kernels;
}

const Kernels &fast_kernels() {
#if defined(__AVX512F__)
  static const Kernels kernels{build_avx512, scan_avx512, best_candidate_avx512};
  return kernels;
#else
  return scalar_kernels();
#endif
}

}  // namespace qs::iq2
