// The IQ3 block search (see iq3_search.h). ggml (quantize_row_iq3_xxs_impl / _s_impl) rounds each
// group of 4 onto the lattice and, where the rounded point is off the grid, picks among a short list
// of neighbours, then fits the sub-block scale; the 4-bit sub-block scales and the f16 block scale
// are rounded at the end without another look at the grid points. Here every group is matched
// against the whole grid at every step tried (cheap through the tables of iq3_kernels.h), and the
// scales are chosen by the error as decoded:
//  1. per sub-block of 32, ggml's sweep of steps around "largest magnitude to the top of the grid",
//     each with the best grid point per group and a least-squares refit of the step;
//  2. per block, a few f16 block scales d; for each, every sub-block tries the 4-bit scale nearest to
//     its fitted step (IQ3_XXS: and the two next to it), with the best grid points at the step as
//     decoded (IQ3_XXS's top magnitude 62, not 60, included); the d with the smallest total error
//     wins, and (IQ3_S) each sub-block then tries the two scales next to its nearest one.
// Signs are ggml's: each value's own, and for IQ3_XXS's even parity the least important value of an
// odd group of 8 is flipped. The search itself is iq3_block_search.h (shared with the GPU); here
// the CPU's scores, from tables.
#include "quant/iq3_search.h"

#include <array>
#include <vector>

#include "quant/iq3_block_search.h"
#include "quant/iq3_grids.h"
#include "quant/iq3_kernels.h"

namespace qs {
namespace {

using iq3::kGroups;
using iq3::kSubBlocks;

// A grid's magnitudes and their squares laid out by value (Iq3GridColumns).
struct Columns {
  std::vector<float> m[4], m2[4];
  Iq3GridColumns grid{};
  template <size_t N>
  explicit Columns(const std::array<uint32_t, N> &entries) {
    for (int k = 0; k < 4; ++k) {
      for (const uint32_t entry : entries) {
        const float magnitude = static_cast<float>((entry >> (8 * k)) & 0xff);
        m[k].push_back(magnitude);
        m2[k].push_back(magnitude * magnitude);
      }
      grid.m[k] = m[k].data();
      grid.m2[k] = m2[k].data();
    }
    grid.n_points = static_cast<int>(N);
  }
};

// Built on first use; function-local statics are thread-safe by the language's rules.
const Iq3GridColumns &grid_columns(Iq3Kind kind) {
  static const Columns xxs(kIq3xxsGrid), s(kIq3sGrid);
  return kind == Iq3Kind::Xxs ? xxs.grid : s.grid;
}

struct Kernels {
  void (*group_table)(const Iq3GridColumns &, const float *, const float *, float *, float *);
  void (*select)(const float *, const float *, int, const float *, int, Iq3Selection *);
};

Kernels kernels(bool fast) {
#if defined(__AVX512F__) && defined(__FMA__)
  if (fast) return {iq3_group_table_avx512, iq3_select_avx512};
#elif defined(__AVX2__) && defined(__FMA__)
  if (fast) return {iq3_group_table_avx2, iq3_select_avx2};
#endif
  (void)fast;
  return {iq3_group_table_ref, iq3_select_ref};
}

// The CPU's scores: per group a table of (-2 P_i, Q_i) over the whole grid (iq3_kernels.h), made
// once per block and read at every step the search tries.
struct TableScorer {
  const Iq3GridColumns &grid;
  Kernels k;
  float *tables;  // 2 * n_points floats per group
  float *neg2p_of(int ib, int g) const { return tables + static_cast<size_t>(2 * (ib * kGroups + g)) * grid.n_points; }
  void prepare(int ib, int g, const float *a, const float *w) {
    float *neg2p = neg2p_of(ib, g);
    k.group_table(grid, a, w, neg2p, neg2p + grid.n_points);
  }
  void select(int ib, int g, const float *steps, int n_steps, Iq3Selection *out) const {
    const float *neg2p = neg2p_of(ib, g);
    k.select(neg2p, neg2p + grid.n_points, grid.n_points, steps, n_steps, out);
  }
  float neg2p(int ib, int g, int i) const { return neg2p_of(ib, g)[i]; }
  float q(int ib, int g, int i) const { return neg2p_of(ib, g)[grid.n_points + i]; }
};

}  // namespace

void Iq3Scratch::reserve(Iq3Kind kind) {
  const int n_points = grid_columns(kind).n_points;
  tables.resize(static_cast<size_t>(2 * kSubBlocks * kGroups * n_points));
}

bool search_iq3_block(Iq3Kind kind, const float *x, const float *importance, bool fast, Iq3Scratch &scratch,
                      Iq3BlockCode &code) {
  scratch.reserve(kind);
  TableScorer scorer{grid_columns(kind), kernels(fast), scratch.tables.data()};
  return iq3::search_block(kind, x, importance, scorer, code);
}

}  // namespace qs
