// Elementwise helpers of the forward pass written so that GCC vectorizes them (-O3, AVX2/AVX-512):
// an exp without a library call, and max / sum reductions over fixed lanes (a plain sequential
// float sum cannot be reordered by the compiler, so it would stay scalar). The reference each one
// is tested against is the obvious loop with std::exp (tests/infer/vector_math_test.cpp).
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>

namespace qs {

// e^x within 2 ulp of std::exp for x in [-87.3, 88.7]; 0 below (where e^x is subnormal or
// smaller), +huge above. Cephes' expf: x = n ln2 + r with |r| <= ln2/2, e^r by a degree-7
// polynomial, 2^n put into the exponent bits.
inline float fast_exp(float x) {
  const bool underflow = x < -87.3f;
  x = std::clamp(x, -87.3f, 88.7f);
  // n = round(x / ln 2): adding 1.5 * 2^23 rounds to an integer in the low mantissa bits.
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;   // ln 2 split in two so that n * hi is exact
  r = r - n * -2.12194440e-4f;
  const float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e_r = p * r2 + r + 1.0f;
  const float two_n = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  return underflow ? 0.0f : e_r * two_n;
}

inline float max_of(const float *x, int64_t n) {
  constexpr int kLanes = 16;
  float lanes[kLanes];
  std::fill(lanes, lanes + kLanes, -std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] = std::max(lanes[l], x[i + l]);
  float m = -std::numeric_limits<float>::infinity();
  for (int l = 0; l < kLanes; ++l) m = std::max(m, lanes[l]);
  for (; i < n; ++i) m = std::max(m, x[i]);
  return m;
}

inline float sum_of(const float *x, int64_t n) {
  constexpr int kLanes = 16;
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] += x[i + l];
  float s = 0.0f;
  for (int l = 0; l < kLanes; ++l) s += lanes[l];
  for (; i < n; ++i) s += x[i];
  return s;
}

// x[i] = e^(x[i] - shift)
inline void exp_shifted_in_place(float *x, int64_t n, float shift) {
  for (int64_t i = 0; i < n; ++i) x[i] = fast_exp(x[i] - shift);
}

// sum of e^(x[i] - shift), each term in float, the sum in double (as llama-perplexity sums).
// sum of term(i) over [0, n) in eight double lanes (then the lanes, then the tail): a fixed order,
// so every caller summing the same terms gets the same bits, and the lanes vectorise.
template <typename Term>
inline double lane_sum(int64_t n, Term term) {
  constexpr int kLanes = 8;
  double lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] += term(i + l);
  double s = 0.0;
  for (int l = 0; l < kLanes; ++l) s += lanes[l];
  for (; i < n; ++i) s += term(i);
  return s;
}

inline double sum_exp_shifted(const float *x, int64_t n, float shift) {
  return lane_sum(n, [&](int64_t i) { return static_cast<double>(fast_exp(x[i] - shift)); });
}

}  // namespace qs
