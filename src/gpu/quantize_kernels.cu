// The kernels of quantize_kernels.h. Compiled with -fmad=false (CMakeLists.txt): the CPU never
// fuses a multiply and an add (-ffp-contract=off), so neither may the GPU if the two are to give
// the same bits; divisions and square roots are IEEE (no fast math) on both.
#include "gpu/quantize_kernels.h"

#include <cfloat>
#include <cmath>
#include <mutex>

#include "gpu/cuda_check.h"
#include "quant/iq1_block_search.h"
#include "quant/iq1_blocks.h"
#include "quant/iq2_block_search.h"
#include "quant/iq2_blocks.h"
#include "quant/iq2_grids.h"
#include "quant/iq2_search.h"
#include "quant/iq3_block_search.h"
#include "quant/iq3_blocks.h"
#include "quant/iq3_grids.h"
#include "quant/iq4_blocks.h"
#include "quant/importance.h"
#include "quant/kquants.h"
#include "quant/kquants_common.h"
#include "quant/q2_k_blocks.h"
#include "quant/q4_k_q5_k_blocks.h"

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

// The GPU's scores for iq3::search_block: a point's -2 P_i and Q_i computed when needed by
// iq3::point_sums, the function that fills the CPU's tables (iq3_group_table_ref), so the same floats.
template <Iq3Kind kKind>
struct Iq3GpuScorer {
  static constexpr int kPoints = kKind == Iq3Kind::Xxs ? 256 : 512;
  float wa[iq3::kSubBlocks][iq3::kGroups][4];  // w_k a_k of each group
  const float *w[iq3::kSubBlocks][iq3::kGroups];

  __device__ static uint32_t grid_entry(int i) { return kKind == Iq3Kind::Xxs ? kIq3xxsGridOnGpu[i] : kIq3sGridOnGpu[i]; }

