// Q4_K and Q5_K: 8 sub-blocks of 32 values at 4 or 5 bits, 6-bit sub-block scales and mins under
// f16 super scales (the two differ only in the fifth bit, kept in qh). Quantization fits each
// sub-block's scale and min, picks the integer scales and mins by exact error, then stores nearest
// levels; dequantization is bit for bit ggml's dequantize_row_q4_K / dequantize_row_q5_K.
#include <cstring>

#include "core/half.h"
#include "quant/codes.h"
#include "quant/kquants.h"
#include "quant/kquants_common.h"
#include "quant/levels.h"

namespace qs {
namespace {

// Sub-block fits: ggml tries 21 targets in nmax ± 1 (16 in -0.5..+1 for Q5_K), or 37 in nmax ± 0.9
// with an imatrix; we refit every candidate by least squares and also shift the zero point.
constexpr auto kQ4SubTargetsPlain = even_targets<6>(14.0f, 16.0f);
constexpr auto kQ4SubTargetsWeighted = even_targets<12>(12.5f, 16.5f);
constexpr auto kQ5SubTargetsPlain = even_targets<6>(30.0f, 32.0f);
constexpr auto kQ5SubTargetsWeighted = even_targets<12>(28.5f, 32.5f);
constexpr auto kShiftsPlain = even_targets<3>(-0.3f, 0.3f);
constexpr auto kShiftsWeighted = even_targets<5>(-0.4f, 0.4f);
const AffineSearch kQ4SubSearchPlain{15, kQ4SubTargetsPlain, kShiftsPlain, 2, true};
const AffineSearch kQ4SubSearchWeighted{15, kQ4SubTargetsWeighted, kShiftsWeighted, 3, true};
const AffineSearch kQ5SubSearchPlain{31, kQ5SubTargetsPlain, kShiftsPlain, 2, true};
const AffineSearch kQ5SubSearchWeighted{31, kQ5SubTargetsWeighted, kShiftsWeighted, 3, true};

// The largest sub-block scale and min map to 63 (ggml) or a little short of it.
constexpr auto kScaleTargets = even_targets<4>(63.0f, 60.0f);
constexpr auto kMinTargets = even_targets<3>(63.0f, 61.0f);
const AffineSuperSearch kQ4SuperSearchPlain{63, 15.0f, kScaleTargets, kMinTargets, 2, 2};
const AffineSuperSearch kQ4SuperSearchWeighted{63, 15.0f, kScaleTargets, kMinTargets, 4, 4};
const AffineSuperSearch kQ5SuperSearchPlain{63, 31.0f, kScaleTargets, kMinTargets, 2, 2};
const AffineSuperSearch kQ5SuperSearchWeighted{63, 31.0f, kScaleTargets, kMinTargets, 4, 4};

// Chooses the super-block's scales and writes d, dmin, the packed scales and the codes (0..nmax).
void choose_and_code(const float *x, const float *w, const AffineFit *fits, bool fast, const AffineSuperSearch &search,
                     uint16_t &d_bits, uint16_t &dmin_bits, uint8_t packed_scales[12], uint8_t codes[kSuperBlock]) {
  const BlockErrors errors(x, w, 32, 8, fast);
  const AffineSuperScales chosen = choose_affine_super_scales(fits, 8, errors, search);
  d_bits = chosen.d;
  dmin_bits = chosen.dmin;
  const float d = f16_to_f32(chosen.d), dmin = f16_to_f32(chosen.dmin);
  uint8_t scales[8], mins[8];
  for (int s = 0; s < 8; ++s) {
    scales[s] = static_cast<uint8_t>(chosen.scale[s]);
    mins[s] = static_cast<uint8_t>(chosen.min[s]);
    const float m = dmin * static_cast<float>(chosen.min[s]);
    nearest_codes(x + 32 * s, 32, d * static_cast<float>(chosen.scale[s]), -m, 0.0f, search.nmax, codes + 32 * s, fast);
  }
  pack_scales_mins_k4(scales, mins, packed_scales);
}

// Low nibbles: value 64c + l in the low half of qs[32c + l], 64c + 32 + l in its high half.
void pack_nibbles_k(const uint8_t codes[kSuperBlock], uint8_t qs[128]) {
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      qs[32 * c + l] = static_cast<uint8_t>((codes[64 * c + l] & 0xF) | ((codes[64 * c + 32 + l] & 0xF) << 4));
    }
  }
}

