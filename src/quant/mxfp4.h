// MXFP4 (OCP microscaling FP4): 32 E2M1 values sharing one E8M0 power-of-two scale: block layout
// and kernels. Each function as QuantizeRowsFn / DequantizeFn in quant/types.h: quantize_mxfp4
// (fast path) and quantize_mxfp4_ref (scalar reference, bit-identical), and the same for
// dequantization.
#pragma once

#include <bit>
#include <cstdint>

namespace qs {

// Field for field ggml's block_mxfp4: e (E8M0), then 4-bit codes: value j in the low nibble of
// qs[j], value j + 16 in the high nibble (j < 16). value = kMxfp4Values[code] · e8m0_half(e).
struct BlockMXFP4 {
  uint8_t e;
  uint8_t qs[16];
};
static_assert(sizeof(BlockMXFP4) == 17);

// The E2M1 values doubled (0, ±0.5, ±1, ±1.5, ±2, ±3, ±4, ±6 times 2), ggml's kvalues_mxfp4.
inline constexpr int8_t kMxfp4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// Half the E8M0 scale 2^(e - 127), as ggml's ggml_e8m0_to_fp32_half computes it bit for bit
// (e 0 and 1 give the subnormals 2^-128 and 2^-127; 255, NaN in the OCP format, gives 2^127).
inline float e8m0_to_f32_half(uint8_t e) {
  const uint32_t bits = e < 2 ? 0x00200000u << e : static_cast<uint32_t>(e - 1) << 23;
  return std::bit_cast<float>(bits);
}

void quantize_mxfp4(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void quantize_mxfp4_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance);
void dequantize_mxfp4(const void *src, float *dst, int64_t n);
void dequantize_mxfp4_ref(const void *src, float *dst, int64_t n);

}  // namespace qs
