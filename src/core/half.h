// IEEE binary16 (F16) and bfloat16 (BF16) conversions. Rounding is round-to-nearest-even, as
// ggml's F16C path and its scalar fallback do, so values we store mean the same to llama.cpp.
#pragma once

#include <cstdint>

#include "core/host_device.h"

namespace qs {

QS_HOST_DEVICE inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    // Inf, or NaN made quiet with its payload kept (what F16C's vcvtph2ps does).
    bits = sign | 0x7f800000u | (mantissa << 13) | (mantissa != 0 ? 0x00400000u : 0u);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal: renormalise into an f32 normal.
    uint32_t e = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --e;
    }
    bits = sign | (e << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return float_from_bits(bits);
}

QS_HOST_DEVICE inline uint16_t f32_to_f16(float f) {
  const uint32_t x = float_bits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t abs_bits = x & 0x7fffffffu;
  if (abs_bits >= 0x7f800000u) {  // Inf or NaN (NaN stays quiet NaN)
    return sign | (abs_bits > 0x7f800000u ? 0x7e00u : 0x7c00u);
  }
  if (abs_bits >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65520: overflow to Inf
  if (abs_bits < 0x38800000u) {
    // Result is subnormal (or zero) in f16: shift the full mantissa into place, round to even.
    if (abs_bits < 0x33000000u) return sign;  // below half the smallest subnormal
    const uint32_t exponent = abs_bits >> 23;
    const uint32_t mantissa = (abs_bits & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - exponent;  // 14..24
    uint32_t value = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (value & 1u))) ++value;
    return sign | static_cast<uint16_t>(value);
  }
  // Normal: rebias the exponent, round the 13 dropped mantissa bits to even.
  uint32_t value = ((abs_bits >> 13) - (112u << 10));
  const uint32_t rest = abs_bits & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (value & 1u))) ++value;
  return sign | static_cast<uint16_t>(value);
}

QS_HOST_DEVICE inline float bf16_to_f32(uint16_t h) { return float_from_bits(static_cast<uint32_t>(h) << 16); }

QS_HOST_DEVICE inline uint16_t f32_to_bf16(float f) {
  const uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 64u);  // quiet NaN
  return static_cast<uint16_t>((x + (0x7fffu + ((x >> 16) & 1u))) >> 16);
}

// Bulk conversions (vectorised with F16C where the CPU has it; identical results to the above).
void f16_to_f32_row(const uint16_t *src, float *dst, int64_t n);
void f32_to_f16_row(const float *src, uint16_t *dst, int64_t n);
void bf16_to_f32_row(const uint16_t *src, float *dst, int64_t n);
void f32_to_bf16_row(const float *src, uint16_t *dst, int64_t n);

}  // namespace qs
