// The vector kernels of the IQ3 search against their scalar references, on tables with many exact
// ties (the lowest index must win) as well as random ones.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "quant/iq3_kernels.h"

namespace qs::iq3_kernels_test {
namespace {

struct Table {
  std::vector<float> m[4], m2[4];
  Iq3GridColumns grid{};
  explicit Table(int n_points, uint32_t seed) {
    std::mt19937 rng(seed);
    for (int k = 0; k < 4; ++k) {
      for (int i = 0; i < n_points; ++i) {
        const float v = static_cast<float>(1 + 2 * (rng() % 8));  // lattice magnitudes: repeats galore
        m[k].push_back(v);
        m2[k].push_back(v * v);
      }
      grid.m[k] = m[k].data();
      grid.m2[k] = m2[k].data();
    }
    grid.n_points = n_points;
  }
};

using TableFn = void (*)(const Iq3GridColumns &, const float *, const float *, float *, float *);
using SelectFn = void (*)(const float *, const float *, int, const float *, int, Iq3Selection *);

void expect_same_as_reference(TableFn table_fn, SelectFn select_fn) {
  for (const int n_points : {256, 512}) {
    const Table table(n_points, static_cast<uint32_t>(n_points));
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (int trial = 0; trial < 50; ++trial) {
      float a[4], w[4];
      for (int k = 0; k < 4; ++k) {
        // Every fifth trial: equal values and weights, so many grid points tie exactly.
        a[k] = trial % 5 == 0 ? 0.5f : uniform(rng);
        w[k] = trial % 5 == 0 ? 1.0f : 1.0f + uniform(rng);
      }
      std::vector<float> neg2p_ref(n_points), q_ref(n_points), neg2p(n_points), q(n_points);
      iq3_group_table_ref(table.grid, a, w, neg2p_ref.data(), q_ref.data());
      table_fn(table.grid, a, w, neg2p.data(), q.data());
      ASSERT_EQ(neg2p_ref, neg2p);
      ASSERT_EQ(q_ref, q);
      float steps[13];
      for (float &s : steps) s = 0.01f + 0.1f * (1.0f + uniform(rng));
      for (int n_steps = 1; n_steps <= 13; n_steps += 4) {
        Iq3Selection ref[13], fast[13];
        iq3_select_ref(neg2p.data(), q.data(), n_points, steps, n_steps, ref);
        select_fn(neg2p.data(), q.data(), n_points, steps, n_steps, fast);
        for (int j = 0; j < n_steps; ++j) {
          EXPECT_EQ(ref[j].index, fast[j].index) << "trial " << trial << " step " << j;
          EXPECT_EQ(ref[j].score, fast[j].score) << "trial " << trial << " step " << j;
        }
      }
    }
  }
}

TEST(Iq3Kernels, SelectTakesTheLowestIndexAmongEqualScores) {
  // Two points with identical magnitudes score the same at every step: the first must win.
  const Table table(256, 9);
  std::vector<float> neg2p(256, 0.0f), q(256, 1.0f);
  neg2p[40] = neg2p[200] = -10.0f;  // the best, twice
  const float step = 1.0f;
  Iq3Selection sel;
  iq3_select_ref(neg2p.data(), q.data(), 256, &step, 1, &sel);
  EXPECT_EQ(40, sel.index);
  EXPECT_EQ(-9.0f, sel.score);  // 1 * 1 - 10
}

#if defined(__AVX2__) && defined(__FMA__)
TEST(Iq3Kernels, Avx2MatchesReference) { expect_same_as_reference(iq3_group_table_avx2, iq3_select_avx2); }
#endif
#if defined(__AVX512F__) && defined(__FMA__)
TEST(Iq3Kernels, Avx512MatchesReference) { expect_same_as_reference(iq3_group_table_avx512, iq3_select_avx512); }
#endif

}  // namespace
}  // namespace qs::iq3_kernels_test
