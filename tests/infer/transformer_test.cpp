// The whole forward pass on small random models of every supported shape (llama-style interleaved
// rope with llama3 scaling and tied embeddings, qwen2 biases, qwen3 q/k norms, MoE, sliding
// window) against the plain-loop reference of synthetic_model.h, and the API the measurement code
// builds on: starting mid-model, capturing matmul inputs, swapping weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/error.h"
#include "infer/norm.h"
#include "infer/transformer.h"
#include "infer/synthetic_model.h"
#include "test_support.h"

namespace qs::transformer_test {
namespace {

using test::SyntheticOptions;

std::vector<int32_t> some_tokens(int n, int n_vocab) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[static_cast<size_t>(i)] = (i * 37 + 11) % n_vocab;
  return t;
}

Transformer make_model(const SyntheticOptions &o, int n_threads = 2, uint32_t seed = 7) {
  const auto config = test::synthetic_config(o);
  return Transformer(config, test::synthetic_weights(config, o, seed), n_threads);
}

void expect_matches_reference(const SyntheticOptions &o, int n_tokens) {
  const auto config = test::synthetic_config(o);
  const auto weights = test::synthetic_weights(config, o, 7);
  Transformer model(config, weights, 2);
  const auto tokens = some_tokens(n_tokens, static_cast<int>(config.n_vocab));
  const auto got = model.forward(tokens);
  const auto want = test::reference_forward(config, weights, tokens);
  ASSERT_EQ(got.size(), want.size());
  double max_diff = 0;
  for (size_t i = 0; i < got.size(); ++i) max_diff = std::max(max_diff, std::abs(got[i] - want[i]));
  EXPECT_LT(max_diff, 2e-4);
}

TEST(Transformer, LlamaStyleMatchesReference) {
  SyntheticOptions o;
  o.rope_style = RopeStyle::Normal;
  o.rope_scaling = RopeScalingKind::Llama3;
  o.tied = true;
  expect_matches_reference(o, 90);
}

TEST(Transformer, Qwen2StyleBiasesMatchReference) {
  SyntheticOptions o;
  o.qkv_bias = true;
  expect_matches_reference(o, 70);
}

TEST(Transformer, Qwen3StyleQkNormsMatchReference) {
  SyntheticOptions o;
  o.qk_norm = true;
  expect_matches_reference(o, 70);
}

TEST(Transformer, MoeMatchesReference) {
  SyntheticOptions o;
  o.moe = true;
  o.qk_norm = true;
  expect_matches_reference(o, 40);
}

TEST(Transformer, SlidingWindowMatchesReference) {
  SyntheticOptions o;
  o.sliding_window = 5;
  expect_matches_reference(o, 30);
}

TEST(Transformer, ForwardFromAnyLayerEqualsFullForward) {
  SyntheticOptions o;
  o.moe = true;
  Transformer model = make_model(o);
  const auto tokens = some_tokens(33, 50);
  const auto full = model.forward(tokens);
  for (int layer = 0; layer <= 3; ++layer) {
    const auto hidden = model.hidden_states_before_layer(tokens, layer);
    std::vector<float> logits(full.size());
    model.forward_from_layer(layer, hidden, 33, logits.data());
    EXPECT_EQ(logits, full) << "from layer " << layer;
  }
  // Only the last rows of logits.
  std::vector<float> tail(static_cast<size_t>(10 * 50));
  model.forward(tokens, tail.data(), nullptr, 23);
  for (size_t i = 0; i < tail.size(); ++i) ASSERT_NEAR(tail[i], full[23 * 50 + i], 1e-5);
}

TEST(Transformer, BatchOfSequencesWithLogitsFromARowMatchesTheReferencePerSequence) {
  for (const bool moe : {false, true}) {
    SyntheticOptions o;
    o.moe = moe;
    o.qk_norm = true;
    const auto config = test::synthetic_config(o);
    const auto weights = test::synthetic_weights(config, o, 9);
    Transformer model(config, weights, 2);
    const int64_t seq = 24, first = 9, n_seq = 3, n_vocab = config.n_vocab;
    std::vector<int32_t> batch;
    std::vector<std::vector<int32_t>> sequences;
    for (int64_t b = 0; b < n_seq; ++b) {
      std::vector<int32_t> tokens(static_cast<size_t>(seq));
      for (int64_t t = 0; t < seq; ++t) tokens[static_cast<size_t>(t)] = static_cast<int32_t>((t * 13 + b * 7 + 3) % n_vocab);
      batch.insert(batch.end(), tokens.begin(), tokens.end());
      sequences.push_back(tokens);
    }
    std::vector<float> logits(static_cast<size_t>(n_seq * (seq - first) * n_vocab));
    model.forward_from_layer(0, model.embed(batch), seq * n_seq, logits.data(), nullptr, first, seq);
    // Independent: the double-precision reference forward, one sequence at a time.
    for (int64_t b = 0; b < n_seq; ++b) {
      const auto want = test::reference_forward(config, weights, sequences[static_cast<size_t>(b)]);
      for (int64_t r = 0; r < seq - first; ++r)
        for (int64_t j = 0; j < n_vocab; ++j)
          ASSERT_NEAR(logits[static_cast<size_t>((b * (seq - first) + r) * n_vocab + j)],
                      want[static_cast<size_t>((first + r) * n_vocab + j)], 2e-4)
              << "moe " << moe << " sequence " << b << " row " << r;
    }
    // Starting from any layer's feed-forward block, or running the layers for logits then the
    // output, is the same pass bit for bit.
    for (int layer = 0; layer < config.n_layer; ++layer) {
      auto hidden = model.embed(batch);
      model.run_layers(0, layer, hidden.data(), seq * n_seq, nullptr, seq);
      std::vector<float> from_layer(logits.size()), from_ffn(logits.size()), split(logits.size());
      model.forward_from_layer(layer, hidden, seq * n_seq, from_layer.data(), nullptr, first, seq);
      auto for_logits = hidden;
      model.run_layers_for_logits(layer, for_logits.data(), seq * n_seq, first, seq);
      model.output_logits(for_logits.data(), seq * n_seq, split.data(), nullptr, first, seq);
      LayerIntermediates kept;
      auto kept_state = hidden;
      model.run_layer_keeping(layer, kept_state.data(), seq * n_seq, kept, seq, first);
      model.forward_from_stage(layer, LayerStage::ffn_input, kept, hidden, seq * n_seq, from_ffn.data(), first, seq);
      EXPECT_EQ(from_ffn, from_layer) << "moe " << moe << " layer " << layer;
      EXPECT_EQ(split, from_layer) << "moe " << moe << " layer " << layer;
      EXPECT_EQ(from_layer, logits) << "moe " << moe << " layer " << layer;
    }
  }
}

TEST(Transformer, PassFromAStageInsideALayerEqualsTheWholePassWithThatWeightChanged) {
  // Every stage, in a middle layer and in the last one (trimmed for logits), in a batch of two
  // sequences, with q/k norms and biases: change the stage's weight after keeping the layer's
  // intermediates, start there, and get what the whole pass with the changed weight gives.
  SyntheticOptions o;
  o.qk_norm = true;
  o.qkv_bias = true;
  const auto config = test::synthetic_config(o);
  Transformer model(config, test::synthetic_weights(config, o, 5), 2);
  const int64_t seq = 20, first = 7, n_seq = 2, n = seq * n_seq;
  const auto tokens = some_tokens(static_cast<int>(n), static_cast<int>(config.n_vocab));
  const std::vector<std::pair<LayerStage, const char *>> stages = {
      {LayerStage::attn_q, "attn_q"}, {LayerStage::attn_k, "attn_k"},         {LayerStage::attn_v, "attn_v"},
      {LayerStage::attn_output, "attn_output"}, {LayerStage::ffn_gate, "ffn_gate"}, {LayerStage::ffn_up, "ffn_up"},
      {LayerStage::ffn_down, "ffn_down"}};
  for (const int layer : {1, static_cast<int>(config.n_layer) - 1}) {
    auto input = model.embed(tokens);
    model.run_layers(0, layer, input.data(), n, nullptr, seq);
    LayerIntermediates kept;
    auto state = input;
    model.run_layer_keeping(layer, state.data(), n, kept, seq, first);
    EXPECT_EQ(kept.layer, layer);
    for (const auto &[stage, role] : stages) {
      const std::string name = "blk." + std::to_string(layer) + "." + role + ".weight";
      auto changed = model.weight(name).values;
      for (size_t i = 0; i < changed.size(); ++i) changed[i] *= 1.0f + 0.05f * static_cast<float>(i % 7) - 0.15f;
      const auto original = model.set_weight(name, changed);
      std::vector<float> want(static_cast<size_t>(n_seq * (seq - first) * config.n_vocab)), got(want.size());
      model.forward_from_layer(layer, input, n, want.data(), nullptr, first, seq);
      model.forward_from_stage(layer, stage, kept, input, n, got.data(), first, seq);
      model.set_weight(name, original);
      EXPECT_EQ(got, want) << name;
      // The change is visible (the stage did compute with the new weight).
      std::vector<float> unchanged(want.size());
      model.forward_from_layer(layer, input, n, unchanged.data(), nullptr, first, seq);
      EXPECT_NE(got, unchanged) << name;
    }
  }
}

TEST(Transformer, StagesInsideAnExpertBlockAreRefused) {
  SyntheticOptions o;
  o.moe = true;
  Transformer model = make_model(o);
  const auto tokens = some_tokens(12, 50);
  auto hidden = model.embed(tokens);
  LayerIntermediates kept;
  auto state = hidden;
  model.run_layer_keeping(0, state.data(), 12, kept);
  std::vector<float> logits(12 * 50);
  test::expect_error_containing([&] { model.forward_from_stage(0, LayerStage::ffn_down, kept, hidden, 12, logits.data()); },
                                {"experts", "feed-forward block"});
  // And kept intermediates of another layer are refused.
  test::expect_error_containing([&] { model.forward_from_stage(1, LayerStage::attn_q, kept, hidden, 12, logits.data()); },
                                {"not layer 1"});
}

TEST(Transformer, DeterministicAndThreadCountOnlyMovesRounding) {
  SyntheticOptions o;
  o.qkv_bias = true;
  Transformer one = make_model(o, 1), three = make_model(o, 3);
  const auto tokens = some_tokens(100, 50);
  const auto a = three.forward(tokens);
  EXPECT_EQ(three.forward(tokens), a);  // same threads: bit for bit
  const auto b = one.forward(tokens);
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5);
}

