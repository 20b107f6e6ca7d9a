// Elementwise helpers of the forward pass and of the KL comparison: an exp without a library call,
// and max / first-max / sum reductions over fixed lanes (a plain sequential float sum cannot be
// reordered by the compiler, so it would stay scalar). max_of and sum_of are loops GCC vectorizes;
// where it does not (the exp sums, the first-max index), AVX-512 and AVX2 paths sit beside a
// scalar _ref that gives the same bits (tests/infer/vector_math_test.cpp checks them against plain
// loops with std::exp and against each other).
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>

#if defined(__AVX512F__) || defined(__AVX2__)
// GCC 12 warns about the deliberately undefined pass-through operand inside its AVX-512 headers.
#pragma GCC diagnostic push
#if !defined(__clang__)  // clang has no such warning, and warns about the unknown name
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

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
  // For NaN, cvttps2dq's answer (INT32_MIN), which the vector paths get: the cast is undefined there.
  const int32_t n_int = n == n ? static_cast<int32_t>(n) : INT32_MIN;
  const float two_n = std::bit_cast<float>(static_cast<uint32_t>(n_int + 127) << 23);
  return underflow ? 0.0f : e_r * two_n;
}

#if defined(__AVX512F__) || defined(__AVX2__)
namespace detail {

// fast_exp's operations on every lane of a vector, in its order and without fused multiply-adds,
// so that each lane gets fast_exp's bits; Ops gives the instructions of one vector width. The
// underflow to 0 is the caller's (a mask, in each width's own way). max(lo, x) then min(hi, .)
// with the constant first is std::clamp's choice for NaN too (the instructions return their
// second operand when a compare fails).
template <class Ops>
inline typename Ops::V fast_exp_lanes(typename Ops::V x) {
  using V = typename Ops::V;
  x = Ops::min(Ops::set1(88.7f), Ops::max(Ops::set1(-87.3f), x));
  const V round = Ops::set1(12582912.0f);
  const V n = Ops::sub(Ops::add(Ops::mul(x, Ops::set1(1.44269504088896341f)), round), round);
  V r = Ops::sub(x, Ops::mul(n, Ops::set1(0.693359375f)));
  r = Ops::sub(r, Ops::mul(n, Ops::set1(-2.12194440e-4f)));
  const V r2 = Ops::mul(r, r);
  V p = Ops::set1(1.9875691500e-4f);
  for (const float c : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f})
    p = Ops::add(Ops::mul(p, r), Ops::set1(c));
  const V e_r = Ops::add(Ops::add(Ops::mul(p, r2), r), Ops::set1(1.0f));
  return Ops::mul(e_r, Ops::two_to_the(n));
}

#if defined(__AVX512F__)
struct Avx512Floats {
  using V = __m512;
  static V set1(float v) { return _mm512_set1_ps(v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  // 2^n for integral n in range, put into the exponent bits.
  static V two_to_the(V n) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(n), _mm512_set1_epi32(127)), 23));
  }
};
#endif

#if defined(__AVX2__)
struct Avx2Floats {
  using V = __m256;
  static V set1(float v) { return _mm256_set1_ps(v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V two_to_the(V n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23));
  }
};
#endif

}  // namespace detail
#endif

#if defined(__AVX512F__)
// fast_exp of 16 floats, each with fast_exp's bits.
inline __m512 fast_exp_16(__m512 x) {
  const __mmask16 underflow = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_LT_OQ);
  return _mm512_maskz_mov_ps(static_cast<__mmask16>(~underflow), detail::fast_exp_lanes<detail::Avx512Floats>(x));
}
#endif

#if defined(__AVX2__)
// The same on 8 floats.
inline __m256 fast_exp_8(__m256 x) {
  const __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
  return _mm256_andnot_ps(underflow, detail::fast_exp_lanes<detail::Avx2Floats>(x));
}
#endif

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

