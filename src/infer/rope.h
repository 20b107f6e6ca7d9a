// Rotary position embedding: the per-pair frequencies (with linear / llama3 / YaRN scaling, as
// transformers computes them in float32), a cos/sin table per position, and the rotation itself
// in both pairings (interleaved = llama.cpp NORM, halves = NEOX).
#pragma once

#include <cstdint>
#include <vector>

#include "infer/transformer_config.h"

namespace qs {

// The inverse frequency of each rotated pair i in [0, n_rot/2), scaled as configured.
std::vector<float> rope_inverse_frequencies(const RopeConfig &rope);

// cos and sin of position * inverse frequency for positions [0, n_positions), times
// rope.attention_factor. Row `pos` holds n_rot/2 values.
struct RopeTable {
  RopeStyle style = RopeStyle::NeoX;
  int64_t n_rot = 0;
  int64_t n_positions = 0;
  std::vector<float> cos;
  std::vector<float> sin;
};
RopeTable make_rope_table(const RopeConfig &rope, int64_t n_positions);

// Rotates the first n_rot dimensions of each of n_heads vectors (head_dim floats apart, one
// token's heads) for position pos. Dimensions past n_rot are left as they are.
void apply_rope(float *heads, int64_t n_heads, int64_t head_dim, const RopeTable &table, int64_t pos);

}  // namespace qs
