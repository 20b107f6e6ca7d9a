// The realistic budget-optimiser instance shared by tests/strategy/mix_optimizer_test.cpp and
// bench/strategy_optimizer_bench.cpp: the same tensors and types in both, so the benchmark measures
// what the test proves.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "strategy/mix_optimizer.h"

namespace qs::test {

// A tensor-shaped instance: the projections of a Llama-style layer (4096 wide, 1024-wide k/v, 14336
// FFN) in 24 ggml types at their real block sizes, so that many sizes repeat and two types (F16,
// BF16) and several pairs (Q3_K/IQ3_S, Q4_0/IQ4_NL, ...) tie in bytes. Error falls like
// exp(-effective bits) times a per-tensor sensitivity (log-normal), with 15 % noise per type.
inline std::vector<MixGroup> realistic_instance(int n_groups, uint32_t seed) {
  struct Type {
    int block, block_bytes;
    double bit_penalty;  // how many bits the type loses to its format against an ideal quantizer
  };
  static const Type types[] = {{256, 50, 0.2},  {256, 54, 0.5}, {256, 56, 0.2},   {256, 66, 0.2},  {256, 66, 0.5},
                               {256, 74, 0.2},  {256, 82, 0.2}, {256, 84, 0.3},   {256, 98, 0.2},  {256, 110, 0.2},
                               {256, 110, 0.3}, {256, 136, 0.2}, {32, 17, 0.4},   {32, 18, 0.5},   {32, 18, 0.25},
                               {256, 144, 0.2}, {32, 20, 0.45}, {32, 22, 0.5},    {256, 176, 0.2}, {32, 24, 0.45},
                               {256, 210, 0.2}, {32, 34, 0.3},  {1, 2, 0.0},      {1, 2, 0.02}};
  static const int64_t shapes[7][2] = {{4096, 4096},  {1024, 4096},  {1024, 4096}, {4096, 4096},
                                       {14336, 4096}, {14336, 4096}, {4096, 14336}};
  std::mt19937 rng(seed);
  std::lognormal_distribution<double> sensitivity(0.0, 1.0), noise(0.0, 0.15);
  std::vector<MixGroup> groups;
  for (int g = 0; g < n_groups; ++g) {
    const int64_t n_elements = shapes[g % 7][0] * shapes[g % 7][1];
    const double tensor_sensitivity = sensitivity(rng);
    MixGroup group;
    for (const Type &t : types) {
      const double bpw = 8.0 * t.block_bytes / t.block;
      group.push_back({static_cast<uint64_t>(n_elements / t.block * t.block_bytes),
                       tensor_sensitivity * std::exp(-(bpw - t.bit_penalty)) * noise(rng)});
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

// The budget of `bpw` bits per weight over the instance's weights (Q8_0 is 34 bytes per 32 weights).
inline uint64_t budget_at_bpw(const std::vector<MixGroup> &groups, double bpw) {
  double n_weights = 0;
  for (const auto &group : groups) n_weights += static_cast<double>(group[21].bytes) * 32 / 34;
  return static_cast<uint64_t>(n_weights * bpw / 8);
}

}  // namespace qs::test
