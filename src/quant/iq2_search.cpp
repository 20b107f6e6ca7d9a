// The exhaustive IQ2 grid search (see iq2_search.h): pair-coded grids, the table build and scan kernels
// (scalar reference, then the AVX-512 fast path), and the per-sub-block scale fit built on them.
#include "quant/iq2_search.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
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

// x86's minps semantics, written out so the scalar reference picks the same operand.
inline float min_ps(float a, float b) { return a < b ? a : b; }

void build_scalar(const PairCodedGrid &grid, const PairTables &pairs, bool odd_parity, GroupTable &table) {
  for (int g = 0; g < grid.size; ++g) {
    const int c0 = grid.codes[0][g], c1 = grid.codes[1][g], c2 = grid.codes[2][g], c3 = grid.codes[3][g];
    float a = (pairs.a[0][c0] + pairs.a[1][c1]) + (pairs.a[2][c2] + pairs.a[3][c3]);
    const float b = (pairs.b[0][c0] + pairs.b[1][c1]) + (pairs.b[2][c2] + pairs.b[3][c3]);
    if (odd_parity) {
      const float flip = min_ps(min_ps(pairs.flip[0][c0], pairs.flip[1][c1]), min_ps(pairs.flip[2][c2], pairs.flip[3][c3]));
      a = a - (flip + flip);
    }
    table.a2[g] = a + a;
    table.b[g] = b;
  }
}

void scan_scalar(const PairCodedGrid &grid, const GroupTable &table, const float *u, int n_u, int *best) {
  for (int t = 0; t < n_u; ++t) {
    float best_score = FLT_MAX;
    best[t] = -1;
    for (int g = 0; g < grid.size; ++g) {
      const float score = std::fma(u[t], table.b[g], -table.a2[g]);
      if (score < best_score) {
        best_score = score;
        best[t] = g;
      }
    }
  }
}

int best_candidate_scalar(const Candidates &candidates, float u, float *score) {
  int winner = 0;
  float lowest = FLT_MAX;
  for (int i = 0; i < candidates.n; ++i) {
    const float s = std::fma(u, candidates.b[i], -candidates.a2[i]);
    if (s < lowest) {
      lowest = s;
      winner = i;
    }
  }
  *score = lowest;
  return winner;
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

// Scales tried per sub-block, as multiples of amax / 43 (the scale putting the largest |x| on the
// largest grid value): 12 steps of 7.2^(1/11) from 0.25 to 1.8, reaching up past 43 / 25 (the largest
// |x| on the middle value) and down far enough to let a lone outlier be clipped when that costs less
// than coarsening every other value.
constexpr int kLadderSteps = 12;
constexpr float kScaleLadder[kLadderSteps] = {0.25f,     0.299143f, 0.357947f, 0.42831f, 0.512504f, 0.613249f,
                                              0.733797f, 0.878042f, 1.050642f, 1.25717f, 1.504296f, 1.8f};

void add_candidate(Candidates &candidates, const GroupTable &table, int g) {
  for (int i = 0; i < candidates.n; ++i) {
    if (candidates.entry[i] == g) return;
  }
  if (candidates.n == kMaxCandidates) return;
  candidates.entry[candidates.n] = static_cast<uint16_t>(g);
  candidates.a2[candidates.n] = table.a2[g];
  candidates.b[candidates.n] = table.b[g];
  ++candidates.n;
}

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

PairTables make_pair_tables(const float *weight, const float *abs_x) {
  PairTables pairs{};
  for (int p = 0; p < 4; ++p) {
    const int j0 = 2 * p, j1 = 2 * p + 1;
    for (int l0 = 0; l0 < 3; ++l0) {
      for (int l1 = 0; l1 < 3; ++l1) {
        const int c = 3 * l0 + l1;
        const float a0 = weight[j0] * abs_x[j0] * kGridValues[l0];
        const float a1 = weight[j1] * abs_x[j1] * kGridValues[l1];
        pairs.a[p][c] = a0 + a1;
        pairs.b[p][c] = weight[j0] * (kGridValues[l0] * kGridValues[l0]) + weight[j1] * (kGridValues[l1] * kGridValues[l1]);
        pairs.flip[p][c] = min_ps(a0, a1);
      }
    }
  }
  return pairs;
}

float entry_score(const GroupTable &table, int g, float u) { return std::fma(u, table.b[g], -table.a2[g]); }

const Kernels &scalar_kernels() {
  static const Kernels kernels{build_scalar, scan_scalar, best_candidate_scalar};
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

float fit_sub_block(const PairCodedGrid &grid, const Kernels &kernels, const float *x, const float *weight,
                    int n_groups, bool even_parity, Candidates *candidates) {
  GroupTable tables[4];
  float amax = 0;
  for (int k = 0; k < n_groups; ++k) {
    float abs_x[8];
    int n_negative = 0;
    for (int j = 0; j < 8; ++j) {
      abs_x[j] = std::fabs(x[8 * k + j]);
      amax = std::max(amax, abs_x[j]);
      n_negative += x[8 * k + j] < 0;
    }
    kernels.build(grid, make_pair_tables(weight + 8 * k, abs_x), even_parity && n_negative % 2, tables[k]);
    candidates[k].n = 0;
  }
  // All zero: any scale fits; the candidates only need the entry of least magnitude (smallest B).
  const float u0 = amax > 0 ? amax / 43 : 1.0f;

  float u[kLadderSteps];
  for (int t = 0; t < kLadderSteps; ++t) u[t] = u0 * kScaleLadder[t];
  int best[4][kLadderSteps];
  for (int k = 0; k < n_groups; ++k) {
    kernels.scan(grid, tables[k], u, kLadderSteps, best[k]);
    for (int t = 0; t < kLadderSteps; ++t) {
      best[k][t] = std::max(best[k][t], 0);
      add_candidate(candidates[k], tables[k], best[k][t]);
    }
  }
  // Error at u, less the constant sum of w x^2: u * sum of the groups' best scores.
  auto sub_block_error = [&](float scale, const int *entries) {
    float sum = 0;
    for (int k = 0; k < n_groups; ++k) sum += entry_score(tables[k], entries[k], scale);
    return scale * sum;
  };
  int chosen[4] = {0, 0, 0, 0};  // stays 0 only if every error is NaN (non-finite input)
  float best_u = u[0], best_error = FLT_MAX;
  for (int t = 0; t < kLadderSteps; ++t) {
    int entries[4];
    for (int k = 0; k < n_groups; ++k) entries[k] = best[k][t];
    const float error = sub_block_error(u[t], entries);
    if (error < best_error) {
      best_error = error;
      best_u = u[t];
      std::copy(entries, entries + n_groups, chosen);
    }
  }
  if (amax == 0) return 0.0f;
  // With the entries fixed the best scale is sum A' / sum B; rescan there (once: a second refit
  // hardly ever helps) and keep it if the error falls.
  float sum_a2 = 0, sum_b = 0;
  for (int k = 0; k < n_groups; ++k) {
    sum_a2 += tables[k].a2[chosen[k]];
    sum_b += tables[k].b[chosen[k]];
  }
  if (!(sum_a2 > 0 && sum_b > 0)) return best_u;
  const float refit = 0.5f * sum_a2 / sum_b;
  int entries[4];
  for (int k = 0; k < n_groups; ++k) {
    kernels.scan(grid, tables[k], &refit, 1, &entries[k]);
    entries[k] = std::max(entries[k], 0);
    add_candidate(candidates[k], tables[k], entries[k]);
  }
  return sub_block_error(refit, entries) < best_error ? refit : best_u;
}

}  // namespace qs::iq2