struct Recorder : ActivationSink {
  std::vector<std::string> names;
  std::map<std::string, std::vector<float>> dense_inputs;
  std::map<std::string, int64_t> expert_rows;
  std::vector<int> layers;
  void matmul_input(std::string_view name, int expert, const float *x, int64_t n_rows, int64_t n_cols) override {
    names.emplace_back(name);
    if (expert < 0) dense_inputs[std::string(name)].assign(x, x + n_rows * n_cols);
    else expert_rows[std::string(name)] += n_rows;
  }
  void layer_input(int layer, const float *, int64_t, int64_t) override { layers.push_back(layer); }
};

TEST(Transformer, SinkSeesEveryMatmulInputAndLayer) {
  SyntheticOptions o;
  Transformer model = make_model(o);
  const auto tokens = some_tokens(20, 50);
  Recorder rec;
  model.forward(tokens, &rec);
  EXPECT_EQ(rec.layers, (std::vector<int>{0, 1, 2, 3}));
  const auto expected = model.matmul_weight_names();
  EXPECT_EQ(rec.names, expected);
  // The input of blk.1's Q/K/V projections is RMSNorm(hidden entering layer 1) * attn_norm.
  const auto hidden = model.hidden_states_before_layer(tokens, 1);
  const auto &norm = model.weight("blk.1.attn_norm.weight").values;
  std::vector<float> normed(hidden.size());
  for (int t = 0; t < 20; ++t) rms_norm(hidden.data() + t * 32, norm.data(), normed.data() + t * 32, 32, 1e-5f);
  EXPECT_EQ(rec.dense_inputs.at("blk.1.attn_q.weight"), normed);
  EXPECT_EQ(rec.dense_inputs.at("blk.1.attn_v.weight"), normed);
  EXPECT_EQ(rec.dense_inputs.at("blk.2.ffn_down.weight").size(), 20u * 48u);
}

