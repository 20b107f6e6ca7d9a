// The GPU's quantizers against the CPU's, type by type: the restored values (encode then decode)
// equal the CPU quantizer's bit for bit, on LLM-like weights and on blocks chosen to break a
// careless port (zeros, subnormals, huge and tiny magnitudes, constant blocks, values on the
// midpoints between levels, a lone outlier, points of the IQ1 and IQ2 lattices, repeated values that
// tie in IQ1's sort, half-empty sub-blocks), with and without an importance vector (zeros in it);
// and the k-quants on rows long enough that the CPU searches them in several batches of
// super-blocks. No NaN or infinity: a GPU's NaN results carry other payload bits than an x86 CPU's.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "core/error.h"
#include "gpu/device_buffer.h"
#include "gpu/gpu_quantize.h"
#include "quant/types.h"

namespace qs::gpu_quantize_test {
namespace {

constexpr int64_t kCols = 512;

std::vector<float> test_matrix(int64_t &n_rows) {
  std::mt19937 rng(11);
  std::student_t_distribution<float> heavy(3.0f);
  std::vector<std::vector<float>> rows;
  for (int r = 0; r < 40; ++r) {  // weights as an LLM's
    std::vector<float> row(kCols);
    for (float &x : row) x = 0.02f * heavy(rng);
    rows.push_back(row);
  }
  rows.emplace_back(kCols, 0.0f);                                 // all zero
  rows.emplace_back(kCols, 0.37f);                                // constant
  rows.emplace_back(kCols, 1e-39f);                               // subnormal
  std::vector<float> row(kCols);
  for (int64_t j = 0; j < kCols; ++j) row[j] = (j % 2 ? 1e-20f : -3e-21f) * static_cast<float>(j % 7 + 1);
  rows.push_back(row);                                            // tiny
  for (int64_t j = 0; j < kCols; ++j) row[j] = 1e4f * std::sin(static_cast<float>(j));
  rows.push_back(row);                                            // huge
  // Midpoints between neighbouring levels of IQ4's table times a scale: nearest-level ties.
  const float levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
  for (int64_t j = 0; j < kCols; ++j) row[j] = 0.01f * 0.5f * (levels[j % 15] + levels[j % 15 + 1]);
  rows.push_back(row);
  for (int64_t j = 0; j < kCols; ++j) row[j] = j % 64 == 5 ? 3.0f : 0.001f * static_cast<float>(j % 3);
  rows.push_back(row);                                            // a lone outlier per block
  for (int64_t j = 0; j < kCols; ++j) row[j] = j % 2 ? 0.5f : -0.5f;
  rows.push_back(row);                                            // alternating
  // IQ2's lattice: magnitudes 8, 25, 43 times a step, signs mixed (on and off its grid).
  const float iq2_magnitudes[3] = {8, 25, 43};
  for (int64_t j = 0; j < kCols; ++j) row[j] = 0.001f * iq2_magnitudes[(j * 7 + j / 5) % 3] * (j % 3 == 1 ? -1.0f : 1.0f);
  rows.push_back(row);
  // IQ1's lattice shifted by delta, and so many equal values that the sort's ties and the
  // splits' ties decide.
  for (int64_t j = 0; j < kCols; ++j) row[j] = 0.02f * (static_cast<float>((j * 5 + j / 3) % 3) - 1.0f + 0.125f);
  rows.push_back(row);
  // Every second half of 8 empty (IQ1_M's halves take their own delta).
  for (int64_t j = 0; j < kCols; ++j) row[j] = j % 16 < 8 ? 0.0f : 0.03f * std::sin(static_cast<float>(j * j));
  rows.push_back(row);
  n_rows = static_cast<int64_t>(rows.size());
  std::vector<float> all;
  for (const auto &r : rows) all.insert(all.end(), r.begin(), r.end());
  return all;
}

std::vector<float> importance_vector(int64_t n_cols = kCols) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  std::vector<float> w(n_cols);
  for (int64_t j = 0; j < n_cols; ++j) w[j] = j % 37 == 0 ? 0.0f : std::exp(normal(rng));
  return w;
}

std::vector<float> restore_on_cpu(const QuantType &type, const std::vector<float> &x, int64_t n_rows, const float *importance,
                                  int64_t n_cols = kCols) {
  std::vector<uint8_t> bytes(static_cast<size_t>(n_rows) * type.row_bytes(n_cols));
  type.quantize(x.data(), bytes.data(), n_rows, n_cols, importance);
  std::vector<float> y(x.size());
  type.dequantize(bytes.data(), y.data(), static_cast<int64_t>(x.size()));
  return y;
}

std::vector<float> restore_on_gpu(const QuantType &type, const std::vector<float> &x, int64_t n_rows,
                                  const std::vector<float> *importance, int64_t n_cols = kCols) {
  gpu::DeviceBuffer<float> in, out, weights;
  in.upload(x.data(), x.size(), nullptr);
  if (importance) weights.upload(importance->data(), importance->size(), nullptr);
  gpu::quantize_restore(type, in.data(), out.reserve(x.size()), n_rows, n_cols, importance ? weights.data() : nullptr,
                        nullptr);
  std::vector<float> y(x.size());
  out.download(y.data(), y.size(), nullptr);
  gpu::cuda_check(cudaDeviceSynchronize(), "quantize test");
  return y;
}

TEST(GpuQuantize, RestoredValuesEqualTheCpuQuantizersBitForBit) {
  int64_t n_rows = 0;
  const std::vector<float> x = test_matrix(n_rows);
  const std::vector<float> importance = importance_vector();
  int types = 0;
  for (const QuantType &type : all_quant_types()) {
    if (!gpu::quantizes_on_gpu(type)) continue;
    ++types;
    for (const std::vector<float> *w : {static_cast<const std::vector<float> *>(nullptr), &importance}) {
      const std::vector<float> cpu = restore_on_cpu(type, x, n_rows, w ? w->data() : nullptr);
      const std::vector<float> gpu = restore_on_gpu(type, x, n_rows, w);
      int64_t differing = 0, first = -1;
      for (size_t i = 0; i < cpu.size(); ++i)
        if (std::memcmp(&cpu[i], &gpu[i], sizeof(float)) != 0) {
          if (first < 0) first = static_cast<int64_t>(i);
          ++differing;
        }
      EXPECT_EQ(differing, 0) << type.name << (w ? " with importance" : "") << ": first at row " << first / kCols
                              << " column " << first % kCols << ": cpu " << cpu[static_cast<size_t>(std::max<int64_t>(first, 0))]
                              << " gpu " << gpu[static_cast<size_t>(std::max<int64_t>(first, 0))];
    }
  }
  EXPECT_EQ(types, 9);  // Q2_K, Q4_K, Q5_K, IQ1_M, IQ2_S, IQ3_XXS, IQ3_S, IQ4_NL and IQ4_XS
}

// The CPU searches a k-quant row's sub-blocks in batches of 16 super-blocks, the GPU one super-block
// per thread: rows of 40 super-blocks (two batches and a part), the importance floored over the
// whole row (its mean, summed in double, sets every weight's floor).
TEST(GpuQuantize, KQuantsOnLongRowsEqualTheCpuBitForBit) {
  constexpr int64_t kLongCols = 40 * 256, kLongRows = 6;
  std::mt19937 rng(23);
  std::student_t_distribution<float> heavy(3.0f);
  std::vector<float> x(static_cast<size_t>(kLongRows * kLongCols));
  for (float &v : x) v = 0.02f * heavy(rng);
  for (int64_t j = 0; j < 300; ++j) x[static_cast<size_t>(kLongCols + j)] = 0.0f;  // a zero super-block and a part
  for (int64_t j = 0; j < kLongCols; ++j) x[static_cast<size_t>(2 * kLongCols + j)] *= j % 512 < 256 ? 1e-3f : 40.0f;
  const std::vector<float> importance = importance_vector(kLongCols);
  for (const char *name : {"Q2_K", "Q4_K", "Q5_K"}) {
    const QuantType &type = quant_type_by_name(name);
    ASSERT_TRUE(gpu::quantizes_on_gpu(type)) << name;
    for (const std::vector<float> *w : {static_cast<const std::vector<float> *>(nullptr), &importance}) {
      const std::vector<float> cpu = restore_on_cpu(type, x, kLongRows, w ? w->data() : nullptr, kLongCols);
      const std::vector<float> gpu = restore_on_gpu(type, x, kLongRows, w, kLongCols);
      int64_t differing = 0;
      for (size_t i = 0; i < cpu.size(); ++i) differing += std::memcmp(&cpu[i], &gpu[i], sizeof(float)) != 0;
      EXPECT_EQ(differing, 0) << name << (w ? " with importance" : "");
    }
  }
}

TEST(GpuQuantize, TypesWithoutAKernelAreRefused) {
  EXPECT_FALSE(gpu::quantizes_on_gpu(quant_type_by_name("Q8_0")));
  gpu::DeviceBuffer<float> buffer(kCols);
  EXPECT_THROW(gpu::quantize_restore(quant_type_by_name("Q8_0"), buffer.data(), buffer.data(), 1, kCols, nullptr, nullptr),
               Error);
}

}  // namespace
}  // namespace qs::gpu_quantize_test
