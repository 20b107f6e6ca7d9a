// The grid search of the IQ2 quantizers (IQ2_XXS, IQ2_XS, IQ2_S): for a group of 8 values and a scale u
// (decoded value = u * grid byte * sign), the grid entry g minimising the weighted squared error
//   sum_j w_j (|x_j| - u v_gj)^2 = C - u (2 A'_g - u B_g),
//   A_g = sum_j w_j |x_j| v_gj,  B_g = sum_j w_j v_gj^2,
// where, for the types whose signs must have even parity (IQ2_XXS, IQ2_XS) and a group with an odd number
// of negatives, one element keeps the wrong sign: the cheapest one, costing 4 u min_j w_j |x_j| v_gj,
// so A'_g = A_g - 2 min_j w_j |x_j| v_gj (else A'_g = A_g). A and B do not depend on u, so a group's
// table of (2A', B) over the whole grid is built once and then scanned for each candidate scale:
// an exact, exhaustive search where ggml rounds to the lattice and checks a few neighbours.
// The two kernels (build, scan) have a scalar reference and an AVX-512 fast path, equal bit for bit.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace qs::iq2 {

// An IQ2 grid with each entry's 8 levels (0, 1, 2 for bytes 0x08, 0x19, 0x2b) as 4 pair codes
// 3 l_{2p} + l_{2p+1} (0..8), one row per pair p, so table lookups replace per-element arithmetic.
struct PairCodedGrid {
  int size = 0;
  std::array<std::vector<uint8_t>, 4> codes;
};
const PairCodedGrid &iq2xxs_pairs();  // built once, on first use
const PairCodedGrid &iq2xs_pairs();
const PairCodedGrid &iq2s_pairs();

inline constexpr int kMaxGridSize = 1024;
inline constexpr float kGridValues[3] = {8.0f, 25.0f, 43.0f};

// Per pair p and code c = 3 l0 + l1 (9 of 16 slots used): the pair's share of A, of B and of the
// parity flip cost, from a_j = w_j |x_j| and w_j.
struct PairTables {
  alignas(64) float a[4][16];
  alignas(64) float b[4][16];
  alignas(64) float flip[4][16];
};
PairTables make_pair_tables(const float *weight, const float *abs_x);

// A group's table over the whole grid: a2 = 2 A'_g and b = B_g per entry.
struct GroupTable {
  alignas(64) float a2[kMaxGridSize];
  alignas(64) float b[kMaxGridSize];
};

// The score of entry g at scale u: u B_g - 2 A'_g (the error is C + u * score), one rounding (fma).
float entry_score(const GroupTable &table, int g, float u);

struct Candidates;

struct Kernels {
  // Fills table for every entry: A = (a0 + a1) + (a2 + a3) over the 4 pairs' shares (that order),
  // B likewise; with odd_parity, A -= 2 min over pairs of the flip shares; a2 = 2 A.
  void (*build)(const PairCodedGrid &grid, const PairTables &pairs, bool odd_parity, GroupTable &table);
  // For each of n_u scales u[t]: the entry with the smallest score, the first on ties (-1 if
  // no score is below FLT_MAX).
  void (*scan)(const PairCodedGrid &grid, const GroupTable &table, const float *u, int n_u, int *best);
  // The candidate with the smallest score at u, the first on ties (0 if none is below FLT_MAX); its
  // score goes to *score (the group's error is C + u * score).
  int (*best_candidate)(const Candidates &candidates, float u, float *score);
};

const Kernels &scalar_kernels();
const Kernels &fast_kernels();  // the scalar ones without AVX-512

// Up to kMaxCandidates grid entries worth trying for a group (with their a2 and b), gathered while
// searching its sub-block's scale; the final choice at the quantized scale is made among them.
inline constexpr int kMaxCandidates = 16;  // one AVX-512 register of scores
struct Candidates {
  alignas(64) float a2[kMaxCandidates] = {};
  alignas(64) float b[kMaxCandidates] = {};
  uint16_t entry[kMaxCandidates] = {};
  int n = 0;
};

// Finds a good scale u for a sub-block of n_groups groups of 8 (x, weights): scans the whole grid at a
// ladder of scales around amax / 43, then refits u to the chosen entries (closed form) if that helps. Fills each group's candidates; returns u (0 when the sub-block's weighted values are all 0).
float fit_sub_block(const PairCodedGrid &grid, const Kernels &kernels, const float *x, const float *weight,
                    int n_groups, bool even_parity, Candidates *candidates);

}  // namespace qs::iq2