void store_q4_K(const float *x, const float *w, const AffineFit *fits, bool fast, BlockQ4_K &b) {
  uint8_t codes[kSuperBlock];
  choose_and_code(x, w, fits, fast, w ? kQ4SuperSearchWeighted : kQ4SuperSearchPlain, b.d, b.dmin, b.scales, codes);
  pack_nibbles_k(codes, b.qs);
}

void store_q5_K(const float *x, const float *w, const AffineFit *fits, bool fast, BlockQ5_K &b) {
  uint8_t codes[kSuperBlock];
  choose_and_code(x, w, fits, fast, w ? kQ5SuperSearchWeighted : kQ5SuperSearchPlain, b.d, b.dmin, b.scales, codes);
  pack_nibbles_k(codes, b.qs);
  std::memset(b.qh, 0, sizeof(b.qh));
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      b.qh[l] |= static_cast<uint8_t>(((codes[64 * c + l] >> 4) & 1) << (2 * c));
      b.qh[l] |= static_cast<uint8_t>(((codes[64 * c + 32 + l] >> 4) & 1) << (2 * c + 1));
    }
  }
}

template <class Block>
void quantize_rows(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance, bool fast,
                   const AffineSearch &plain, const AffineSearch &weighted,
                   void (*store)(const float *, const float *, const AffineFit *, bool, Block &)) {
  auto *blocks = static_cast<Block *>(dst);
  const int64_t n_super = n_per_row / kSuperBlock;
  for_each_affine_super_block(src, n_rows, n_per_row, importance, 32, importance ? weighted : plain, fast,
                              [&](int64_t row, int64_t sb, const float *x, const float *w, const AffineFit *fits) {
                                store(x, w, fits, fast, blocks[row * n_super + sb]);
                              });
}

// The sub-block scale (d·scale) and min (dmin·min) of each of the 8 sub-blocks.
void sub_block_scales(uint16_t d_bits, uint16_t dmin_bits, const uint8_t packed[12], float dl[8], float ml[8]) {
  const float d = f16_to_f32(d_bits), dmin = f16_to_f32(dmin_bits);
  for (int s = 0; s < 8; ++s) {
    uint8_t scale, min;
    unpack_scale_min_k4(s, packed, scale, min);
    dl[s] = d * static_cast<float>(scale);
    ml[s] = dmin * static_cast<float>(min);
  }
}

}  // namespace

void quantize_q4_K(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<BlockQ4_K>(src, dst, n_rows, n_per_row, importance, true, kQ4SubSearchPlain, kQ4SubSearchWeighted, store_q4_K);
}

void quantize_q4_K_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<BlockQ4_K>(src, dst, n_rows, n_per_row, importance, false, kQ4SubSearchPlain, kQ4SubSearchWeighted, store_q4_K);
}

void quantize_q5_K(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<BlockQ5_K>(src, dst, n_rows, n_per_row, importance, true, kQ5SubSearchPlain, kQ5SubSearchWeighted, store_q5_K);
}

void quantize_q5_K_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  quantize_rows<BlockQ5_K>(src, dst, n_rows, n_per_row, importance, false, kQ5SubSearchPlain, kQ5SubSearchWeighted, store_q5_K);
}

void dequantize_q4_K_ref(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ4_K *>(src);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    const BlockQ4_K &b = blocks[i];
    float dl[8], ml[8];
    sub_block_scales(b.d, b.dmin, b.scales, dl, ml);
    float *y = dst + i * kSuperBlock;
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q = b.qs[32 * c + l];
        y[64 * c + l] = dl[2 * c] * static_cast<float>(q & 0xF) - ml[2 * c];
        y[64 * c + 32 + l] = dl[2 * c + 1] * static_cast<float>(q >> 4) - ml[2 * c + 1];
      }
    }
  }
}

