// IQ4_NL and IQ4_XS block by block: the on-disk blocks (ggml-common.h: block_iq4_nl, block_iq4_xs)
// and the scalar reference of encoding and decoding one block. The same code runs on the CPU
// (iq4.cpp, whose vector level pickers give the same bits) and in the GPU's quantizer kernels
// (gpu/quantize_kernels.cu), which is why everything here is QS_HOST_DEVICE and free of the standard
// library. A block's search is templated on its level picker: a type with a static
// pick(x, inverse_scale, levels) for one block of 32 (PickLevelsRef, or a CPU's vector picker).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "core/half.h"
#include "core/host_device.h"
#include "quant/iq4_values.h"

namespace qs::iq4 {

struct BlockNl {
  uint16_t d;       // f16 scale
  uint8_t qs[16];   // value j in the low nibble of qs[j], value j + 16 in the high nibble
};
static_assert(sizeof(BlockNl) == 18);

struct BlockXs {
  uint16_t d;            // f16 super-block scale
  uint16_t scales_h;     // bits 2i..2i+1: high 2 bits of sub-block i's 6-bit scale
  uint8_t scales_l[4];   // low 4 bits of sub-block scales, sub-block 2k in the low nibble of [k]
  uint8_t qs[128];       // 16 bytes per sub-block of 32, nibbles as in IQ4_NL
};
static_assert(sizeof(BlockXs) == 136);

constexpr int kBlock = 32;
constexpr int kSuperBlock = 256;
constexpr int kSubBlocks = kSuperBlock / kBlock;
// Scale candidates tried on each side of the one that maps the largest value to an end level.
constexpr int kScaleTries = 7;
// Lloyd steps (levels for the scale, then the scale for the levels) after the candidate search.
constexpr int kRefineSteps = 3;
// Blocks whose largest magnitude is below this are stored as zeros.
constexpr float kGroupMaxEps = 1e-15f;

#if defined(__CUDACC__)
// The levels in GPU constant memory (device code cannot index the host's constexpr table).
static __constant__ int8_t kLevelsOnGpu[16] = {QS_IQ4NL_LEVELS};
#endif

// Level q's value (kValuesIq4nl[q]).
QS_HOST_DEVICE inline float level(int q) {
#if defined(__CUDA_ARCH__)
  return kLevelsOnGpu[q];
#else
  return kValuesIq4nl[static_cast<size_t>(q)];
#endif
}

// Round to nearest, ties to even, for |x| < 2^22 (adding 1.5 * 2^23 leaves the integer in the
// low mantissa bits).
QS_HOST_DEVICE inline int nearest_int(float x) {
  const float shifted = x + 12582912.0f;
  return static_cast<int32_t>(float_bits(shifted) & 0x007fffff) - 0x00400000;
}

// Index of the level nearest to x; an exact tie goes to the upper level. NaN maps to 15.
QS_HOST_DEVICE inline int nearest_level(float x) {
  if (x <= level(0)) return 0;
  if (x >= level(15)) return 15;
  int lo = 0, hi = 15;  // level(lo) <= x < level(hi)
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (x < level(mid)) hi = mid;
    else lo = mid;
  }
  return x - level(lo) < level(hi) - x ? lo : hi;
}

// The scalar level picker: levels[j] = nearest_level(inverse_scale * x[j]) for one block of 32.
struct PickLevelsRef {
  QS_HOST_DEVICE static void pick(const float *x, float inverse_scale, uint8_t *levels) {
    for (int j = 0; j < kBlock; ++j) levels[j] = static_cast<uint8_t>(nearest_level(inverse_scale * x[j]));
  }
};

// Sums of the weighted least-squares fit of the scale for fixed levels: d = sum_qx / sum_q2.
struct ScaleFit {
  float sum_qx = 0;
  float sum_q2 = 0;
};

QS_HOST_DEVICE inline ScaleFit fit_levels(const float *x, const float *weight, const uint8_t *levels) {
  ScaleFit fit;
  for (int j = 0; j < kBlock; ++j) {
    const float q = level(levels[j]);
    const float w = weight[j];
    fit.sum_qx += w * q * x[j];
    fit.sum_q2 += w * q * q;
  }
  return fit;
}

// Per-value weights of the error. With an imatrix: the column weight times sqrt(sigma2 + x^2), as
// ggml does. Without one ggml uses x^2, which lets the few largest values dictate the scale; we use
// sigma2 + x^2, which still favours large values but keeps the bulk in view: lower plain RMSE on
// Gaussian, Student-t and outlier-column data, and lower x^2-weighted error on the first two.
QS_HOST_DEVICE inline void value_weights(const float *x, const float *importance, float sigma2, float *weight) {
  if (importance) {
    for (int j = 0; j < kBlock; ++j) weight[j] = importance[j] * sqrtf(sigma2 + x[j] * x[j]);
  } else {
    for (int j = 0; j < kBlock; ++j) weight[j] = sigma2 + x[j] * x[j];
  }
}

