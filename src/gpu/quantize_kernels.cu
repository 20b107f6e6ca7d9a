// The kernels of quantize_kernels.h. Compiled with -fmad=false (CMakeLists.txt): the CPU never
// fuses a multiply and an add (-ffp-contract=off), so neither may the GPU if the two are to give
// the same bits; divisions and square roots are IEEE (no fast math) on both.
#include "gpu/quantize_kernels.h"

#include <cmath>
#include <mutex>

#include "gpu/cuda_check.h"
#include "quant/iq3_block_search.h"
#include "quant/iq3_grids.h"
#include "quant/iq4_blocks.h"

namespace qs::gpu {
namespace {

constexpr int kThreads = 128;

// One type's block codec for the kernel below: its block, values per block, encode and decode.
struct Iq4Nl {
  using Block = iq4::BlockNl;
  static constexpr int kValues = iq4::kBlock;
  __device__ static void encode(const float *x, const float *importance, Block &block) {
    iq4::encode_nl_block<iq4::PickLevelsRef>(x, importance, block);
  }
  __device__ static void decode(const Block &block, float *y) { iq4::decode_nl_block(block, y); }
};

struct Iq4Xs {
  using Block = iq4::BlockXs;
  static constexpr int kValues = iq4::kSuperBlock;
  __device__ static void encode(const float *x, const float *importance, Block &block) {
    iq4::encode_xs_block<iq4::PickLevelsRef>(x, importance, block);
  }
  __device__ static void decode(const Block &block, float *y) { iq4::decode_xs_block(block, y); }
};

// The IQ3 grids in constant memory (every thread of a warp reads the same point at once while it
// scores a group), copied from the CPU's tables before the first IQ3 kernel.
__constant__ uint32_t kIq3xxsGridOnGpu[256];
__constant__ uint32_t kIq3sGridOnGpu[512];
static_assert(sizeof(kIq3xxsGridOnGpu) == sizeof(kIq3xxsGrid) && sizeof(kIq3sGridOnGpu) == sizeof(kIq3sGrid));

void upload_iq3_grids() {
  static std::once_flag once;
  std::call_once(once, [] {
    cuda_check(cudaMemcpyToSymbol(kIq3xxsGridOnGpu, kIq3xxsGrid.data(), sizeof(kIq3xxsGridOnGpu)), "IQ3_XXS grid");
    cuda_check(cudaMemcpyToSymbol(kIq3sGridOnGpu, kIq3sGrid.data(), sizeof(kIq3sGridOnGpu)), "IQ3_S grid");
  });
}

__device__ inline uint32_t iq3_grid_entry(Iq3Kind kind, int i) {
  return kind == Iq3Kind::Xxs ? kIq3xxsGridOnGpu[i] : kIq3sGridOnGpu[i];
}

// The GPU's scores for iq3::search_block: a point's -2 P_i and Q_i computed when needed, with the
// operations iq3_group_table_ref uses to fill the CPU's tables (so the same floats).
struct Iq3GpuScorer {
  Iq3Kind kind;
  int n_points;
  const float *a[iq3::kSubBlocks][iq3::kGroups];
  const float *w[iq3::kSubBlocks][iq3::kGroups];

