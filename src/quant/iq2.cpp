// IQ2_XXS, IQ2_XS and IQ2_S: groups of 8 magnitudes drawn from a grid of lattice points (iq2_grids.h),
// with signs and 4-bit sub-block scales. Dequantization is the format definition (iq2_blocks.h), with
// AVX-512 decoders beside it; quantization an exhaustive search of the grid with a joint choice of
// the block and sub-block scales (iq2_block_search.h, shared with the GPU), over the CPU's tables
// (iq2_search.h).
#include <cstdint>

#include "core/error.h"
#include "core/half.h"
#include "quant/iq2_blocks.h"
#include "quant/iq2_grids.h"
#include "quant/iq2_search.h"
#include "quant/iq_grid_search_simd.h"
#include "quant/iquant_signs.h"
#include "quant/iquants.h"
#include "quant/superblock_rows.h"

// Reference and fast paths must round identically: no implicit fused multiply-adds.
#pragma GCC optimize("fp-contract=off")

namespace qs {
namespace {

constexpr int kQK = 256;

// ---------------------------------------------------------------------------------------------
// Dequantization (reference): iq2_blocks.h's decoders over the CPU's grids.

void dequantize_iq2_xxs_block(const BlockIq2xxs &block, float *y) { decode_iq2_xxs_block(block, iq2xxs_grid.data(), y); }
void dequantize_iq2_xs_block(const BlockIq2xs &block, float *y) { decode_iq2_xs_block(block, iq2xs_grid.data(), y); }
void dequantize_iq2_s_block(const BlockIq2s &block, float *y) { decode_iq2_s_block(block, iq2s_grid.data(), y); }

using superblock::dequantize_blocks;

// ---------------------------------------------------------------------------------------------
// Quantization: iq2_block_search.h's search block by block, scored from the CPU's tables.

void quantize_iq2_xxs_row(const float *x, BlockIq2xxs *y, int64_t n, const float *importance,
                          const iq2::Kernels &kernels) {
  iq2::TableScorer scorer(iq2::iq2xxs_pairs(), iq2xxs_grid.data(), kernels);
  for (int64_t ibl = 0; ibl < n / kQK; ++ibl) iq2::encode_xxs_block(x + kQK * ibl, importance + kQK * ibl, scorer, y[ibl]);
}

void quantize_iq2_xs_row(const float *x, BlockIq2xs *y, int64_t n, const float *importance,
                         const iq2::Kernels &kernels) {
  iq2::TableScorer scorer(iq2::iq2xs_pairs(), iq2xs_grid.data(), kernels);
  for (int64_t ibl = 0; ibl < n / kQK; ++ibl) iq2::encode_xs_block(x + kQK * ibl, importance + kQK * ibl, scorer, y[ibl]);
}

void quantize_iq2_s_row(const float *x, BlockIq2s *y, int64_t n, const float *importance,
                        const iq2::Kernels &kernels) {
  iq2::TableScorer scorer(iq2::iq2s_pairs(), iq2s_grid.data(), kernels);
  for (int64_t ibl = 0; ibl < n / kQK; ++ibl) {
    iq2::encode_s_block(x + kQK * ibl, importance ? importance + kQK * ibl : nullptr, scorer, y[ibl]);
  }
}

}  // namespace

void quantize_iq2_xxs_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq2xxs, iq2::Kernels, quantize_iq2_xxs_row>("IQ2_XXS", true, iq2::scalar_kernels(), src, dst,
                                                                             n_rows, n_per_row, importance);
}
void quantize_iq2_xxs(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq2xxs, iq2::Kernels, quantize_iq2_xxs_row>("IQ2_XXS", true, iq2::fast_kernels(), src, dst,
                                                                             n_rows, n_per_row, importance);
}
void quantize_iq2_xs_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq2xs, iq2::Kernels, quantize_iq2_xs_row>("IQ2_XS", true, iq2::scalar_kernels(), src, dst,
                                                                           n_rows, n_per_row, importance);
}
void quantize_iq2_xs(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq2xs, iq2::Kernels, quantize_iq2_xs_row>("IQ2_XS", true, iq2::fast_kernels(), src, dst,
                                                                           n_rows, n_per_row, importance);
}
void quantize_iq2_s_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq2s, iq2::Kernels, quantize_iq2_s_row>("IQ2_S", false, iq2::scalar_kernels(), src, dst,
                                                                         n_rows, n_per_row, importance);
}
void quantize_iq2_s(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq2s, iq2::Kernels, quantize_iq2_s_row>("IQ2_S", false, iq2::fast_kernels(), src, dst,
                                                                         n_rows, n_per_row, importance);
}

