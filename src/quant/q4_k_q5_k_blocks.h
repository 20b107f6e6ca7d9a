// Q4_K and Q5_K block by block: the searches, the encoding of one super-block and the reference
// decoders. The same code runs on the CPU (q4_k_q5_k.cpp, which searches a row's sub-blocks in
// batches and may take the AVX-512 forms of the errors and codes, with the same bits) and in the
// GPU's quantizer kernels (gpu/quantize_kernels.cu, one super-block per thread), which is why
// everything here is QS_HOST_DEVICE and free of the standard library.
#pragma once

#include <cstdint>

#include "core/half.h"
#include "core/host_device.h"
#include "quant/block_errors.h"
#include "quant/codes.h"
#include "quant/kquants.h"
#include "quant/kquants_common.h"
#include "quant/scale_search.h"

namespace qs::q4_k_q5_k {

constexpr int kSubBlock = 32;
constexpr int kSubBlocks = kSuperBlock / kSubBlock;

// Sub-block fits (kBits 4 or 5): ggml tries 21 targets in nmax ± 1 (16 in -0.5..+1 for Q5_K), or 37
// in nmax ± 0.9 with an imatrix; we refit every candidate by least squares and also shift the zero
// point.
template <int kBits>
QS_HOST_DEVICE constexpr AffineSearch sub_search(bool weighted) {
  static_assert(kBits == 4 || kBits == 5);
  if (kBits == 4) {
    return weighted ? AffineSearch{15, even_targets<12>(12.5f, 16.5f), even_targets<5>(-0.4f, 0.4f), 3, true}
                    : AffineSearch{15, even_targets<6>(14.0f, 16.0f), even_targets<3>(-0.3f, 0.3f), 2, true};
  }
  return weighted ? AffineSearch{31, even_targets<12>(28.5f, 32.5f), even_targets<5>(-0.4f, 0.4f), 3, true}
                  : AffineSearch{31, even_targets<6>(30.0f, 32.0f), even_targets<3>(-0.3f, 0.3f), 2, true};
}

// The largest sub-block scale and min map to 63 (ggml) or a little short of it.
template <int kBits>
QS_HOST_DEVICE constexpr AffineSuperSearch super_search(bool weighted) {
  return {63, kBits == 4 ? 15.0f : 31.0f, even_targets<4>(63.0f, 60.0f), even_targets<3>(63.0f, 61.0f),
          weighted ? 4 : 2, weighted ? 4 : 2};
}

// Chooses the super-block's scales from its 8 sub-block fits (errors: BlockErrorsRef or
// BlockErrors over x and its weights, 8 blocks of 32) and writes d, dmin, the packed scales and the
// codes (0..nmax; codes_of: NearestCodesRef or NearestCodes).
template <class Errors, class Codes>
QS_HOST_DEVICE void choose_and_code(const float *x, const AffineFit *fits, const Errors &errors, const Codes &codes_of,
                                    const AffineSuperSearch &search, uint16_t &d_bits, uint16_t &dmin_bits,
                                    uint8_t packed_scales[12], uint8_t codes[kSuperBlock]) {
  const AffineSuperScales chosen = choose_affine_super_scales(fits, kSubBlocks, errors, search);
  d_bits = chosen.d;
  dmin_bits = chosen.dmin;
  const float d = f16_to_f32(chosen.d), dmin = f16_to_f32(chosen.dmin);
  uint8_t scales[kSubBlocks], mins[kSubBlocks];
  for (int s = 0; s < kSubBlocks; ++s) {
    scales[s] = static_cast<uint8_t>(chosen.scale[s]);
    mins[s] = static_cast<uint8_t>(chosen.min[s]);
    const float m = dmin * static_cast<float>(chosen.min[s]);
    codes_of(x + kSubBlock * s, kSubBlock, d * static_cast<float>(chosen.scale[s]), -m, 0.0f, search.nmax,
             codes + kSubBlock * s);
  }
  pack_scales_mins_k4(scales, mins, packed_scales);
}

// Low nibbles: value 64c + l in the low half of qs[32c + l], 64c + 32 + l in its high half.
QS_HOST_DEVICE inline void pack_nibbles(const uint8_t codes[kSuperBlock], uint8_t qs[128]) {
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      qs[32 * c + l] = static_cast<uint8_t>((codes[64 * c + l] & 0xF) | ((codes[64 * c + 32 + l] & 0xF) << 4));
    }
  }
}