// 2 * mean square of n values: the spread term of the importance weights.
QS_HOST_DEVICE inline float spread(const float *x, int n) {
  float sum = 0;
  for (int j = 0; j < n; ++j) sum += x[j] * x[j];
  return sum * (2.0f / static_cast<float>(n));
}

// Takes the candidate's levels when its fit beats `best` (the largest sum_qx^2 / sum_q2 so far,
// compared without dividing: with the fitted scale the error is sum w x^2 - sum_qx^2 / sum_q2).
QS_HOST_DEVICE inline bool consider_fit(const float *x, const float *weight, const uint8_t *levels, float &d, float &best) {
  const ScaleFit fit = fit_levels(x, weight, levels);
  if (!(fit.sum_q2 > 0 && fit.sum_qx * fit.sum_qx > best * fit.sum_q2)) return false;
  d = fit.sum_qx / fit.sum_q2;
  best = d * fit.sum_qx;
  return true;
}

// The best scale for one block of 32 under the weighted squared error. Candidates: the inverse
// scales that map the largest magnitude to each end level (-127, +113) give or take up to
// kScaleTries, each with nearest levels and a least-squares refit of the scale (ggml tries only the
// -127 end); then Lloyd steps from the winner. Returns 0 for an all-zero block.
template <class Picker>
QS_HOST_DEVICE float search_block_scale(const float *x, const float *weight) {
  float amax = 0, max = 0;  // largest magnitude and its signed value (first one wins)
  for (int j = 0; j < kBlock; ++j) {
    const float ax = fabsf(x[j]);
    if (ax > amax) {
      amax = ax;
      max = x[j];
    }
  }
  if (amax < kGroupMaxEps) return 0.0f;
  uint8_t levels[kBlock];
  float d = -max / level(0);
  Picker::pick(x, 1.0f / d, levels);
  const ScaleFit fit = fit_levels(x, weight, levels);
  d = fit.sum_q2 > 0 ? fit.sum_qx / fit.sum_q2 : 0.0f;
  float best = d * fit.sum_qx;
  const float end_levels[2] = {level(0), level(15)};
  for (const float end_level : end_levels) {
    for (int itry = -kScaleTries; itry <= kScaleTries; ++itry) {
      Picker::pick(x, (static_cast<float>(itry) + end_level) / max, levels);
      consider_fit(x, weight, levels, d, best);
    }
  }
  // Lloyd steps: nearest levels for the fitted scale, then refit; the error can only fall.
  for (int step = 0; step < kRefineSteps && d != 0.0f; ++step) {
    Picker::pick(x, 1.0f / d, levels);
    if (!consider_fit(x, weight, levels, d, best)) break;
  }
  return d;
}

// Weighted squared error of one block decoded with `scale` and `levels`.
QS_HOST_DEVICE inline float block_error(const float *x, const float *weight, const uint8_t *levels, float scale) {
  float err = 0;
  for (int j = 0; j < kBlock; ++j) {
    const float diff = x[j] - scale * level(levels[j]);
    err += weight[j] * diff * diff;
  }
  return err;
}

QS_HOST_DEVICE inline void pack_nibbles(const uint8_t *levels, uint8_t *qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(levels[j] | (levels[j + 16] << 4));
}

// One IQ4_NL block of 32 values (importance: their 32 weights, or null).
template <class Picker>
QS_HOST_DEVICE void encode_nl_block(const float *x, const float *importance, BlockNl &block) {
  float weight[kBlock];
  uint8_t levels[kBlock];
  value_weights(x, importance, spread(x, kBlock), weight);
  const float d = search_block_scale<Picker>(x, weight);
  // Levels are picked for the scale as stored (f16), not the unrounded one.
  block.d = f32_to_f16(d);
  const float stored = f16_to_f32(block.d);
  Picker::pick(x, stored != 0.0f ? 1.0f / stored : 0.0f, levels);
  pack_nibbles(levels, block.qs);
}

