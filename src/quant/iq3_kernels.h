// The two inner loops of the IQ3 search, each as a scalar reference and AVX2 / AVX-512 versions
// that give bit-identical results. For a group of 4 values a_k with weights w_k, the error of grid point
// i decoded with step s is
//     sum_k w_k (a_k - s m_k(i))^2 = sum_k w_k a_k^2 + s (s Q_i - 2 P_i),
//     P_i = sum_k w_k a_k m_k(i),   Q_i = sum_k w_k m_k(i)^2,
// so one table of (-2 P_i, Q_i) per group serves every step the search tries.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/host_device.h"

namespace qs {

namespace iq3 {

// One rounding where the CPU fuses multiply-adds (as the vector kernels do); two plain operations
// where it cannot (there the vector kernels are not built, and nothing can be contracted). The GPU
// fuses: its bits are those of a CPU with FMA (every x86-64-v3).
QS_HOST_DEVICE inline float mul_add(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return fmaf(a, b, c);
#elif defined(__FMA__)
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// -2 P_i and Q_i of one grid point with magnitudes m[k] and their squares m2[k], for a group's
// w_k a_k (wa) and w_k (w): what a table holds (iq3_group_table_ref) and what the GPU computes when
// it needs it (gpu/quantize_kernels.cu), one function so that the two are the same floats.
QS_HOST_DEVICE inline void point_sums(const float *wa, const float *w, const float *m, const float *m2, float &neg2p,
                                      float &q) {
  float p = wa[0] * m[0];
  float qi = w[0] * m2[0];
  for (int k = 1; k < 4; ++k) {
    p = mul_add(wa[k], m[k], p);
    qi = mul_add(w[k], m2[k], qi);
  }
  neg2p = -2.0f * p;
  q = qi;
}

}  // namespace iq3

// Magnitudes of the grid laid out by value: m[k][i] is value k of grid point i, m2[k][i] its square.
struct Iq3GridColumns {
  const float *m[4];
  const float *m2[4];
  int n_points;  // a multiple of 64
};

struct Iq3Selection {
  int index;    // grid point with the smallest error (the lowest index among equals)
  float score;  // its s * Q_i - 2 P_i
};

// neg2p[i] = -2 P_i and q[i] = Q_i for one group (iq3::point_sums); a and w hold the group's 4 values
// and weights.
void iq3_group_table_ref(const Iq3GridColumns &grid, const float *a, const float *w, float *neg2p, float *q);
// For each step steps[j] (> 0): the grid point minimising steps[j] * q[i] + neg2p[i], into out[j].
void iq3_select_ref(const float *neg2p, const float *q, int n_points, const float *steps, int n_steps,
                    Iq3Selection *out);

#if defined(__AVX2__) && defined(__FMA__)
void iq3_group_table_avx2(const Iq3GridColumns &grid, const float *a, const float *w, float *neg2p, float *q);
void iq3_select_avx2(const float *neg2p, const float *q, int n_points, const float *steps, int n_steps,
                     Iq3Selection *out);
#endif
#if defined(__AVX512F__) && defined(__FMA__)
void iq3_group_table_avx512(const Iq3GridColumns &grid, const float *a, const float *w, float *neg2p, float *q);
void iq3_select_avx512(const float *neg2p, const float *q, int n_points, const float *steps, int n_steps,
                       Iq3Selection *out);
#endif

}  // namespace qs
