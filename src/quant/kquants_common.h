// What the k-quant quantizers share: the choice of integer sub-block scales under one f16 super
// scale (by exact error over neighbouring integers), the 2-bit packing of Q2_K/Q3_K, and the row
// driver that searches every sub-block of a row in one batch.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "quant/block_errors.h"
#include "quant/scale_search.h"

namespace qs {

inline constexpr int kSuperBlock = 256;

// Symmetric sub-blocks (Q3_K, Q6_K): value = d·scale[s]·q with integer scales smin..smax and
// levels lo..hi. The largest-magnitude sub-block scale is mapped to integer target t for each t in
// targets (d = f16(s_max / t)); every sub-block then takes, of the `window` integers around s/d
// (floor - window/2 + 1 .. floor + window/2), the one with the smallest exact error; the candidate
// with the least total error wins. (The error is far from smooth in the scale at 3 bits, so the
// best integer is not always a neighbour of the best real scale.)
struct SymmetricSuperSearch {
  int smin;
  int smax;
  float lo;
  float hi;
  std::span<const float> targets;
  int window = 2;
};

struct SymmetricSuperScales {
  uint16_t d = 0;
  int scale[16] = {};
};

SymmetricSuperScales choose_symmetric_super_scales(const float sub_scales[16], const BlockErrors &errors,
                                                   const SymmetricSuperSearch &search);

// Affine sub-blocks (Q2_K, Q4_K, Q5_K): value = d·scale[s]·q - dmin·min[s] with scale and min in
// 0..smax and q in 0..nmax. Each (t, u) in scale_targets × min_targets maps the largest sub-block
// scale to t and the largest min to u; every sub-block picks, of the scale_window × min_window
// integer pairs around its (scale/d, min/dmin), the best by exact error; the candidate with the
// least total error wins.
struct AffineSuperSearch {
  int smax;
  float nmax;
  std::span<const float> scale_targets;
  std::span<const float> min_targets;
  int scale_window = 2;
  int min_window = 2;
};

struct AffineSuperScales {
  uint16_t d = 0;
  uint16_t dmin = 0;
  int scale[16] = {};
  int min[16] = {};
};

// fits: n_sub (8 or 16) sub-block fits with min <= 0 (their min amount is -min).
AffineSuperScales choose_affine_super_scales(const AffineFit *fits, int n_sub, const BlockErrors &errors,
                                             const AffineSuperSearch &search);

// Q2_K/Q3_K layout of 256 2-bit codes: value 128h + 32k + l at bits 2k..2k+1 of qs[32h + l].
void pack_2bit_codes(const uint8_t codes[kSuperBlock], uint8_t qs[64]);

// Rows of a k-quant: searches the sub-blocks of each row in batches, then calls
// store(row, super_block, x, w, sub results) for each super-block, x and w pointing at its 256
// values and weights (w: the row's floored importance, or nullptr).
using SymmetricStore = std::function<void(int64_t row, int64_t super_block, const float *x, const float *w,
                                          const float *sub_scales)>;
using AffineStore = std::function<void(int64_t row, int64_t super_block, const float *x, const float *w,
                                       const AffineFit *sub_fits)>;

void for_each_symmetric_super_block(const float *src, int64_t n_rows, int64_t n_per_row, const float *importance,
                                    int sub_size, const SymmetricSearch &search, bool fast, const SymmetricStore &store);
void for_each_affine_super_block(const float *src, int64_t n_rows, int64_t n_per_row, const float *importance,
                                 int sub_size, const AffineSearch &search, bool fast, const AffineStore &store);

}  // namespace qs
