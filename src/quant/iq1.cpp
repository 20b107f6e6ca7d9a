// IQ1_S and IQ1_M: groups of 8 ternary values (-1, 0, +1) from a 2048-entry grid (iq1_grids.h), each
// group shifted by +-delta, with 3-bit sub-block scales. Dequantization is the format definition
// (iq1_blocks.h), with AVX-512 decoders beside it; quantization is ggml's (quantize_row_iq1_s_impl /
// iq1_m_impl) and writes the same bytes: an exact search of the two split points of each sorted
// sub-block, then the grid point or its best neighbour (iq1_block_search.h, shared with the GPU).
#include <cstdint>
#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "quant/iq1_blocks.h"
#include "quant/iq1_grids.h"
#include "quant/iq1_search.h"
#include "quant/iq_grid_search.h"
#include "quant/iq_grid_search_simd.h"
#include "quant/iquants.h"
#include "quant/superblock_rows.h"

// Reference and fast paths must round identically, and as ggml's C does: no implicit fused
// multiply-adds.
#pragma GCC optimize("fp-contract=off")

namespace qs {
namespace {

constexpr int kQK = 256;

// ---------------------------------------------------------------------------------------------
// Dequantization (reference): iq1_blocks.h's decoders over the CPU's grid.

void dequantize_iq1_s_block(const BlockIq1s &block, float *y) { decode_iq1_s_block(block, iq1s_grid.data(), y); }
void dequantize_iq1_m_block(const BlockIq1m &block, float *y) { decode_iq1_m_block(block, iq1s_grid.data(), y); }

using superblock::dequantize_blocks;

#if defined(__AVX512F__)
// Two groups of 8 (grid entries e0, e1, deltas delta0, delta1) at scale dl: 16 floats, per value the
// reference's dl * (grid + delta).
inline void decode_two_groups(uint64_t e0, uint64_t e1, float delta0, float delta1, float dl, float *y) {
  const __m512 grid = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_set_epi64x(static_cast<long long>(e1),
                                                                              static_cast<long long>(e0))));
  const __m512 delta = _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(delta0), _mm512_set1_ps(delta1));
  _mm512_storeu_ps(y, _mm512_mul_ps(_mm512_set1_ps(dl), _mm512_add_ps(grid, delta)));
}

void dequantize_iq1_s_block_fast(const BlockIq1s &block, float *y) {
  const float d = f16_to_f32(block.d);
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const unsigned qh = block.qh[ib];
    const float dl = d * static_cast<float>(2 * ((qh >> 12) & 7) + 1);
    const float delta = qh & 0x8000 ? -kIq1sDelta : kIq1sDelta;
    const uint8_t *qs = block.qs + 4 * ib;
    decode_two_groups(iq1s_grid[qs[0] | (qh << 8 & 0x700)], iq1s_grid[qs[1] | (qh << 5 & 0x700)], delta, delta, dl, y);
    decode_two_groups(iq1s_grid[qs[2] | (qh << 2 & 0x700)], iq1s_grid[qs[3] | (qh >> 1 & 0x700)], delta, delta, dl,
                      y + 16);
  }
}

void dequantize_iq1_m_block_fast(const BlockIq1m &block, float *y) {
  uint16_t sc[4];
  std::memcpy(sc, block.scales, sizeof(sc));
  const float d = f16_to_f32(iq1::iq1m_d_bits(sc));
  for (int ib = 0; ib < 8; ++ib, y += 32) {
    const uint8_t *qs = block.qs + 4 * ib;
    for (int half = 0; half < 2; ++half) {
      const unsigned qh = block.qh[2 * ib + half];
      const float dl = d * static_cast<float>(2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3 * half)) & 7) + 1);
      decode_two_groups(iq1s_grid[qs[2 * half] | (qh << 8 & 0x700)], iq1s_grid[qs[2 * half + 1] | (qh << 4 & 0x700)],
                        qh & 0x08 ? -kIq1mDelta : kIq1mDelta, qh & 0x80 ? -kIq1mDelta : kIq1mDelta, dl,
                        y + 16 * half);
    }
  }
}
#endif

// ---------------------------------------------------------------------------------------------
// Quantization (ggml's algorithm; every float operation in ggml's order).

// ---------------------------------------------------------------------------------------------
// Quantization: iq1_block_search.h's search block by block, with the CPU's kernels.

void quantize_iq1_s_row(const float *x, BlockIq1s *y, int64_t n, const float *importance,
                        const iq1::Kernels &kernels) {
  const iq1::KernelSearcher searcher{iq::iq1s_search(), kernels};
  for (int64_t ibl = 0; ibl < n / kQK; ++ibl) iq1::encode_iq1_s_block(x + kQK * ibl, importance + kQK * ibl, searcher, y[ibl]);
}

void quantize_iq1_m_row(const float *x, BlockIq1m *y, int64_t n, const float *importance,
                        const iq1::Kernels &kernels) {
  const iq1::KernelSearcher searcher{iq::iq1s_search(), kernels};
  for (int64_t ibl = 0; ibl < n / kQK; ++ibl) {
    iq1::encode_iq1_m_block(x + kQK * ibl, importance ? importance + kQK * ibl : nullptr, searcher, y[ibl]);
  }
}

}  // namespace

void quantize_iq1_s_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq1s, iq1::Kernels, quantize_iq1_s_row>("IQ1_S", true, iq1::scalar_kernels(), src, dst,
                                                                         n_rows, n_per_row, importance);
}
void quantize_iq1_s(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq1s, iq1::Kernels, quantize_iq1_s_row>("IQ1_S", true, iq1::fast_kernels(), src, dst,
                                                                         n_rows, n_per_row, importance);
}
void quantize_iq1_m_ref(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq1m, iq1::Kernels, quantize_iq1_m_row>("IQ1_M", false, iq1::scalar_kernels(), src, dst,
                                                                         n_rows, n_per_row, importance);
}
void quantize_iq1_m(const float *src, void *dst, int64_t n_rows, int64_t n_per_row, const float *importance) {
  superblock::quantize_rows<BlockIq1m, iq1::Kernels, quantize_iq1_m_row>("IQ1_M", false, iq1::fast_kernels(), src, dst,
                                                                         n_rows, n_per_row, importance);
}

void dequantize_iq1_s_ref(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq1s, dequantize_iq1_s_block>(src, dst, n);
}
void dequantize_iq1_m_ref(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq1m, dequantize_iq1_m_block>(src, dst, n);
}

#if defined(__AVX512F__)
void dequantize_iq1_s(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq1s, dequantize_iq1_s_block_fast>(src, dst, n);
}
void dequantize_iq1_m(const void *src, float *dst, int64_t n) {
  dequantize_blocks<BlockIq1m, dequantize_iq1_m_block_fast>(src, dst, n);
}
#else
void dequantize_iq1_s(const void *src, float *dst, int64_t n) { dequantize_iq1_s_ref(src, dst, n); }
void dequantize_iq1_m(const void *src, float *dst, int64_t n) { dequantize_iq1_m_ref(src, dst, n); }
#endif

}  // namespace qs
