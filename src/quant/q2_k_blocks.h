// Q2_K block by block: the searches, the encoding of one super-block and the reference decoder. The
// same code runs on the CPU (q2_k.cpp, which searches a row's sub-blocks in batches and may take the
// AVX-512 forms of the errors and codes, with the same bits) and in the GPU's quantizer kernels
// (gpu/quantize_kernels.cu, one super-block per thread), which is why everything here is
// QS_HOST_DEVICE and free of the standard library.
#pragma once

#include <cstdint>

#include "core/half.h"
#include "core/host_device.h"
#include "quant/block_errors.h"
#include "quant/codes.h"
#include "quant/kquants.h"
#include "quant/kquants_common.h"
#include "quant/scale_search.h"

namespace qs::q2_k {

constexpr int kSubBlock = 16;
constexpr int kSubBlocks = kSuperBlock / kSubBlock;

// Sub-block levels 0..3: ggml tries 16 targets from 2.5 (L1 error, |x| weights) or 37 from 2.1
// with an imatrix; we refit every candidate by least squares and also shift the zero point.
QS_HOST_DEVICE constexpr AffineSearch sub_search(bool weighted) {
  return weighted ? AffineSearch{3, even_targets<12>(2.0f, 4.2f), even_targets<5>(-0.4f, 0.4f), 3, true}
                  : AffineSearch{3, even_targets<8>(2.25f, 4.0f), even_targets<3>(-0.3f, 0.3f), 2, true};
}

// The largest sub-block scale and min map to 15 (ggml) or a little short of it.
QS_HOST_DEVICE constexpr AffineSuperSearch super_search(bool weighted) {
  return {15, 3.0f, even_targets<4>(15.0f, 13.5f), even_targets<3>(15.0f, 14.0f), weighted ? 4 : 2, weighted ? 4 : 2};
}

// One super-block of 256 values x from its 16 sub-block fits (sub_search's): the integer scales and
// mins by exact error (errors: BlockErrorsRef or BlockErrors over x and its weights, 16 blocks of
// 16), then the nearest levels (codes_of: NearestCodesRef or NearestCodes).
template <class Errors, class Codes>
QS_HOST_DEVICE void encode_block(const float *x, const AffineFit *fits, const Errors &errors, const Codes &codes_of,
                                 const AffineSuperSearch &search, BlockQ2_K &b) {
  const AffineSuperScales chosen = choose_affine_super_scales(fits, kSubBlocks, errors, search);
  b.d = chosen.d;
  b.dmin = chosen.dmin;
  const float d = f16_to_f32(chosen.d), dmin = f16_to_f32(chosen.dmin);
  uint8_t codes[kSuperBlock];
  for (int s = 0; s < kSubBlocks; ++s) {
    b.scales[s] = static_cast<uint8_t>(chosen.scale[s] | (chosen.min[s] << 4));
    const float m = dmin * static_cast<float>(chosen.min[s]);
    codes_of(x + kSubBlock * s, kSubBlock, d * static_cast<float>(chosen.scale[s]), -m, 0.0f, 3.0f, codes + kSubBlock * s);
  }
  pack_2bit_codes(codes, b.qs);
}

// One super-block by the scalar references alone, its sub-blocks searched one by one (the CPU
// searches a row's in batches: the same fits, as each reads only its own values). w: the 256
// floored importance weights (importance_floor, kKQuantImportanceFloor), or null.
QS_HOST_DEVICE inline void encode_block_ref(const float *x, const float *w, BlockQ2_K &b) {
  const bool weighted = w != nullptr;
  const AffineSearch search = sub_search(weighted);
  AffineFit fits[kSubBlocks];
  for (int s = 0; s < kSubBlocks; ++s) {
    fits[s] = best_affine_fit(x + kSubBlock * s, weighted ? w + kSubBlock * s : nullptr, kSubBlock, search);
  }
  encode_block(x, fits, BlockErrorsRef(x, w, kSubBlock, kSubBlocks), NearestCodesRef{}, super_search(weighted), b);
}

// ggml's dequantize_row_q2_K for one block, bit for bit.
QS_HOST_DEVICE inline void decode_block(const BlockQ2_K &b, float *y) {
  const float d = f16_to_f32(b.d), dmin = f16_to_f32(b.dmin);
  // Value 128h + 32k + l: q = (qs[32h + l] >> 2k) & 3, in sub-block 8h + 2k + l/16.
  for (int h = 0; h < 2; ++h) {
    for (int k = 0; k < 4; ++k) {
      for (int half = 0; half < 2; ++half) {
        const uint8_t sc = b.scales[8 * h + 2 * k + half];
        const float dl = d * static_cast<float>(sc & 0xF), ml = dmin * static_cast<float>(sc >> 4);
        for (int l = 16 * half; l < 16 * half + 16; ++l) {
          y[128 * h + 32 * k + l] = dl * static_cast<float>((b.qs[32 * h + l] >> (2 * k)) & 3) - ml;
        }
      }
    }
  }
}

}  // namespace qs::q2_k