  __device__ void prepare(int ib, int g, const float *group_a, const float *group_w) {
    a[ib][g] = group_a;
    w[ib][g] = group_w;
  }
  __device__ void sums(int ib, int g, int i, float &neg2p_i, float &q_i) const {
    const uint32_t entry = iq3_grid_entry(kind, i);
    const float *av = a[ib][g], *wv = w[ib][g];
    const float m0 = static_cast<float>(entry & 0xff);
    float p = (wv[0] * av[0]) * m0;
    float q = wv[0] * (m0 * m0);
    for (int k = 1; k < 4; ++k) {
      const float m = static_cast<float>((entry >> (8 * k)) & 0xff);
      p = iq3::mul_add(wv[k] * av[k], m, p);
      q = iq3::mul_add(wv[k], m * m, q);
    }
    neg2p_i = -2.0f * p;
    q_i = q;
  }
  __device__ void select(int ib, int g, const float *steps, int n_steps, Iq3Selection *out) const {
    for (int j = 0; j < n_steps; ++j) out[j] = {0, INFINITY};
    for (int i = 0; i < n_points; ++i) {
      float neg2p_i, q_i;
      sums(ib, g, i, neg2p_i, q_i);
      for (int j = 0; j < n_steps; ++j) {
        const float score = iq3::mul_add(steps[j], q_i, neg2p_i);
        if (score < out[j].score) out[j] = {i, score};
      }
    }
  }
  __device__ float neg2p(int ib, int g, int i) const {
    float neg2p_i, q_i;
    sums(ib, g, i, neg2p_i, q_i);
    return neg2p_i;
  }
  __device__ float q(int ib, int g, int i) const {
    float neg2p_i, q_i;
    sums(ib, g, i, neg2p_i, q_i);
    return q_i;
  }
};

// What the CPU's dequantize_iq3_xxs / _s read back from the block its packer writes for `code`
// (an all-zero code: the all-zero block of a search that found nothing to store).
template <Iq3Kind kKind>
struct Iq3 {
  using Block = Iq3BlockCode;
  static constexpr int kValues = iq3::kSuperBlock;
  __device__ static void encode(const float *x, const float *importance, Block &code) {
    Iq3GpuScorer scorer;
    scorer.kind = kKind;
    scorer.n_points = kKind == Iq3Kind::Xxs ? 256 : 512;
    iq3::search_block(kKind, x, importance, scorer, code);
  }
  __device__ static void decode(const Block &code, float *y) {
    const float d = f16_to_f32(code.d);
    for (int ib = 0; ib < iq3::kSubBlocks; ++ib) {
      const int l = code.sub_scale[ib];
      float db;
      uint32_t sign_bits = 0;
      if (kKind == Iq3Kind::Xxs) {
        db = d * (0.5f + static_cast<float>(l)) * 0.5f;
        for (int g = 0; g < 4; ++g) {  // 7 stored bits, the 8th makes the count even (kSignsIq2xs)
          const uint32_t s7 = code.signs[ib][g] & 127u;
          sign_bits |= (s7 | ((static_cast<uint32_t>(__popc(s7)) & 1u) << 7)) << (8 * g);
        }
      } else {
        db = d * static_cast<float>(1 + 2 * l);
        for (int g = 0; g < 4; ++g) sign_bits |= static_cast<uint32_t>(code.signs[ib][g]) << (8 * g);
      }
      for (int i = 0; i < iq3::kSubBlock; ++i) {
        const int index = kKind == Iq3Kind::Xxs ? (code.grid_index[ib][i / 4] & 0xff) : (code.grid_index[ib][i / 4] & 0x1ff);
        const float v = db * static_cast<float>((iq3_grid_entry(kKind, index) >> (8 * (i % 4))) & 0xff);
        y[ib * iq3::kSubBlock + i] = (sign_bits >> i) & 1u ? -v : v;
      }
    }
  }
};

// Thread i encodes block i of the matrix (row-major, blocks_per_row per row) and decodes it.
template <class Codec>
__global__ void restore_kernel(const float *x, float *restored, int64_t n_blocks, int64_t blocks_per_row,
                               const float *importance) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n_blocks) return;
  const int64_t column = (i % blocks_per_row) * Codec::kValues;
  typename Codec::Block block;
  Codec::encode(x + i * Codec::kValues, importance ? importance + column : nullptr, block);
  Codec::decode(block, restored + i * Codec::kValues);
}

template <class Codec>
void launch(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
            cudaStream_t stream, const char *what) {
  const int64_t per_row = n_cols / Codec::kValues, n_blocks = n_rows * per_row;
  if (n_blocks == 0) return;
  const int grid = static_cast<int>((n_blocks + kThreads - 1) / kThreads);
  restore_kernel<Codec><<<grid, kThreads, 0, stream>>>(x, restored, n_blocks, per_row, importance);
  cuda_check(cudaGetLastError(), what);
}

}  // namespace

void quantize_restore_iq3_xxs(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                              cudaStream_t stream) {
  upload_iq3_grids();
  launch<Iq3<Iq3Kind::Xxs>>(x, restored, n_rows, n_cols, importance, stream, "IQ3_XXS quantize kernel");
}

void quantize_restore_iq3_s(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                            cudaStream_t stream) {
  upload_iq3_grids();
  launch<Iq3<Iq3Kind::S>>(x, restored, n_rows, n_cols, importance, stream, "IQ3_S quantize kernel");
}

void quantize_restore_iq4_nl(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                             cudaStream_t stream) {
  launch<Iq4Nl>(x, restored, n_rows, n_cols, importance, stream, "IQ4_NL quantize kernel");
}

void quantize_restore_iq4_xs(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                             cudaStream_t stream) {
  launch<Iq4Xs>(x, restored, n_rows, n_cols, importance, stream, "IQ4_XS quantize kernel");
}

}  // namespace qs::gpu