// The index of the first largest element, by the plain loop (n >= 1).
inline int64_t first_max_index_ref(const float *x, int64_t n) {
  int64_t top = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[top]) top = i;
  return top;
}

#if defined(__AVX512F__) || defined(__AVX2__)
namespace detail {

#if defined(__AVX512F__)
constexpr int kFirstMaxLanes = 64;  // four vectors of 16

// Runs the lanes over whole steps of x; returns where the scalar tail starts.
inline int64_t first_max_lanes(const float *x, int64_t n, float *maxes, int32_t *indices) {
  constexpr int kVectors = 4;
  __m512 lane_max[kVectors];
  __m512i index[kVectors], lane_index[kVectors];
  for (int v = 0; v < kVectors; ++v) {
    lane_max[v] = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    index[v] = lane_index[v] = _mm512_add_epi32(
        _mm512_set1_epi32(16 * v), _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  }
  int64_t i = 0;
  for (; i + kFirstMaxLanes <= n; i += kFirstMaxLanes)
    for (int v = 0; v < kVectors; ++v) {
      const __m512 values = _mm512_loadu_ps(x + i + 16 * v);
      const __mmask16 greater = _mm512_cmp_ps_mask(values, lane_max[v], _CMP_GT_OQ);
      lane_max[v] = _mm512_mask_mov_ps(lane_max[v], greater, values);
      lane_index[v] = _mm512_mask_mov_epi32(lane_index[v], greater, index[v]);
      index[v] = _mm512_add_epi32(index[v], _mm512_set1_epi32(kFirstMaxLanes));
    }
  for (int v = 0; v < kVectors; ++v) {
    _mm512_storeu_ps(maxes + 16 * v, lane_max[v]);
    _mm512_storeu_si512(indices + 16 * v, lane_index[v]);
  }
  return i;
}
#else
constexpr int kFirstMaxLanes = 32;  // four vectors of 8

inline int64_t first_max_lanes(const float *x, int64_t n, float *maxes, int32_t *indices) {
  constexpr int kVectors = 4;
  __m256 lane_max[kVectors];
  __m256i index[kVectors], lane_index[kVectors];
  for (int v = 0; v < kVectors; ++v) {
    lane_max[v] = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    index[v] = lane_index[v] = _mm256_add_epi32(_mm256_set1_epi32(8 * v), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  int64_t i = 0;
  for (; i + kFirstMaxLanes <= n; i += kFirstMaxLanes)
    for (int v = 0; v < kVectors; ++v) {
      const __m256 values = _mm256_loadu_ps(x + i + 8 * v);
      const __m256 greater = _mm256_cmp_ps(values, lane_max[v], _CMP_GT_OQ);
      lane_max[v] = _mm256_blendv_ps(lane_max[v], values, greater);
      lane_index[v] = _mm256_castps_si256(
          _mm256_blendv_ps(_mm256_castsi256_ps(lane_index[v]), _mm256_castsi256_ps(index[v]), greater));
      index[v] = _mm256_add_epi32(index[v], _mm256_set1_epi32(kFirstMaxLanes));
    }
  for (int v = 0; v < kVectors; ++v) {
    _mm256_storeu_ps(maxes + 8 * v, lane_max[v]);
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(indices + 8 * v), lane_index[v]);
  }
  return i;
}
#endif

}  // namespace detail
#endif

// The same index (for n < 2^31). The plain loop waits on the previous compare at every step; here
// each of 64 lanes (32 with AVX2; independent vectors) keeps its running max and the index where
// that first appeared (strict >, so the earliest), and the lanes are merged by value, then by the
// smaller index. Lanes start at -inf with their first index, which a lane of -inf (or NaN) values
// keeps. NaN is never greater, so it is skipped as the plain loop skips it, except at x[0], which
// the plain loop then keeps.
inline int64_t first_max_index(const float *x, int64_t n) {
#if defined(__AVX512F__) || defined(__AVX2__)
  constexpr int kLanes = detail::kFirstMaxLanes;
  if (n < 2 * kLanes || x[0] != x[0]) return first_max_index_ref(x, n);
  float maxes[kLanes];
  int32_t indices[kLanes];
  int64_t i = detail::first_max_lanes(x, n, maxes, indices);
  float m = maxes[0];
  int64_t top = indices[0];
  for (int l = 1; l < kLanes; ++l)
    if (maxes[l] > m || (maxes[l] == m && indices[l] < top)) m = maxes[l], top = indices[l];
  for (; i < n; ++i)
    if (x[i] > m) m = x[i], top = i;
  return top;
#else
  return first_max_index_ref(x, n);
#endif
}

// x[i] = e^(x[i] - shift)
inline void exp_shifted_in_place(float *x, int64_t n, float shift) {
  for (int64_t i = 0; i < n; ++i) x[i] = fast_exp(x[i] - shift);
}

// sum of term(i) over [0, n) in eight double lanes (then the lanes, then the tail): a fixed order,
// so every caller summing the same terms gets the same bits.
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

// sum_i e^(x[i] - shift), each term in float (fast_exp), the sum in double as llama-perplexity
// sums it; and, in the same pass, sum_i p[i] (x[i] - shift) with x[i] - shift in float and the
// product in double (where it is exact: 24 x 24 significant bits), for the KL divergence.
struct ExpAndGapSums {
  double exp = 0.0, gap = 0.0;
};

// The scalar reference: both sums in lane_sum's order (p == nullptr: no gap sum).
inline ExpAndGapSums exp_and_gap_sums_ref(const float *x, const float *p, int64_t n, float shift) {
  ExpAndGapSums s;
  s.exp = lane_sum(n, [&](int64_t i) { return static_cast<double>(fast_exp(x[i] - shift)); });
  if (p) s.gap = lane_sum(n, [&](int64_t i) { return static_cast<double>(p[i]) * static_cast<double>(x[i] - shift); });
  return s;
}

#if defined(__AVX512F__)
namespace detail {

// Adds the first `halves` x 8 of 16 terms to the eight double lanes, lower half first: lane l gets
// terms l then 8 + l, the order lane_sum adds them in.
template <bool kWithGap>
inline void add_exp_and_gap_terms(__m512 x, __m512 p, __m512 shift, int halves, __m512d &exp_lanes,
                                  __m512d &gap_lanes) {
  const __m512 d = _mm512_sub_ps(x, shift);
  const __m512 e = fast_exp_16(d);
  const auto high = [](__m512 v) { return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)); };
  exp_lanes = _mm512_add_pd(exp_lanes, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
  // Multiply then add (an FMA would give the same bits, the product being exact, but its longer
  // latency sits on the lanes' dependency chain).
  if constexpr (kWithGap)
    gap_lanes = _mm512_add_pd(gap_lanes, _mm512_mul_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(p)),
                                                       _mm512_cvtps_pd(_mm512_castps512_ps256(d))));
  if (halves == 1) return;
  exp_lanes = _mm512_add_pd(exp_lanes, _mm512_cvtps_pd(high(e)));
  if constexpr (kWithGap)
    gap_lanes = _mm512_add_pd(gap_lanes, _mm512_mul_pd(_mm512_cvtps_pd(high(p)), _mm512_cvtps_pd(high(d))));
}