void dequantize_q5_K_ref(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ5_K *>(src);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    const BlockQ5_K &b = blocks[i];
    float dl[8], ml[8];
    sub_block_scales(b.d, b.dmin, b.scales, dl, ml);
    float *y = dst + i * kSuperBlock;
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q = b.qs[32 * c + l];
        const int low = (q & 0xF) + (((b.qh[l] >> (2 * c)) & 1) << 4);
        const int high = (q >> 4) + (((b.qh[l] >> (2 * c + 1)) & 1) << 4);
        y[64 * c + l] = dl[2 * c] * static_cast<float>(low) - ml[2 * c];
        y[64 * c + 32 + l] = dl[2 * c + 1] * static_cast<float>(high) - ml[2 * c + 1];
      }
    }
  }
}

#if defined(__AVX512F__)
namespace {

// 32 values (one sub-block) from 32 code bytes already widened: y = dl·q - ml.
inline void store_affine(float *y, __m512i q0, __m512i q1, float dl, float ml) {
  const __m512 vd = _mm512_set1_ps(dl), vm = _mm512_set1_ps(ml);
  _mm512_storeu_ps(y, _mm512_sub_ps(_mm512_mul_ps(vd, _mm512_cvtepi32_ps(q0)), vm));
  _mm512_storeu_ps(y + 16, _mm512_sub_ps(_mm512_mul_ps(vd, _mm512_cvtepi32_ps(q1)), vm));
}

inline __m512i load_bytes(const uint8_t *p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p))); }

}  // namespace

void dequantize_q4_K(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ4_K *>(src);
  const __m512i nibble = _mm512_set1_epi32(0xF);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    const BlockQ4_K &b = blocks[i];
    float dl[8], ml[8];
    sub_block_scales(b.d, b.dmin, b.scales, dl, ml);
    float *y = dst + i * kSuperBlock;
    for (int c = 0; c < 4; ++c) {
      const __m512i q0 = load_bytes(b.qs + 32 * c), q1 = load_bytes(b.qs + 32 * c + 16);
      store_affine(y + 64 * c, _mm512_and_si512(q0, nibble), _mm512_and_si512(q1, nibble), dl[2 * c], ml[2 * c]);
      store_affine(y + 64 * c + 32, _mm512_srli_epi32(q0, 4), _mm512_srli_epi32(q1, 4), dl[2 * c + 1], ml[2 * c + 1]);
    }
  }
}

void dequantize_q5_K(const void *src, float *dst, int64_t n) {
  const auto *blocks = static_cast<const BlockQ5_K *>(src);
  const __m512i nibble = _mm512_set1_epi32(0xF), sixteen = _mm512_set1_epi32(16);
  for (int64_t i = 0; i < n / kSuperBlock; ++i) {
    const BlockQ5_K &b = blocks[i];
    float dl[8], ml[8];
    sub_block_scales(b.d, b.dmin, b.scales, dl, ml);
    const __m512i qh0 = load_bytes(b.qh), qh1 = load_bytes(b.qh + 16);
    float *y = dst + i * kSuperBlock;
    for (int c = 0; c < 4; ++c) {
      const __m512i q0 = load_bytes(b.qs + 32 * c), q1 = load_bytes(b.qs + 32 * c + 16);
      const __m512i low_bit = _mm512_set1_epi32(1 << (2 * c)), high_bit = _mm512_set1_epi32(1 << (2 * c + 1));
      auto with_fifth = [&](__m512i v, __m512i qh, __m512i bit) {
        return _mm512_mask_or_epi32(v, _mm512_test_epi32_mask(qh, bit), v, sixteen);
      };
      store_affine(y + 64 * c, with_fifth(_mm512_and_si512(q0, nibble), qh0, low_bit),
                   with_fifth(_mm512_and_si512(q1, nibble), qh1, low_bit), dl[2 * c], ml[2 * c]);
      store_affine(y + 64 * c + 32, with_fifth(_mm512_srli_epi32(q0, 4), qh0, high_bit),
                   with_fifth(_mm512_srli_epi32(q1, 4), qh1, high_bit), dl[2 * c + 1], ml[2 * c + 1]);
    }
  }
}
#else
void dequantize_q4_K(const void *src, float *dst, int64_t n) { dequantize_q4_K_ref(src, dst, n); }
void dequantize_q5_K(const void *src, float *dst, int64_t n) { dequantize_q5_K_ref(src, dst, n); }
#endif

}  // namespace qs
