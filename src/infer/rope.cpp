// Rope frequencies and rotation. The frequency formulas follow transformers' modeling_rope_utils
// step for step in float32 (the reference logits come from it), so that angles at large positions
// round the same way.
#include "infer/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace qs {
namespace {

// transformers: base ** (arange(0, dim, 2).float() / dim), in float32.
std::vector<float> position_frequencies(float theta, int64_t n_rot) {
  std::vector<float> freqs(static_cast<size_t>(n_rot / 2));
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(n_rot);
    freqs[static_cast<size_t>(i)] = std::pow(theta, exponent);
  }
  return freqs;
}

// Llama 3.1: low frequencies (long wavelengths) are divided by factor, high ones kept, and the band
// in between blended smoothly.
void apply_llama3_scaling(const RopeConfig &rope, std::vector<float> &inv) {
  const float old_context = static_cast<float>(rope.original_context);
  const float low_freq_wavelen = old_context / rope.low_freq_factor;
  const float high_freq_wavelen = old_context / rope.high_freq_factor;
  const float two_pi = static_cast<float>(2.0 * std::numbers::pi);
  for (float &f : inv) {
    const float wavelen = two_pi / f;
    const float scaled = wavelen > low_freq_wavelen ? f / rope.factor : f;
    const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
    if (medium) {
      const float smooth = (old_context / wavelen - rope.low_freq_factor) /
                           (rope.high_freq_factor - rope.low_freq_factor);
      f = (1.0f - smooth) * scaled / rope.factor + smooth * scaled;
    } else {
      f = scaled;
    }
  }
}

// YaRN (arXiv 2309.00071): dimensions rotating fewer than beta_slow times over the original
// context are interpolated (divided by factor), those rotating more than beta_fast times are kept,
// with a linear ramp between.
void apply_yarn_scaling(const RopeConfig &rope, const std::vector<float> &pos_freqs, std::vector<float> &inv) {
  const double dim = static_cast<double>(rope.n_rot);
  const double base = rope.theta;
  const double context = static_cast<double>(rope.original_context);
  auto correction_dim = [&](double rotations) {
    return dim * std::log(context / (rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(base));
  };
  double low = correction_dim(rope.beta_fast);
  double high = correction_dim(rope.beta_slow);
  if (rope.yarn_truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, dim - 1);
  if (low == high) high += 0.001;  // transformers: "prevent singularity"
  const float low_f = static_cast<float>(low);
  const float span_f = static_cast<float>(high - low);
  for (size_t i = 0; i < inv.size(); ++i) {
    const float extrapolation = 1.0f / pos_freqs[i];
    const float interpolation = 1.0f / (rope.factor * pos_freqs[i]);
    const float ramp = std::clamp((static_cast<float>(i) - low_f) / span_f, 0.0f, 1.0f);
    const float extrapolation_factor = 1.0f - ramp;
    inv[i] = interpolation * (1.0f - extrapolation_factor) + extrapolation * extrapolation_factor;
  }
}

}  // namespace

std::vector<float> rope_inverse_frequencies(const RopeConfig &rope) {
  if (rope.n_rot <= 0 || rope.n_rot % 2 != 0) fail("rope: rotated dimensions must be a positive even number, got ", rope.n_rot);
  const std::vector<float> pos_freqs = position_frequencies(rope.theta, rope.n_rot);
  std::vector<float> inv(pos_freqs.size());
  for (size_t i = 0; i < inv.size(); ++i) inv[i] = 1.0f / pos_freqs[i];
  switch (rope.scaling) {
    case RopeScalingKind::None:
      break;
    case RopeScalingKind::Linear:
      for (float &f : inv) f /= rope.factor;
      break;
    case RopeScalingKind::Llama3:
      if (rope.original_context <= 0) fail("rope: llama3 scaling needs original_max_position_embeddings");
      apply_llama3_scaling(rope, inv);
      break;
    case RopeScalingKind::Yarn:
      if (rope.original_context <= 0) fail("rope: yarn scaling needs the original context length");
      apply_yarn_scaling(rope, pos_freqs, inv);
      break;
  }
  if (!rope.freq_factors.empty()) {
    if (rope.freq_factors.size() != inv.size()) {
      fail("rope: rope_freqs has ", rope.freq_factors.size(), " factors, expected n_rot/2 = ", inv.size());
    }
    for (size_t i = 0; i < inv.size(); ++i) inv[i] /= rope.freq_factors[i];
  }
  return inv;
}

RopeTable make_rope_table(const RopeConfig &rope, int64_t n_positions) {
  const std::vector<float> inv = rope_inverse_frequencies(rope);
  RopeTable table;
  table.style = rope.style;
  table.n_rot = rope.n_rot;
  table.n_positions = n_positions;
  const size_t half = inv.size();
  table.cos.resize(static_cast<size_t>(n_positions) * half);
  table.sin.resize(static_cast<size_t>(n_positions) * half);
  for (int64_t pos = 0; pos < n_positions; ++pos) {
    for (size_t i = 0; i < half; ++i) {
      // The angle is one float32 product, as in transformers (inv_freq @ position_ids).
      const float angle = static_cast<float>(pos) * inv[i];
      const size_t at = static_cast<size_t>(pos) * half + i;
      table.cos[at] = static_cast<float>(std::cos(static_cast<double>(angle))) * rope.attention_factor;
      table.sin[at] = static_cast<float>(std::sin(static_cast<double>(angle))) * rope.attention_factor;
    }
  }
  return table;
}

void apply_rope(float *heads, int64_t n_heads, int64_t head_dim, const RopeTable &table, int64_t pos) {
  const int64_t half = table.n_rot / 2;
  const float *cos = table.cos.data() + pos * half;
  const float *sin = table.sin.data() + pos * half;
  for (int64_t h = 0; h < n_heads; ++h) {
    float *x = heads + h * head_dim;
    if (table.style == RopeStyle::Normal) {
      for (int64_t i = 0; i < half; ++i) {
        const float a = x[2 * i], b = x[2 * i + 1];
        x[2 * i] = a * cos[i] - b * sin[i];
        x[2 * i + 1] = b * cos[i] + a * sin[i];
      }
    } else {
      for (int64_t i = 0; i < half; ++i) {
        const float a = x[i], b = x[i + half];
        x[i] = a * cos[i] - b * sin[i];
        x[i + half] = b * cos[i] + a * sin[i];
      }
    }
  }
}

}  // namespace qs
