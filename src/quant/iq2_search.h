// The CPU's scores for the IQ2 block search (iq2_block_search.h): a group's table of (2A', B) over the
// whole grid is built once (A and B do not depend on the scale) and then scanned for each candidate
// scale. The two kernels (build, scan) have a scalar reference and an AVX-512 fast path, equal bit for
// bit; TableScorer serves the search from those tables.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "quant/iq2_block_search.h"

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

// A group's table over the whole grid: a2 = 2 A'_g and b = B_g per entry (entry_sums).
struct GroupTable {
  alignas(64) float a2[kMaxGridSize];
  alignas(64) float b[kMaxGridSize];
};

struct Kernels {
  // Fills table with every entry's entry_sums.
  void (*build)(const PairCodedGrid &grid, const PairTables &pairs, bool odd_parity, GroupTable &table);
  // For each of n_u scales u[t]: the entry with the smallest score, the first on ties (-1 if
  // no score is below FLT_MAX).
  void (*scan)(const PairCodedGrid &grid, const GroupTable &table, const float *u, int n_u, int *best);
  // best_candidate_ref's answer.
  int (*best_candidate)(const Candidates &candidates, float u, float *score);
};

const Kernels &scalar_kernels();
const Kernels &fast_kernels();  // the scalar ones without AVX-512

// The search's Scorer (iq2_block_search.h) on the CPU: per group slot a table, built by `kernels`.
struct TableScorer {
  const PairCodedGrid &grid;
  const uint64_t *grid_values;
  const Kernels &kernels;
  GroupTable tables[4];  // left uninitialised: prepare fills a slot before it is read

  TableScorer(const PairCodedGrid &grid, const uint64_t *grid_values, const Kernels &kernels)
      : grid(grid), grid_values(grid_values), kernels(kernels) {}
  void prepare(int k, const PairTables &pairs, bool odd_parity) { kernels.build(grid, pairs, odd_parity, tables[k]); }
  void scan(int k, const float *u, int n_u, int *best) const { kernels.scan(grid, tables[k], u, n_u, best); }
  void sums(int k, int g, float &a2, float &b) const {
    a2 = tables[k].a2[g];
    b = tables[k].b[g];
  }
  int best_candidate(const Candidates &candidates, float u, float *score) const {
    return kernels.best_candidate(candidates, u, score);
  }
  uint64_t grid_entry(int g) const { return grid_values[g]; }
};

}  // namespace qs::iq2
