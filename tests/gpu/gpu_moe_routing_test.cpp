// The GPU's MoE routing against the CPU pass's route_top_k: the same experts for every token, in
// the same order (logits drawn from a few values, so ties are common, and near ties whose
// probabilities round alike), weights within float rounding of the CPU's; and every expert's list
// of tokens equal to one built on the host from the GPU's own choices.
#include <gtest/gtest.h>

#include <random>

#include "gpu/device_buffer.h"
#include "gpu/moe_routing.h"
#include "infer/moe.h"

namespace qs::gpu_moe_routing_test {
namespace {

struct Routing {
  std::vector<int32_t> experts;
  std::vector<float> weights;
};

Routing route_on_gpu(const std::vector<float> &logits, int64_t n_tokens, int64_t n_expert, int64_t k, bool renormalize) {
  gpu::DeviceBuffer<float> device_logits, weights;
  gpu::DeviceBuffer<int32_t> experts;
  device_logits.upload(logits.data(), logits.size(), nullptr);
  const size_t n = static_cast<size_t>(n_tokens * k);
  gpu::route_top_k(device_logits.data(), n_tokens, n_expert, k, renormalize, experts.reserve(n), weights.reserve(n), nullptr);
  Routing r{std::vector<int32_t>(n), std::vector<float>(n)};
  experts.download(r.experts.data(), n, nullptr);
  weights.download(r.weights.data(), n, nullptr);
  gpu::cuda_check(cudaDeviceSynchronize(), "routing test");
  return r;
}

TEST(GpuMoeRouting, ChoosesTheCpusExpertsWithItsWeights) {
  std::mt19937 rng(7);
  for (const auto &[n_expert, k] : {std::pair<int64_t, int64_t>{8, 2}, {60, 4}, {128, 8}}) {
    const int64_t n_tokens = 777;
    std::vector<float> logits(static_cast<size_t>(n_tokens * n_expert));
    std::uniform_int_distribution<int> level(0, 9);
    for (float &x : logits) x = 0.5f * static_cast<float>(level(rng)) - 2.0f;  // many exact ties
    for (int64_t t = 0; t < n_tokens; t += 3) logits[static_cast<size_t>(t * n_expert + 1)] -= 1e-8f;  // near ties
    for (bool renormalize : {false, true}) {
      std::vector<int32_t> cpu_experts(static_cast<size_t>(n_tokens * k));
      std::vector<float> cpu_weights(cpu_experts.size());
      route_top_k(logits.data(), n_tokens, n_expert, k, renormalize, cpu_experts.data(), cpu_weights.data());
      const Routing gpu = route_on_gpu(logits, n_tokens, n_expert, k, renormalize);
      EXPECT_EQ(gpu.experts, cpu_experts) << n_expert << " experts, top " << k;
      for (size_t i = 0; i < cpu_weights.size(); ++i)
        ASSERT_NEAR(gpu.weights[i], cpu_weights[i], 1e-6f * cpu_weights[i]) << i;  // a few ulps: exp differs
    }
  }
}

TEST(GpuMoeRouting, ListsEachExpertsTokensInTokenOrder) {
  const int64_t n_tokens = 1000, n_expert = 16, k = 3;  // more tokens than a block's chunk
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> logits(static_cast<size_t>(n_tokens * n_expert));
  for (float &x : logits) x = normal(rng);
  for (int64_t t = 0; t < n_tokens; ++t) logits[static_cast<size_t>(t * n_expert + 15)] -= 6.0f;  // expert 15: rarely chosen
  const Routing routing = route_on_gpu(logits, n_tokens, n_expert, k, true);
  gpu::DeviceBuffer<int32_t> experts;
  gpu::DeviceBuffer<float> weights, row_weights;
  gpu::DeviceBuffer<int64_t> begin, rows;
  experts.upload(routing.experts.data(), routing.experts.size(), nullptr);
  weights.upload(routing.weights.data(), routing.weights.size(), nullptr);
  const size_t n = routing.experts.size();
  gpu::list_expert_rows(experts.data(), weights.data(), n_tokens, k, n_expert, begin.reserve(n_expert + 1), rows.reserve(n),
                        row_weights.reserve(n), nullptr);
  std::vector<int64_t> got_begin(n_expert + 1), got_rows(n);
  std::vector<float> got_weights(n);
  begin.download(got_begin.data(), got_begin.size(), nullptr);
  rows.download(got_rows.data(), n, nullptr);
  row_weights.download(got_weights.data(), n, nullptr);
  gpu::cuda_check(cudaDeviceSynchronize(), "listing test");
  // The host's lists: expert by expert, tokens in order.
  std::vector<int64_t> want_begin{0}, want_rows;
  std::vector<float> want_weights;
  for (int64_t e = 0; e < n_expert; ++e) {
    for (int64_t t = 0; t < n_tokens; ++t)
      for (int64_t j = 0; j < k; ++j)
        if (routing.experts[static_cast<size_t>(t * k + j)] == e) {
          want_rows.push_back(t);
          want_weights.push_back(routing.weights[static_cast<size_t>(t * k + j)]);
        }
    want_begin.push_back(static_cast<int64_t>(want_rows.size()));
  }
  EXPECT_EQ(got_begin, want_begin);
  EXPECT_EQ(got_rows, want_rows);
  EXPECT_EQ(got_weights, want_weights);
  EXPECT_LT(want_begin[16] - want_begin[15], 100);  // one short list among long ones
}

}  // namespace
}  // namespace qs::gpu_moe_routing_test