// One super-block of 256 values x from its 8 sub-block fits (sub_search's).
template <class Errors, class Codes>
QS_HOST_DEVICE void encode_block(const float *x, const AffineFit *fits, const Errors &errors, const Codes &codes_of,
                                 const AffineSuperSearch &search, BlockQ4_K &b) {
  uint8_t codes[kSuperBlock];
  choose_and_code(x, fits, errors, codes_of, search, b.d, b.dmin, b.scales, codes);
  pack_nibbles(codes, b.qs);
}

template <class Errors, class Codes>
QS_HOST_DEVICE void encode_block(const float *x, const AffineFit *fits, const Errors &errors, const Codes &codes_of,
                                 const AffineSuperSearch &search, BlockQ5_K &b) {
  uint8_t codes[kSuperBlock];
  choose_and_code(x, fits, errors, codes_of, search, b.d, b.dmin, b.scales, codes);
  pack_nibbles(codes, b.qs);
  for (int l = 0; l < 32; ++l) b.qh[l] = 0;
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      b.qh[l] |= static_cast<uint8_t>(((codes[64 * c + l] >> 4) & 1) << (2 * c));
      b.qh[l] |= static_cast<uint8_t>(((codes[64 * c + 32 + l] >> 4) & 1) << (2 * c + 1));
    }
  }
}

// One super-block by the scalar references alone, its sub-blocks searched one by one (the CPU
// searches a row's in batches: the same fits, as each reads only its own values). w: the 256
// floored importance weights (importance_floor, kKQuantImportanceFloor), or null. Block: BlockQ4_K
// or BlockQ5_K.
template <int kBits, class Block>
QS_HOST_DEVICE void encode_block_ref(const float *x, const float *w, Block &b) {
  const bool weighted = w != nullptr;
  const AffineSearch search = sub_search<kBits>(weighted);
  AffineFit fits[kSubBlocks];
  for (int s = 0; s < kSubBlocks; ++s) {
    fits[s] = best_affine_fit(x + kSubBlock * s, weighted ? w + kSubBlock * s : nullptr, kSubBlock, search);
  }
  encode_block(x, fits, BlockErrorsRef(x, w, kSubBlock, kSubBlocks), NearestCodesRef{}, super_search<kBits>(weighted),
               b);
}

// The sub-block scale (d·scale) and min (dmin·min) of each of the 8 sub-blocks.
QS_HOST_DEVICE inline void sub_block_scales(uint16_t d_bits, uint16_t dmin_bits, const uint8_t packed[12], float dl[8],
                                            float ml[8]) {
  const float d = f16_to_f32(d_bits), dmin = f16_to_f32(dmin_bits);
  for (int s = 0; s < kSubBlocks; ++s) {
    uint8_t scale, min;
    unpack_scale_min_k4(s, packed, scale, min);
    dl[s] = d * static_cast<float>(scale);
    ml[s] = dmin * static_cast<float>(min);
  }
}

// ggml's dequantize_row_q4_K and dequantize_row_q5_K for one block, bit for bit.
QS_HOST_DEVICE inline void decode_block(const BlockQ4_K &b, float *y) {
  float dl[kSubBlocks], ml[kSubBlocks];
  sub_block_scales(b.d, b.dmin, b.scales, dl, ml);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t q = b.qs[32 * c + l];
      y[64 * c + l] = dl[2 * c] * static_cast<float>(q & 0xF) - ml[2 * c];
      y[64 * c + 32 + l] = dl[2 * c + 1] * static_cast<float>(q >> 4) - ml[2 * c + 1];
    }
  }
}

QS_HOST_DEVICE inline void decode_block(const BlockQ5_K &b, float *y) {
  float dl[kSubBlocks], ml[kSubBlocks];
  sub_block_scales(b.d, b.dmin, b.scales, dl, ml);
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

}  // namespace qs::q4_k_q5_k
