// Marks the functions that run both on the CPU and inside CUDA kernels: nvcc compiles them for both
// sides, a plain C++ compiler sees ordinary inline functions. The quantizers' scalar references are
// written this way so that the GPU runs the very code the CPU's fast paths are tested against.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define QS_HOST_DEVICE __host__ __device__
#else
#define QS_HOST_DEVICE
#endif

namespace qs {

// The bits of a float and back (std::bit_cast, which nvcc's C++17 does not have).
QS_HOST_DEVICE inline uint32_t float_bits(float f) {
  uint32_t bits;
  memcpy(&bits, &f, sizeof bits);
  return bits;
}
QS_HOST_DEVICE inline float float_from_bits(uint32_t bits) {
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

}  // namespace qs
