// TQ1_0 and TQ2_0: 256 values in {-1, 0, 1} times an f16 scale, packed five trits per byte in
// base 3 (TQ1_0) or four 2-bit codes per byte (TQ2_0). Quantization searches the scale (ggml takes
// the block's largest magnitude, right for models trained ternary; the search includes that
// candidate, so those come back exactly, and finds far better scales for other weights);
// dequantization is bit for bit ggml's dequantize_row_tq1_0 / dequantize_row_tq2_0.
#include "quant/ternary.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/half.h"
#include "quant/codes.h"
#include "quant/importance.h"
#include "quant/levels.h"
#include "quant/scale_search.h"

namespace qs {
namespace {

constexpr int kBlock = 256;
constexpr int64_t kChunkBlocks = 64;

// Targets for the block's largest magnitude: 1 is ggml's d = max|x|; ordinary weights want the
// largest value 2-8 steps out (a ternary scale near the mean magnitude).
constexpr auto kTargetsPlain = even_targets<12>(1.0f, 6.5f);
constexpr auto kTargetsWeighted = even_targets<14>(1.0f, 8.0f);
const SymmetricSearch kSearchPlain{-1, 1, kTargetsPlain, 2};
const SymmetricSearch kSearchWeighted{-1, 1, kTargetsWeighted, 2};

// Floor of the importance weights (see importance.h).
constexpr float kImportanceFloor = 0.45f;

// Byte holding trits t[0] (most significant) .. t[4]: ceil(Σ t·3^(4-n) · 256 / 243), so that
// multiplying by 3^n (mod 256) brings trit n to the top: (byte·3^n mod 256)·3 >> 8.
uint8_t pack_trits(const uint8_t *t, int count, int stride) {
  int q = 0;
  for (int n = 0; n < 5; ++n) q = q * 3 + (n < count ? t[n * stride] : 0);
  return static_cast<uint8_t>((q * 256 + 242) / 243);
}

void store_tq1_0(const float *x, float scale, bool fast, BlockTQ1_0 &b) {
  b.d = f32_to_f16(scale);
  uint8_t trits[kBlock];  // level + 1: 0, 1, 2
  nearest_codes(x, kBlock, f16_to_f32(b.d), 0.0f, -1.0f, 1.0f, trits, fast);
  for (int m = 0; m < 32; ++m) b.qs[m] = pack_trits(trits + m, 5, 32);              // values m + 32n
  for (int m = 0; m < 16; ++m) b.qs[32 + m] = pack_trits(trits + 160 + m, 5, 16);  // 160 + m + 16n
  for (int j = 0; j < 4; ++j) b.qh[j] = pack_trits(trits + 240 + j, 4, 4);         // 240 + j + 4n
}

void store_tq2_0(const float *x, float scale, bool fast, BlockTQ2_0 &b) {
  b.d = f32_to_f16(scale);
  uint8_t codes[kBlock];  // level + 1: 0, 1, 2
  nearest_codes(x, kBlock, f16_to_f32(b.d), 0.0f, -1.0f, 1.0f, codes, fast);
  // value 128h + 32k + l at bits 2k..2k+1 of qs[32h + l]
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t *c = codes + 128 * h + l;
      b.qs[32 * h + l] = static_cast<uint8_t>(c[0] | (c[32] << 2) | (c[64] << 4) | (c[96] << 6));
    }
  }
}

template <class Block>
void quantize_rows(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance, bool fast,
                   void (*store)(const float *, float, bool, Block &)) {
  const int64_t n_blocks = n_per_row / kBlock;
  const SymmetricSearch &search = importance ? kSearchWeighted : kSearchPlain;
  const std::vector<float> weights =
      importance ? floored_importance(importance, n_per_row, kImportanceFloor) : std::vector<float>();
  auto *blocks = static_cast<Block *>(dst);
  float scales[kChunkBlocks];
  for (int64_t row = 0; row < n_rows; ++row) {
    for (int64_t b0 = 0; b0 < n_blocks; b0 += kChunkBlocks) {
      const int64_t count = std::min(kChunkBlocks, n_blocks - b0);
      const float *x = src + row * n_per_row + b0 * kBlock;
      const float *w = importance ? weights.data() + b0 * kBlock : nullptr;
      if (fast) {
        best_symmetric_scales(x, w, kBlock, count, search, scales);
      } else {
        best_symmetric_scales_ref(x, w, kBlock, count, search, scales);
      }
      for (int64_t b = 0; b < count; ++b) store(x + b * kBlock, scales[b], fast, blocks[row * n_blocks + b0 + b]);
    }
  }
}

// Trit n (0 = most significant) of a packed byte, as ggml reads it.
inline int trit(uint8_t byte, int n) {
  static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  const uint8_t q = static_cast<uint8_t>(byte * kPow3[n]);
  return (q * 3) >> 8;
}

}  // namespace

void quantize_tq1_0(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<BlockTQ1_0>(src, dst, n_rows, n_per_row, importance, true, store_tq1_0);
}

void quantize_tq1_0_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<BlockTQ1_0>(src, dst, n_rows, n_per_row, importance, false, store_tq1_0);
}

void quantize_tq2_0(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<BlockTQ2_0>(src, dst, n_rows, n_per_row, importance, true, store_tq2_0);
}

void quantize_tq2_0_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<BlockTQ2_0>(src, dst, n_rows, n_per_row, importance, false, store_tq2_0);
}

