// Row drivers shared by the 256-value super-block families (IQ1, IQ2): checks, then one call per
// row (quantize) or per block (dequantize), with blocks copied out so src need not be aligned.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/error.h"

namespace qs::superblock {

inline constexpr int64_t kValues = 256;

template <class Block, void (*decode)(const Block &, float *)>
void dequantize_blocks(const void *src, float *dst, int64_t n) {
  const auto *bytes = static_cast<const uint8_t *>(src);
  for (int64_t i = 0; i < n / kValues; ++i) {
    Block block;  // copied: src need not be aligned for the uint16 fields
    std::memcpy(&block, bytes + i * sizeof(Block), sizeof(Block));
    decode(block, dst + i * kValues);
  }
}

template <class Block, class Kernels>
using RowQuantizer = void (*)(const float *x, Block *y, int64_t n, const float *importance, const Kernels &);

template <class Block, class Kernels, RowQuantizer<Block, Kernels> quantize_row>
void quantize_rows(const char *type, bool needs_importance, const Kernels &kernels, const float *src, void *dst,
                   int64_t n_rows, int64_t n_per_row, const float *importance) {
  if (needs_importance && importance == nullptr) fail(type, ": quantization needs an importance matrix (imatrix)");
  if (n_per_row % kValues != 0) fail(type, ": row length ", n_per_row, " is not a multiple of ", kValues);
  auto *blocks = static_cast<Block *>(dst);
  for (int64_t r = 0; r < n_rows; ++r) {
    quantize_row(src + r * n_per_row, blocks + r * (n_per_row / kValues), n_per_row, importance, kernels);
  }
}

}  // namespace qs::superblock