TEST(Transformer, SinkSeesEachExpertWithItsRoutedTokens) {
  SyntheticOptions o;
  o.moe = true;
  Transformer model = make_model(o);
  Recorder rec;
  model.forward(some_tokens(25, 50), &rec);
  // Each token goes to 2 experts: 50 routed rows per stacked tensor per layer.
  for (int il = 0; il < 3; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    EXPECT_EQ(rec.expert_rows.at(p + "ffn_gate_exps.weight"), 50);
    EXPECT_EQ(rec.expert_rows.at(p + "ffn_down_exps.weight"), 50);
    EXPECT_EQ(rec.dense_inputs.at(p + "ffn_gate_inp.weight").size(), 25u * 32u);
  }
}

TEST(Transformer, SetWeightChangesLogitsAndRestores) {
  Transformer model = make_model(SyntheticOptions{});
  const auto tokens = some_tokens(16, 50);
  const auto before = model.forward(tokens);
  std::vector<float> perturbed = model.weight("blk.1.ffn_down.weight").values;
  for (auto &v : perturbed) v *= 1.5f;
  auto original = model.set_weight("blk.1.ffn_down.weight", perturbed);
  EXPECT_NE(model.forward(tokens), before);
  model.set_weight("blk.1.ffn_down.weight", std::move(original));
  EXPECT_EQ(model.forward(tokens), before);
  EXPECT_THROW(model.set_weight("blk.1.ffn_down.weight", std::vector<float>(3)), Error);
  EXPECT_THROW(model.set_weight("blk.9.ffn_down.weight", std::vector<float>(3)), Error);
}

TEST(Transformer, TiedOutputUsesEmbeddings) {
  SyntheticOptions o;
  o.tied = true;
  Transformer model = make_model(o);
  EXPECT_EQ(model.matmul_weight_names().back(), "token_embd.weight");
}

TEST(Transformer, BadWeightsAndTokensAreNamed) {
  SyntheticOptions o;
  const auto config = test::synthetic_config(o);
  auto weights = test::synthetic_weights(config, o, 1);
  weights.erase("blk.2.attn_k.weight");
  try {
    Transformer model(config, weights, 1);
    FAIL() << "missing tensor accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("blk.2.attn_k.weight"), std::string::npos);
  }
  weights = test::synthetic_weights(config, o, 1);
  weights["blk.0.attn_q.weight"].shape = {config.n_embd * 2, config.n_embd / 2};
  EXPECT_THROW(Transformer(config, weights, 1), Error);
  Transformer model(config, test::synthetic_weights(config, o, 1), 1);
  EXPECT_THROW(model.forward(std::vector<int32_t>{1, 50}), Error);
}

}  // namespace
}  // namespace qs::transformer_test