  __device__ void prepare(int ib, int g, const float *group_a, const float *group_w) {
    for (int k = 0; k < 4; ++k) wa[ib][g][k] = group_w[k] * group_a[k];
    w[ib][g] = group_w;
  }
  __device__ void sums(int ib, int g, int i, float &neg2p_i, float &q_i) const {
    const uint32_t entry = grid_entry(i);
    float m[4], m2[4];
    for (int k = 0; k < 4; ++k) {
      m[k] = static_cast<float>((entry >> (8 * k)) & 0xff);
      m2[k] = m[k] * m[k];
    }
    iq3::point_sums(wa[ib][g], w[ib][g], m, m2, neg2p_i, q_i);
  }
  // As the CPU's iq3_select_ref, with the steps in the inner loop: each point's sums made once.
  __device__ void select(int ib, int g, const float *steps, int n_steps, Iq3Selection *out) const {
    for (int j = 0; j < n_steps; ++j) out[j] = {0, INFINITY};
    for (int i = 0; i < kPoints; ++i) {
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

// As the CPU's quantize_rows and dequantize in iq3.cpp: the block zeroed, the search's code packed
// into it when the search found something to store, then the reference decoder.
struct Iq3Xxs {
  using Block = BlockIq3Xxs;
  static constexpr int kValues = iq3::kSuperBlock;
  __device__ static void encode(const float *x, const float *importance, Block &block) {
    Iq3GpuScorer<Iq3Kind::Xxs> scorer;
    Iq3BlockCode code;
    block = Block{};
    if (iq3::search_block(Iq3Kind::Xxs, x, importance, scorer, code)) pack_iq3_xxs(code, block);
  }
  __device__ static void decode(const Block &block, float *y) {
    decode_iq3_xxs_block<iq3::DecodeSubBlockRef>(block, kIq3xxsGridOnGpu, y);
  }
};

struct Iq3S {
  using Block = BlockIq3S;
  static constexpr int kValues = iq3::kSuperBlock;
  __device__ static void encode(const float *x, const float *importance, Block &block) {
    Iq3GpuScorer<Iq3Kind::S> scorer;
    Iq3BlockCode code;
    block = Block{};
    if (iq3::search_block(Iq3Kind::S, x, importance, scorer, code)) pack_iq3_s(code, block);
  }
  __device__ static void decode(const Block &block, float *y) { decode_iq3_s_block<iq3::DecodeSubBlockRef>(block, kIq3sGridOnGpu, y); }
};

// The IQ2_S grid and each entry's 4 pair codes (iq2_search.h's PairCodedGrid, pair p in byte p) in
// constant memory: every thread of a warp reads the same entry at once while it scans a group.
__constant__ uint64_t kIq2sGridOnGpu[1024];
__constant__ uint32_t kIq2sPairCodesOnGpu[1024];
static_assert(sizeof(kIq2sGridOnGpu) == sizeof(iq2s_grid));

void upload_iq2s_tables() {
  static std::once_flag once;
  std::call_once(once, [] {
    const iq2::PairCodedGrid &grid = iq2::iq2s_pairs();
    uint32_t codes[1024];
    for (int g = 0; g < 1024; ++g) {
      codes[g] = 0;
      for (int p = 0; p < 4; ++p) codes[g] |= static_cast<uint32_t>(grid.codes[p][g]) << (8 * p);
    }
    cuda_check(cudaMemcpyToSymbol(kIq2sGridOnGpu, iq2s_grid.data(), sizeof(kIq2sGridOnGpu)), "IQ2_S grid");
    cuda_check(cudaMemcpyToSymbol(kIq2sPairCodesOnGpu, codes, sizeof(codes)), "IQ2_S pair codes");
  });
}

// The GPU's scores for iq2::search_block: an entry's 2A' and B computed when needed with
// iq2::entry_sums, the function that fills the CPU's tables (so the same floats), from the pair
// shares of the (two) groups of IQ2_S's sub-block in hand.
struct Iq2sGpuScorer {
  static constexpr int kGroupSlots = 2;  // IQ2_S's sub-blocks of 16 hold 2 groups of 8
  iq2::PairTables pairs[kGroupSlots];
  bool odd_parity[kGroupSlots];

  __device__ void prepare(int k, const iq2::PairTables &group_pairs, bool odd) {
    pairs[k] = group_pairs;
    odd_parity[k] = odd;
  }
  __device__ void sums(int k, int g, float &a2, float &b) const {
    const uint32_t codes = kIq2sPairCodesOnGpu[g];
    iq2::entry_sums(pairs[k], codes & 0xff, (codes >> 8) & 0xff, (codes >> 16) & 0xff, codes >> 24, odd_parity[k], a2, b);
  }
  // As the CPU's scan_scalar, with the scales in the inner loop: each entry's sums made once.
  __device__ void scan(int k, const float *u, int n_u, int *best) const {
    float lowest[iq2::kLadderSteps];
    for (int t = 0; t < n_u; ++t) {
      lowest[t] = FLT_MAX;
      best[t] = -1;
    }
    for (int g = 0; g < 1024; ++g) {
      float a2, b;
      sums(k, g, a2, b);
      for (int t = 0; t < n_u; ++t) {
        const float score = iq2::entry_score(a2, b, u[t]);
        if (score < lowest[t]) {
          lowest[t] = score;
          best[t] = g;
        }
      }
    }
  }
  __device__ int best_candidate(const iq2::Candidates &candidates, float u, float *score) const {
    return iq2::best_candidate_ref(candidates, u, score);
  }
  __device__ uint64_t grid_entry(int g) const { return kIq2sGridOnGpu[g]; }
};

struct Iq2S {
  using Block = BlockIq2s;
  static constexpr int kValues = iq2::kValues;
  __device__ static void encode(const float *x, const float *importance, Block &block) {
    Iq2sGpuScorer scorer;
    iq2::encode_s_block(x, importance, scorer, block);
  }
  __device__ static void decode(const Block &block, float *y) { decode_iq2_s_block(block, kIq2sGridOnGpu, y); }
};

// The IQ1 grid and its search tables (iq_grid_search.h: 170 KiB of lattice map and 650 KiB of
// neighbour lists, past constant memory's 64 KiB) in global memory, where each thread reads its own
// keys' entries; the pointers in constant memory. Uploaded once, kept for the process's life.
struct Iq1TablesOnGpu {
  iq::GridSearchTables search;
  const uint64_t *grid;
};
__constant__ Iq1TablesOnGpu kIq1TablesOnGpu;

template <typename T>
const T *upload_for_good(const T *host, size_t n, const char *what) {
  void *device = nullptr;
  cuda_check(cudaMalloc(&device, n * sizeof(T)), what);
  cuda_check(cudaMemcpy(device, host, n * sizeof(T), cudaMemcpyHostToDevice), what);
  return static_cast<const T *>(device);
}

void upload_iq1_tables() {
  static std::once_flag once;
  std::call_once(once, [] {
    const iq::GridSearch &search = iq::iq1s_search();
    Iq1TablesOnGpu tables;
    tables.search.map = upload_for_good(search.map.data(), search.map.size(), "IQ1 lattice map");
    tables.search.neighbours = upload_for_good(search.neighbours.data(), search.neighbours.size(), "IQ1 neighbours");
    tables.search.levels = upload_for_good(search.levels.data(), search.levels.size(), "IQ1 grid levels");
    tables.grid = upload_for_good(iq1s_grid.data(), iq1s_grid.size(), "IQ1 grid");
    cuda_check(cudaMemcpyToSymbol(kIq1TablesOnGpu, &tables, sizeof(tables)), "IQ1 tables");
  });
}

// The GPU's Searcher for iq1_block_search.h (IQ1_M's part): its scalar references over the tables
// in GPU memory.
struct Iq1GpuSearcher {
  iq::GridSearchTables tables;

  __device__ iq1::Split iq1m_split(const float *x, const float *w, const bool *second_half, const float *level_plus,
                                   const float *level_minus, float initial_scale) const {
    return iq1::iq1m_split_ref(x, w, second_half, level_plus, level_minus, initial_scale);
  }
  __device__ int best_neighbour(uint16_t key, const float *x, const float *weight, float scale, const float *level_value,
                                int8_t *L) const {
    return iq1::best_neighbour_ref(tables, key, x, weight, scale, level_value, L);
  }
};

struct Iq1M {
  using Block = BlockIq1m;
  static constexpr int kValues = iq1::kValues;
  __device__ static void encode(const float *x, const float *importance, Block &block) {
    iq1::encode_iq1_m_block(x, importance, Iq1GpuSearcher{kIq1TablesOnGpu.search}, block);
  }
  __device__ static void decode(const Block &block, float *y) { decode_iq1_m_block(block, kIq1TablesOnGpu.grid, y); }
};

// The k-quants: a super-block by the CPU's block code, its sub-blocks searched one by one (the CPU
// searches a row's in batches; each search reads only its own block, so the fits are the same).
// The weights are the floored importance (floored_weights_kernel below), as the CPU's row driver
// passes them, or null.
struct Q2K {
  using Block = BlockQ2_K;
  static constexpr int kValues = kSuperBlock;
  __device__ static void encode(const float *x, const float *weights, Block &block) {
    q2_k::encode_block_ref(x, weights, block);
  }
  __device__ static void decode(const Block &block, float *y) { q2_k::decode_block(block, y); }
};

template <int kBits, class BlockType>
struct Q4KQ5K {
  using Block = BlockType;
  static constexpr int kValues = kSuperBlock;
  __device__ static void encode(const float *x, const float *weights, Block &block) {
    q4_k_q5_k::encode_block_ref<kBits>(x, weights, block);
  }
  __device__ static void decode(const Block &block, float *y) { q4_k_q5_k::decode_block(block, y); }
};
using Q4K = Q4KQ5K<4, BlockQ4_K>;
using Q5K = Q4KQ5K<5, BlockQ5_K>;

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

// The CPU's floored_importance (the k-quants' row driver weighs every row by it): one block; its
// first thread sums the importance in double in index order (importance_floor, the CPU's own code),
// then every thread writes its columns.
__global__ void floored_weights_kernel(const float *importance, int64_t n_cols, float floor_fraction, float *weights) {
  __shared__ float row_floor;
  if (threadIdx.x == 0) row_floor = importance_floor(importance, n_cols, floor_fraction);
  __syncthreads();
  for (int64_t j = threadIdx.x; j < n_cols; j += blockDim.x) weights[j] = floored_weight(importance[j], row_floor);
}

// Floats in stream-ordered GPU memory for one call: allocated and freed in the stream's order, so
// the kernels queued between may still read them when the host returns.
class StreamScratch {
 public:
  StreamScratch(size_t n, cudaStream_t stream, const char *what) : stream_(stream) {
    cuda_check(cudaMallocAsync(reinterpret_cast<void **>(&data_), n * sizeof(float), stream), what);
  }
  StreamScratch(const StreamScratch &) = delete;
  StreamScratch &operator=(const StreamScratch &) = delete;
  ~StreamScratch() { cudaFreeAsync(data_, stream_); }
  float *data() { return data_; }

 private:
  float *data_ = nullptr;
  cudaStream_t stream_;
};

// launch() for a k-quant: with an importance vector, its floored weights are made once per call
// and the blocks read them instead.
template <class Codec>
void launch_floored(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                    cudaStream_t stream, const char *what) {
  if (!importance || n_cols == 0) {
    launch<Codec>(x, restored, n_rows, n_cols, importance, stream, what);
    return;
  }
  StreamScratch weights(static_cast<size_t>(n_cols), stream, what);
  floored_weights_kernel<<<1, 256, 0, stream>>>(importance, n_cols, kKQuantImportanceFloor, weights.data());
  cuda_check(cudaGetLastError(), what);
  launch<Codec>(x, restored, n_rows, n_cols, weights.data(), stream, what);
}

}  // namespace

void quantize_restore_iq1_m(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                            cudaStream_t stream) {
  upload_iq1_tables();
  launch<Iq1M>(x, restored, n_rows, n_cols, importance, stream, "IQ1_M quantize kernel");
}

void quantize_restore_iq2_s(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                            cudaStream_t stream) {
  upload_iq2s_tables();
  launch<Iq2S>(x, restored, n_rows, n_cols, importance, stream, "IQ2_S quantize kernel");
}

void quantize_restore_iq3_xxs(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                              cudaStream_t stream) {
  upload_iq3_grids();
  launch<Iq3Xxs>(x, restored, n_rows, n_cols, importance, stream, "IQ3_XXS quantize kernel");
}

void quantize_restore_iq3_s(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                            cudaStream_t stream) {
  upload_iq3_grids();
  launch<Iq3S>(x, restored, n_rows, n_cols, importance, stream, "IQ3_S quantize kernel");
}

void quantize_restore_iq4_nl(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                             cudaStream_t stream) {
  launch<Iq4Nl>(x, restored, n_rows, n_cols, importance, stream, "IQ4_NL quantize kernel");
}

void quantize_restore_iq4_xs(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                             cudaStream_t stream) {
  launch<Iq4Xs>(x, restored, n_rows, n_cols, importance, stream, "IQ4_XS quantize kernel");
}

void quantize_restore_q2_k(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                           cudaStream_t stream) {
  launch_floored<Q2K>(x, restored, n_rows, n_cols, importance, stream, "Q2_K quantize kernel");
}

void quantize_restore_q4_k(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                           cudaStream_t stream) {
  launch_floored<Q4K>(x, restored, n_rows, n_cols, importance, stream, "Q4_K quantize kernel");
}

void quantize_restore_q5_k(const float *x, float *restored, int64_t n_rows, int64_t n_cols, const float *importance,
                           cudaStream_t stream) {
  launch_floored<Q5K>(x, restored, n_rows, n_cols, importance, stream, "Q5_K quantize kernel");
}

}  // namespace qs::gpu
