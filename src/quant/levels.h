// Rounding to clamped integer levels, written once for the scalar references and once for the
// AVX-512 paths so that both give the same bits (NaN and signed zeros included). The scalar forms
// are QS_HOST_DEVICE: the GPU's k-quant kernels run them too.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/half.h"
#include "core/host_device.h"

#if defined(__AVX512F__)
// GCC 12 warns about the deliberately undefined source register inside permute and convert
// intrinsics once they are inlined; the warning points into this header's include of immintrin.h.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#endif

namespace qs {

// Clamp as x86 MAXPS then MINPS: a NaN becomes lo, and -0 > lo keeps -0 exactly like the vector form.
QS_HOST_DEVICE inline float clamp_level(float v, float lo, float hi) {
  v = v > lo ? v : lo;
  return v < hi ? v : hi;
}

// v rounded to the nearest integer, ties to even, for any float (infinities and NaN pass through):
// std::nearbyint in the default rounding mode on the CPU, rintf (the same rule) on the GPU.
QS_HOST_DEVICE inline float round_to_even(float v) {
#if defined(__CUDA_ARCH__)
  return rintf(v);
#else
  return std::nearbyint(v);
#endif
}

// Nearest level (ties to even, the default rounding mode) of v, clamped to lo..hi.
QS_HOST_DEVICE inline int nearest_level(float v, float lo, float hi) {
  return static_cast<int>(clamp_level(round_to_even(v), lo, hi));
}

// The value an f16 scale field will hold.
QS_HOST_DEVICE inline float round_to_f16(float v) { return f16_to_f32(f32_to_f16(v)); }

// 1/d, or 0 for a zero scale (every value of such a block quantizes to level 0).
QS_HOST_DEVICE inline float inverse_or_zero(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

#if defined(__AVX512F__)
inline __m512 round_even_ps(__m512 v) { return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline __m512 clamp_level_ps(__m512 v, __m512 lo, __m512 hi) { return _mm512_min_ps(_mm512_max_ps(v, lo), hi); }
// nearest_level for 16 values, as int32.
inline __m512i nearest_level_epi32(__m512 v, __m512 lo, __m512 hi) {
  return _mm512_cvttps_epi32(clamp_level_ps(round_even_ps(v), lo, hi));
}
#endif

}  // namespace qs
