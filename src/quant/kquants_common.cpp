// The k-quant row driver (the choice of integer sub-block scales is kquants_common.h's).
#include "quant/kquants_common.h"

#include <algorithm>
#include <vector>

#include "quant/importance.h"

namespace qs {
namespace {

constexpr int64_t kChunkSuperBlocks = 16;

}  // namespace

void for_each_symmetric_super_block(const float *src, int64_t n_rows, int64_t n_per_row, const float *importance,
                                    int sub_size, const SymmetricSearch &search, bool fast, const SymmetricStore &store) {
  const int64_t n_super = n_per_row / kSuperBlock;
  const int n_sub = kSuperBlock / sub_size;
  const std::vector<float> weights = importance ? floored_importance(importance, n_per_row, kKQuantImportanceFloor) : std::vector<float>();
  float scales[kChunkSuperBlocks * 16];
  for (int64_t row = 0; row < n_rows; ++row) {
    for (int64_t s0 = 0; s0 < n_super; s0 += kChunkSuperBlocks) {
      const int64_t count = std::min(kChunkSuperBlocks, n_super - s0);
      const float *x = src + row * n_per_row + s0 * kSuperBlock;
      const float *w = importance ? weights.data() + s0 * kSuperBlock : nullptr;
      if (fast) {
        best_symmetric_scales(x, w, sub_size, count * n_sub, search, scales);
      } else {
        best_symmetric_scales_ref(x, w, sub_size, count * n_sub, search, scales);
      }
      for (int64_t s = 0; s < count; ++s) {
        store(row, s0 + s, x + s * kSuperBlock, w ? w + s * kSuperBlock : nullptr, scales + s * n_sub);
      }
    }
  }
}

void for_each_affine_super_block(const float *src, int64_t n_rows, int64_t n_per_row, const float *importance,
                                 int sub_size, const AffineSearch &search, bool fast, const AffineStore &store) {
  const int64_t n_super = n_per_row / kSuperBlock;
  const int n_sub = kSuperBlock / sub_size;
  const std::vector<float> weights = importance ? floored_importance(importance, n_per_row, kKQuantImportanceFloor) : std::vector<float>();
  AffineFit fits[kChunkSuperBlocks * 16];
  for (int64_t row = 0; row < n_rows; ++row) {
    for (int64_t s0 = 0; s0 < n_super; s0 += kChunkSuperBlocks) {
      const int64_t count = std::min(kChunkSuperBlocks, n_super - s0);
      const float *x = src + row * n_per_row + s0 * kSuperBlock;
      const float *w = importance ? weights.data() + s0 * kSuperBlock : nullptr;
      if (fast) {
        best_affine_fits(x, w, sub_size, count * n_sub, search, fits);
      } else {
        best_affine_fits_ref(x, w, sub_size, count * n_sub, search, fits);
      }
      for (int64_t s = 0; s < count; ++s) {
        store(row, s0 + s, x + s * kSuperBlock, w ? w + s * kSuperBlock : nullptr, fits + s * n_sub);
      }
    }
  }
}

}  // namespace qs