void dequantize_tq1_0_ref(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockTQ1_0 *>(src);
  for (int64_t i = 0; i < n / kBlock; ++i) {
    const BlockTQ1_0 &b = blocks[i];
    const float d = f16_to_f32(b.d);
    float *y = dst + i * kBlock;
    for (int n5 = 0; n5 < 5; ++n5) {
      for (int m = 0; m < 32; ++m) y[32 * n5 + m] = static_cast<float>(trit(b.qs[m], n5) - 1) * d;
      for (int m = 0; m < 16; ++m) y[160 + 16 * n5 + m] = static_cast<float>(trit(b.qs[32 + m], n5) - 1) * d;
    }
    for (int n4 = 0; n4 < 4; ++n4) {
      for (int j = 0; j < 4; ++j) y[240 + 4 * n4 + j] = static_cast<float>(trit(b.qh[j], n4) - 1) * d;
    }
  }
}

void dequantize_tq2_0_ref(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockTQ2_0 *>(src);
  for (int64_t i = 0; i < n / kBlock; ++i) {
    const BlockTQ2_0 &b = blocks[i];
    const float d = f16_to_f32(b.d);
    float *y = dst + i * kBlock;
    // Value 128h + 32k + l: code (qs[32h + l] >> 2k) & 3.
    for (int h = 0; h < 2; ++h) {
      for (int k = 0; k < 4; ++k) {
        for (int l = 0; l < 32; ++l) {
          y[128 * h + 32 * k + l] = static_cast<float>(((b.qs[32 * h + l] >> (2 * k)) & 3) - 1) * d;
        }
      }
    }
  }
}

#if defined(__AVX512F__)
namespace {

// Trit n of 16 bytes (widened to int32), minus 1, times d.
inline __m512 trit_values(__m512i bytes, int pow3, __m512 d) {
  const __m512i q = _mm512_and_si512(_mm512_mullo_epi32(bytes, _mm512_set1_epi32(pow3)), _mm512_set1_epi32(0xFF));
  const __m512i t = _mm512_srli_epi32(_mm512_mullo_epi32(q, _mm512_set1_epi32(3)), 8);
  return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(t, _mm512_set1_epi32(1))), d);
}

inline __m512i load_bytes(const uint8_t *p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p))); }

}  // namespace

void dequantize_tq1_0(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockTQ1_0 *>(src);
  static constexpr int kPow3[5] = {1, 3, 9, 27, 81};
  for (int64_t i = 0; i < n / kBlock; ++i) {
    const BlockTQ1_0 &b = blocks[i];
    const __m512 d = _mm512_set1_ps(_cvtsh_ss(b.d));
    float *y = dst + i * kBlock;
    const __m512i a0 = load_bytes(b.qs), a1 = load_bytes(b.qs + 16), c = load_bytes(b.qs + 32);
    for (int n5 = 0; n5 < 5; ++n5) {
      _mm512_storeu_ps(y + 32 * n5, trit_values(a0, kPow3[n5], d));
      _mm512_storeu_ps(y + 32 * n5 + 16, trit_values(a1, kPow3[n5], d));
      _mm512_storeu_ps(y + 160 + 16 * n5, trit_values(c, kPow3[n5], d));
    }
    // The last 16 values: qh[j] trit n4 is value 240 + 4·n4 + j; lane 4·n4 + j reads byte j with 3^n4.
    alignas(64) int32_t bytes[16], pow3[16];
    for (int lane = 0; lane < 16; ++lane) {
      bytes[lane] = b.qh[lane % 4];
      pow3[lane] = kPow3[lane / 4];
    }
    const __m512i q = _mm512_and_si512(_mm512_mullo_epi32(_mm512_load_si512(bytes), _mm512_load_si512(pow3)),
                                       _mm512_set1_epi32(0xFF));
    const __m512i t = _mm512_srli_epi32(_mm512_mullo_epi32(q, _mm512_set1_epi32(3)), 8);
    _mm512_storeu_ps(y + 240, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(t, _mm512_set1_epi32(1))), d));
  }
}

void dequantize_tq2_0(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockTQ2_0 *>(src);
  const __m512i two_bits = _mm512_set1_epi32(3), one = _mm512_set1_epi32(1);
  for (int64_t i = 0; i < n / kBlock; ++i) {
    const BlockTQ2_0 &b = blocks[i];
    const __m512 d = _mm512_set1_ps(_cvtsh_ss(b.d));
    float *y = dst + i * kBlock;
    for (int h = 0; h < 2; ++h) {
      for (int half = 0; half < 2; ++half) {
        const __m512i qs = load_bytes(b.qs + 32 * h + 16 * half);
        for (int k = 0; k < 4; ++k) {
          const __m512i q = _mm512_sub_epi32(_mm512_and_si512(_mm512_srli_epi32(qs, 2 * k), two_bits), one);
          _mm512_storeu_ps(y + 128 * h + 32 * k + 16 * half, _mm512_mul_ps(_mm512_cvtepi32_ps(q), d));
        }
      }
    }
  }
}
#else
void dequantize_tq1_0(const void *src, float *dst, int64_t n) { dequantize_tq1_0_ref(src, dst, n); }
void dequantize_tq2_0(const void *src, float *dst, int64_t n) { dequantize_tq2_0_ref(src, dst, n); }
#endif

}  // namespace qs
