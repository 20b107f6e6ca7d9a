// F32, F16 and BF16 "quantization": element-wise conversion. Importance weights do not apply.
#include "quant/float_types.h"

#include <cstring>

#include "core/half.h"

namespace qs {

void quantize_f32(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *) {
  std::memcpy(dst, src, static_cast<size_t>(n_rows * n_per_row) * sizeof(float));
}
void quantize_f32_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_f32(src, dst, n_rows, n_per_row, importance);
}
void dequantize_f32(const void *src, float *dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}
void dequantize_f32_ref(const void *src, float *dst, int64_t n) { dequantize_f32(src, dst, n); }

void quantize_f16(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *) {
  f32_to_f16_row(src, static_cast<uint16_t *>(dst), n_rows * n_per_row);
}
void quantize_f16_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *) {
  auto *out = static_cast<uint16_t *>(dst);
  for (int64_t i = 0; i < n_rows * n_per_row; ++i) out[i] = f32_to_f16(src[i]);
}
void dequantize_f16(const void *src, float *dst, int64_t n) {
  f16_to_f32_row(static_cast<const uint16_t *>(src), dst, n);
}
void dequantize_f16_ref(const void *src, float *dst, int64_t n) {
  const auto *in = static_cast<const uint16_t *>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(in[i]);
}

void quantize_bf16(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *) {
  f32_to_bf16_row(src, static_cast<uint16_t *>(dst), n_rows * n_per_row);
}
void quantize_bf16_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_bf16(src, dst, n_rows, n_per_row, importance);
}
void dequantize_bf16(const void *src, float *dst, int64_t n) {
  bf16_to_f32_row(static_cast<const uint16_t *>(src), dst, n);
}
void dequantize_bf16_ref(const void *src, float *dst, int64_t n) { dequantize_bf16(src, dst, n); }

}  // namespace qs