void dequantize_iq2_xxs_ref(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq2xxs, dequantize_iq2_xxs_block>(src, dst, n);
}
void dequantize_iq2_xs_ref(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq2xs, dequantize_iq2_xs_block>(src, dst, n);
}
void dequantize_iq2_s_ref(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq2s, dequantize_iq2_s_block>(src, dst, n);
}

#if defined(__AVX512F__)
namespace {

// Two groups of 8 (grid entries e0, e1 with sign bytes s0, s1) at sub-block scale db: 16 floats.
// Per value the reference's db * grid, then a sign flip (an xor, as the reference's negation is).
inline void decode_two_groups(uint64_t e0, uint64_t e1, unsigned s0, unsigned s1, float db, float *y) {
  const __m128i bytes = _mm_set_epi64x(static_cast<long long>(e1), static_cast<long long>(e0));
  const __m512 grid = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(bytes));
  const __m512i v = _mm512_castps_si512(_mm512_mul_ps(_mm512_set1_ps(db), grid));
  const auto negative = static_cast<__mmask16>(s0 | s1 << 8);
  _mm512_storeu_ps(y, _mm512_castsi512_ps(_mm512_mask_xor_epi32(v, negative, v, _mm512_set1_epi32(INT32_MIN))));
}

void dequantize_iq2_xxs_block_fast(const BlockIq2xxs &block, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const uint32_t indices = block.qs[4 * ib] | static_cast<uint32_t>(block.qs[4 * ib + 1]) << 16;
    const uint32_t signs_and_scale = block.qs[4 * ib + 2] | static_cast<uint32_t>(block.qs[4 * ib + 3]) << 16;
    const float db = d * (0.5f + static_cast<float>(signs_and_scale >> 28)) * 0.25f;
    for (int l = 0; l < 4; l += 2) {
      decode_two_groups(iq2xxs_grid[(indices >> (8 * l)) & 0xff], iq2xxs_grid[(indices >> (8 * l + 8)) & 0xff],
                        kSignsIq2xs[(signs_and_scale >> (7 * l)) & 127],
                        kSignsIq2xs[(signs_and_scale >> (7 * l + 7)) & 127], db, y + 8 * l);
    }
  }
}

void dequantize_iq2_xs_block_fast(const BlockIq2xs &block, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const uint16_t *q = block.qs + 4 * ib;
    const float db0 = d * (0.5f + static_cast<float>(block.scales[ib] & 0xf)) * 0.25f;
    const float db1 = d * (0.5f + static_cast<float>(block.scales[ib] >> 4)) * 0.25f;
    decode_two_groups(iq2xs_grid[q[0] & 511], iq2xs_grid[q[1] & 511], kSignsIq2xs[q[0] >> 9],
                      kSignsIq2xs[q[1] >> 9], db0, y);
    decode_two_groups(iq2xs_grid[q[2] & 511], iq2xs_grid[q[3] & 511], kSignsIq2xs[q[2] >> 9],
                      kSignsIq2xs[q[3] >> 9], db1, y + 16);
  }
}

void dequantize_iq2_s_block_fast(const BlockIq2s &block, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const uint8_t *qs = block.qs + 4 * ib;
    const uint8_t *signs = block.qs + 32 + 4 * ib;
    const unsigned qh = block.qh[ib];
    const float db0 = d * (0.5f + static_cast<float>(block.scales[ib] & 0xf)) * 0.25f;
    const float db1 = d * (0.5f + static_cast<float>(block.scales[ib] >> 4)) * 0.25f;
    decode_two_groups(iq2s_grid[qs[0] | (qh << 8 & 0x300)], iq2s_grid[qs[1] | (qh << 6 & 0x300)], signs[0], signs[1],
                      db0, y);
    decode_two_groups(iq2s_grid[qs[2] | (qh << 4 & 0x300)], iq2s_grid[qs[3] | (qh << 2 & 0x300)], signs[2], signs[3],
                      db1, y + 16);
  }
}

}  // namespace

void dequantize_iq2_xxs(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq2xxs, dequantize_iq2_xxs_block_fast>(src, dst, n);
}
void dequantize_iq2_xs(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq2xs, dequantize_iq2_xs_block_fast>(src, dst, n);
}
void dequantize_iq2_s(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq2s, dequantize_iq2_s_block_fast>(src, dst, n);
}
#else
void dequantize_iq2_xxs(const void *src, float *dst, int64_t n) { dequantize_iq2_xxs_ref(src, dst, n); }
void dequantize_iq2_xs(const void *src, float *dst, int64_t n) { dequantize_iq2_xs_ref(src, dst, n); }
void dequantize_iq2_s(const void *src, float *dst, int64_t n) { dequantize_iq2_s_ref(src, dst, n); }
#endif

}  // namespace qs