// Encodes the eight sub-blocks of a super-block for the stored super-block scale d: each gets the
// nearest 6-bit scale to its searched scale or a neighbour of it, whichever decodes with the smaller
// weighted error, and the nearest levels for that scale. Returns the total weighted error.
template <class Picker>
QS_HOST_DEVICE float encode_sub_blocks(const float *xs, const float (*weight)[kBlock], const float *scales, float d,
                                       int *sub_scales, uint8_t (*sub_levels)[kBlock]) {
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  uint8_t levels[kBlock];
  float total = 0;
  for (int ib = 0; ib < kSubBlocks; ++ib) {
    const float *x = xs + ib * kBlock;
    int nearest = nearest_int(id * scales[ib]);
    nearest = nearest < -32 ? -32 : nearest > 31 ? 31 : nearest;
    float best_err = 0;
    const int tries[3] = {nearest, nearest - 1, nearest + 1};
    for (const int l : tries) {
      if (l < -32 || l > 31) continue;
      const float dl = d * static_cast<float>(l);
      Picker::pick(x, dl != 0.0f ? 1.0f / dl : 0.0f, levels);
      const float err = block_error(x, weight[ib], levels, dl);
      if (l == nearest || err < best_err) {
        best_err = err;
        sub_scales[ib] = l;
        for (int j = 0; j < kBlock; ++j) sub_levels[ib][j] = levels[j];
      }
    }
    total += best_err;
  }
  return total;
}

// One IQ4_XS super-block of 256 values (importance: their 256 weights, or null).
template <class Picker>
QS_HOST_DEVICE void encode_xs_block(const float *xs, const float *importance, BlockXs &block) {
  float weight[kSubBlocks][kBlock];
  float scales[kSubBlocks];
  int sub_scales[kSubBlocks], best_sub_scales[kSubBlocks] = {};
  uint8_t sub_levels[kSubBlocks][kBlock], best_sub_levels[kSubBlocks][kBlock];
  const float sigma2 = spread(xs, kSuperBlock);
  float max_scale = 0, amax_scale = 0;
  for (int ib = 0; ib < kSubBlocks; ++ib) {
    value_weights(xs + ib * kBlock, importance ? importance + ib * kBlock : nullptr, sigma2, weight[ib]);
    scales[ib] = search_block_scale<Picker>(xs + ib * kBlock, weight[ib]);
    if (fabsf(scales[ib]) > amax_scale) {
      amax_scale = fabsf(scales[ib]);
      max_scale = scales[ib];
    }
  }
  // Two super-block scales: the largest sub-block scale mapped to -32 (ggml's choice) or to +31;
  // the one that decodes with the smaller error wins (ties: the first).
  const float candidates[2] = {-max_scale / 32, max_scale / 31};
  uint16_t best_d = 0;
  float best_err = 0;
  for (int c = 0; c < 2; ++c) {
    const uint16_t d16 = f32_to_f16(candidates[c]);
    const float err = encode_sub_blocks<Picker>(xs, weight, scales, f16_to_f32(d16), sub_scales, sub_levels);
    if (c == 0 || err < best_err) {
      best_err = err;
      best_d = d16;
      for (int ib = 0; ib < kSubBlocks; ++ib) {
        best_sub_scales[ib] = sub_scales[ib];
        for (int j = 0; j < kBlock; ++j) best_sub_levels[ib][j] = sub_levels[ib][j];
      }
    }
  }
  block.d = best_d;
  block.scales_h = 0;
  for (int k = 0; k < 4; ++k) block.scales_l[k] = 0;
  for (int ib = 0; ib < kSubBlocks; ++ib) {
    pack_nibbles(best_sub_levels[ib], block.qs + 16 * ib);
    const unsigned stored = static_cast<unsigned>(best_sub_scales[ib] + 32);
    block.scales_l[ib / 2] |= static_cast<uint8_t>((stored & 0xf) << (4 * (ib % 2)));
    block.scales_h |= static_cast<uint16_t>((stored >> 4) << (2 * ib));
  }
}

// Sub-block decoding shared by both types: 32 values = scale * level.
QS_HOST_DEVICE inline void decode_32(const uint8_t *qs, float scale, float *y) {
  for (int j = 0; j < 16; ++j) {
    y[j] = scale * level(qs[j] & 0xf);
    y[j + 16] = scale * level(qs[j] >> 4);
  }
}

QS_HOST_DEVICE inline int xs_sub_scale(const BlockXs &block, int ib) {
  const int low = (block.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xf;
  const int high = (block.scales_h >> (2 * ib)) & 3;
  return (low | (high << 4)) - 32;
}

QS_HOST_DEVICE inline void decode_nl_block(const BlockNl &block, float *y) { decode_32(block.qs, f16_to_f32(block.d), y); }

QS_HOST_DEVICE inline void decode_xs_block(const BlockXs &block, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < kSubBlocks; ++ib) decode_32(block.qs + 16 * ib, d * static_cast<float>(xs_sub_scale(block, ib)), y + ib * kBlock);
}

}  // namespace qs::iq4