template <bool kWithGap>
inline ExpAndGapSums exp_and_gap_sums_avx512(const float *x, const float *p, int64_t n, float shift) {
  const __m512 shift16 = _mm512_set1_ps(shift);
  __m512d exp_lanes = _mm512_setzero_pd(), gap_lanes = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    add_exp_and_gap_terms<kWithGap>(_mm512_loadu_ps(x + i), kWithGap ? _mm512_loadu_ps(p + i) : shift16, shift16, 2,
                                    exp_lanes, gap_lanes);
  if (i + 8 <= n) {
    add_exp_and_gap_terms<kWithGap>(_mm512_maskz_loadu_ps(0x00FF, x + i),
                                    kWithGap ? _mm512_maskz_loadu_ps(0x00FF, p + i) : shift16, shift16, 1, exp_lanes,
                                    gap_lanes);
    i += 8;
  }
  alignas(64) double exp_lane[8], gap_lane[8];
  _mm512_store_pd(exp_lane, exp_lanes);
  _mm512_store_pd(gap_lane, gap_lanes);
  ExpAndGapSums s;
  for (int l = 0; l < 8; ++l) s.exp += exp_lane[l], s.gap += gap_lane[l];
  for (; i < n; ++i) {
    s.exp += static_cast<double>(fast_exp(x[i] - shift));
    if constexpr (kWithGap) s.gap += static_cast<double>(p[i]) * static_cast<double>(x[i] - shift);
  }
  return s;
}

}  // namespace detail
#elif defined(__AVX2__)
namespace detail {

// Eight terms at a time: lanes 0-3 in `low`, 4-7 in `high`, lane l getting terms l, 8 + l, ...
template <bool kWithGap>
inline ExpAndGapSums exp_and_gap_sums_avx2(const float *x, const float *p, int64_t n, float shift) {
  const __m256 shift8 = _mm256_set1_ps(shift);
  __m256d exp_low = _mm256_setzero_pd(), exp_high = exp_low, gap_low = exp_low, gap_high = exp_low;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), shift8);
    const __m256 e = fast_exp_8(d);
    exp_low = _mm256_add_pd(exp_low, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    exp_high = _mm256_add_pd(exp_high, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    if constexpr (kWithGap) {
      const __m256 pv = _mm256_loadu_ps(p + i);
      gap_low = _mm256_add_pd(gap_low, _mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(pv)),
                                                     _mm256_cvtps_pd(_mm256_castps256_ps128(d))));
      gap_high = _mm256_add_pd(gap_high, _mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(pv, 1)),
                                                       _mm256_cvtps_pd(_mm256_extractf128_ps(d, 1))));
    }
  }
  double exp_lane[8], gap_lane[8];
  _mm256_storeu_pd(exp_lane, exp_low);
  _mm256_storeu_pd(exp_lane + 4, exp_high);
  _mm256_storeu_pd(gap_lane, gap_low);
  _mm256_storeu_pd(gap_lane + 4, gap_high);
  ExpAndGapSums s;
  for (int l = 0; l < 8; ++l) s.exp += exp_lane[l], s.gap += gap_lane[l];
  for (; i < n; ++i) {
    s.exp += static_cast<double>(fast_exp(x[i] - shift));
    if constexpr (kWithGap) s.gap += static_cast<double>(p[i]) * static_cast<double>(x[i] - shift);
  }
  return s;
}

}  // namespace detail
#endif

// exp_and_gap_sums_ref's bits, one pass over x (and p).
inline ExpAndGapSums exp_and_gap_sums(const float *x, const float *p, int64_t n, float shift) {
#if defined(__AVX512F__)
  return p ? detail::exp_and_gap_sums_avx512<true>(x, p, n, shift)
           : detail::exp_and_gap_sums_avx512<false>(x, p, n, shift);
#elif defined(__AVX2__)
  return p ? detail::exp_and_gap_sums_avx2<true>(x, p, n, shift) : detail::exp_and_gap_sums_avx2<false>(x, p, n, shift);
#else
  return exp_and_gap_sums_ref(x, p, n, shift);
#endif
}

// sum_i e^(x[i] - shift), each term in float, the sum in double (as llama-perplexity sums).
inline double sum_exp_shifted_ref(const float *x, int64_t n, float shift) {
  return exp_and_gap_sums_ref(x, nullptr, n, shift).exp;
}
inline double sum_exp_shifted(const float *x, int64_t n, float shift) {
  return exp_and_gap_sums(x, nullptr, n, shift).exp;
}

}  // namespace qs
