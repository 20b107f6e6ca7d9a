// The measurer on the shipped model, each metric checked against an independent computation: the
// KLD against a plain full forward pass with the one weight replaced (one chunk at a time from the
// tokens, not a batch started from the cached layer), the layer error against inputs captured
// from a full pass and plain double loops, the proxies against quant-stats' code. Also: the cached
// reference run reproduces the model exactly from every layer and every stage inside one, a pass
// from a weight's stage equals the pass from its layer bit for bit, and weights are put back.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "infer/kld.h"
#include "infer/logprob_file.h"
#include "measure/shipped_calibration.h"
#include "measure/proxy_metrics.h"
#include "measure/tensor_measurer.h"
#include "model/model_source.h"
#include "test_support.h"

namespace qs::tensor_measurer_test {
namespace {

class ShippedModelMeasurement : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = test::ShippedCalibration::get().model.get();
    chunks_ = test::ShippedCalibration::get().chunks.get();
  }

  // KLD and mean NLL of the model with `tensor` replaced by `values`, from a full pass from the
  // tokens, against a full pass of the unchanged model.
  static std::pair<double, double> full_pass_kld(const std::string &tensor, std::vector<float> values) {
    const int64_t n_vocab = model_->config().n_vocab;
    const int64_t rows = chunks_->n_ctx() - chunks_->first_scored();
    std::vector<float> base(static_cast<size_t>(rows * n_vocab)), ours(base.size());
    double sum_kld = 0, sum_nll = 0;
    for (int64_t c = 0; c < chunks_->n_chunks(); ++c) {
      model_->forward(chunks_->input(c), base.data(), nullptr, chunks_->first_scored());
      std::vector<float> original = model_->set_weight(tensor, values);
      model_->forward(chunks_->input(c), ours.data(), nullptr, chunks_->first_scored());
      model_->set_weight(tensor, std::move(original));
      for (int64_t i = 0; i < chunks_->n_scored_per_chunk(); ++i) {
        const TokenComparison t = compare_logits(ours.data() + i * n_vocab, base.data() + i * n_vocab, n_vocab,
                                                 chunks_->target(c, i));
        sum_kld += t.kld;
        sum_nll += t.nll;
      }
    }
    const auto n = static_cast<double>(chunks_->n_scored());
    return {sum_kld / n, sum_nll / n};
  }

  static Transformer *model_;
  static CalibrationChunks *chunks_;
};
Transformer *ShippedModelMeasurement::model_ = nullptr;
CalibrationChunks *ShippedModelMeasurement::chunks_ = nullptr;

TEST_F(ShippedModelMeasurement, ReferenceRunReproducesItsLogitsFromEveryLayerAndBlock) {
  // Batches of one and of two chunks: the cache must hold whichever way the chunks are grouped.
  for (const int64_t batch_tokens : {int64_t{64}, int64_t{4096}}) {
    ReferenceRun reference(*model_, *chunks_, nullptr, batch_tokens);
    ASSERT_EQ(reference.batches().size(), batch_tokens == 64 ? 2u : 1u);
    const int64_t n_vocab = model_->config().n_vocab;
    const int64_t rows = chunks_->n_ctx() - chunks_->first_scored();
    // Independent: each chunk on its own through the plain forward pass (another grouping of the
    // same arithmetic, so equal up to rounding).
    std::vector<float> single(static_cast<size_t>(rows * n_vocab));
    for (int64_t c = 0; c < chunks_->n_chunks(); ++c) {
      model_->forward(chunks_->input(c), single.data(), nullptr, chunks_->first_scored());
      for (size_t i = 0; i < single.size(); ++i) ASSERT_NEAR(reference.logits(c)[i], single[i], 1e-4) << c << " " << i;
    }
    // From the cache at any layer (forward, then backward: a restart from the embeddings) and from
    // any stage inside any layer, the pass reproduces the reference logits bit for bit.
    for (int layer : {0, 3, 8, 5, 1, 7}) {
      reference.move_to(layer);
      for (size_t b = 0; b < reference.batches().size(); ++b) {
        const auto &batch = reference.batches()[b];
        const int64_t n_tokens = batch.n_chunks * chunks_->n_ctx();
        std::vector<float> logits(static_cast<size_t>(batch.n_chunks * rows * n_vocab));
        const float *expected = reference.logits(batch.first_chunk);
        model_->forward_from_layer(layer, reference.hidden(static_cast<int64_t>(b)), n_tokens, logits.data(), nullptr,
                                   chunks_->first_scored(), chunks_->n_ctx());
        EXPECT_TRUE(std::equal(logits.begin(), logits.end(), expected)) << "layer " << layer << " batch " << b;
        if (layer == 8) continue;
        for (const LayerStage stage : {LayerStage::attn_q, LayerStage::attn_k, LayerStage::attn_v, LayerStage::attn_output,
                                       LayerStage::ffn_input, LayerStage::ffn_gate, LayerStage::ffn_up, LayerStage::ffn_down}) {
          model_->forward_from_stage(layer, stage, reference.intermediates(static_cast<int64_t>(b)),
                                     reference.hidden(static_cast<int64_t>(b)), n_tokens, logits.data(),
                                     chunks_->first_scored(), chunks_->n_ctx());
          EXPECT_TRUE(std::equal(logits.begin(), logits.end(), expected))
              << "stage " << static_cast<int>(stage) << " of layer " << layer << " batch " << b;
        }
      }
    }
    double sum_nll = 0;
    for (int64_t c = 0; c < chunks_->n_chunks(); ++c)
      for (int64_t i = 0; i < chunks_->n_scored_per_chunk(); ++i)
        sum_nll -= target_log_prob(reference.logits(c) + i * n_vocab, n_vocab, chunks_->target(c, i));
    EXPECT_DOUBLE_EQ(reference.mean_nll(), sum_nll / static_cast<double>(chunks_->n_scored()));
  }
}

TEST_F(ShippedModelMeasurement, KldEqualsAFullPassWithTheWeightReplaced) {
  TensorMeasurer measurer(*model_, nullptr, MetricLevel::kld, chunks_);
  const double base_nll = measurer.reference()->mean_nll();
  // The embedding (starts before layer 0), every stage of a middle layer in pass order (each unit
  // after the first starts from intermediates kept while an earlier unit ran), the last layer
  // (trimmed for logits), the output matrix (its start reuses the last layer's kept output).
  for (const auto &[tensor, type_name] : std::vector<std::pair<std::string, std::string>>{
           {"token_embd.weight", "Q3_K"}, {"blk.4.attn_q.weight", "Q2_K"}, {"blk.4.attn_k.weight", "Q2_K"},
           {"blk.4.attn_v.weight", "Q3_K"}, {"blk.4.attn_output.weight", "IQ2_S"}, {"blk.4.ffn_gate.weight", "Q2_K"},
           {"blk.4.ffn_up.weight", "Q2_K"}, {"blk.4.ffn_down.weight", "Q3_K"}, {"blk.7.attn_output.weight", "Q2_K"},
           {"blk.7.ffn_down.weight", "IQ3_S"}, {"output.weight", "Q4_0"}}) {
    const QuantType &type = quant_type_by_name(type_name);
    const std::vector<float> original = model_->weight(tensor).values;
    const MeasurementRow row = measurer.measure(tensor, type);
    EXPECT_EQ(model_->weight(tensor).values, original) << tensor << ": the weight was not put back";
    const auto [kld, nll] = full_pass_kld(tensor, measurer.quantized_values(tensor, type));
    ASSERT_TRUE(row.get(Metric::kld)) << tensor;
    EXPECT_GT(kld, 0) << tensor;
    // The measurer runs the chunks as one batch from a cached state, the check one chunk at a time
    // from the tokens: the same arithmetic grouped differently, equal up to float rounding (which
    // moves a KLD by ~1e-9 whatever its size).
    EXPECT_NEAR(*row.get(Metric::kld), kld, 1e-5 * kld + 1e-8) << tensor;
    EXPECT_NEAR(*row.get(Metric::delta_ppl), std::exp(nll) - std::exp(base_nll), 2e-5) << tensor;
    EXPECT_EQ(row.tensor, tensor);
    EXPECT_EQ(row.type, type_name);
    EXPECT_EQ(row.bits, type.bits_per_weight());
    EXPECT_EQ(row.params, static_cast<int64_t>(original.size()));
  }
}

TEST_F(ShippedModelMeasurement, PassFromTheWeightsStageEqualsThePassFromItsLayerBitForBit) {
  ReferenceRun reference(*model_, *chunks_);
  // Without room for the intermediates, passes start at the layer or its feed-forward block:
  // the same results again.
  ReferenceRun lean(*model_, *chunks_, nullptr, 4096, true, 0);
  EXPECT_EQ(lean.available_stage(LayerStage::attn_v), LayerStage::input);
  EXPECT_EQ(lean.available_stage(LayerStage::ffn_down), LayerStage::ffn_input);
  EXPECT_EQ(reference.available_stage(LayerStage::ffn_down), LayerStage::ffn_down);
  // Layers visited forward and back, stages in and out of order, so that kept intermediates are
  // reused across weights and recomputed after a restart.
  for (const auto &[layer, role, stage] : std::vector<std::tuple<int, std::string, LayerStage>>{
           {2, "ffn_down", LayerStage::ffn_down},        {2, "attn_q", LayerStage::attn_q},
           {2, "ffn_gate", LayerStage::ffn_gate},        {2, "attn_v", LayerStage::attn_v},
           {2, "attn_k", LayerStage::attn_k},            {2, "ffn_up", LayerStage::ffn_up},
           {2, "attn_output", LayerStage::attn_output},  {7, "ffn_up", LayerStage::ffn_up},
           {7, "attn_q", LayerStage::attn_q},            {1, "attn_output", LayerStage::attn_output}}) {
    const std::string name = "blk." + std::to_string(layer) + "." + role + ".weight";
    const auto quantized = [&] {
      TensorMeasurer quantizer(*model_, nullptr, MetricLevel::proxy, nullptr);
      return quantizer.quantized_values(name, quant_type(GgmlType::Q2_K));
    }();
    const KldResult staged = reference.compare_with_weight(name, quantized, {PassStart::At::layer, layer, stage});
    const KldResult whole_layer = reference.compare_with_weight(name, quantized, {PassStart::At::layer, layer});
    const KldResult lean_staged = lean.compare_with_weight(name, quantized, {PassStart::At::layer, layer, stage});
    EXPECT_GT(staged.kld, 0) << name;
    EXPECT_EQ(staged.kld, whole_layer.kld) << name;
    EXPECT_EQ(staged.delta_ppl, whole_layer.delta_ppl) << name;
    EXPECT_EQ(lean_staged.kld, whole_layer.kld) << name;
  }
}

TEST_F(ShippedModelMeasurement, LayerErrorEqualsInputsCapturedFromAFullPass) {
  TensorMeasurer measurer(*model_, nullptr, MetricLevel::layer, chunks_);
  EXPECT_EQ(measurer.reference(), nullptr);  // the layer level never needs reference logits
  for (const std::string tensor : {"blk.2.attn_output.weight", "blk.6.ffn_gate.weight", "output.weight"}) {
    const QuantType &type = quant_type(GgmlType::Q3_K);
    const MeasurementRow row = measurer.measure(tensor, type);
    ASSERT_FALSE(row.get(Metric::kld));
    // Independent: the inputs of a whole forward pass, plain double loops.
    MatmulInputCapture capture;
    std::vector<float> logits(static_cast<size_t>((chunks_->n_ctx() - chunks_->first_scored()) * model_->config().n_vocab));
    for (int64_t c = 0; c < chunks_->n_chunks(); ++c)
      model_->forward(chunks_->input(c), logits.data(), &capture, chunks_->first_scored());
    const WeightTensor &w = model_->weight(tensor);
    const std::vector<float> q = measurer.quantized_values(tensor, type);
    std::vector<float> d(q.size());
    for (size_t i = 0; i < d.size(); ++i) d[i] = w.values[i] - q[i];
    const auto &inputs = *capture.find(tensor);
    const double expected = matmul_output_energy_reference(inputs, d.data(), 1, w.shape[1], w.shape[0]) /
                            matmul_output_energy_reference(inputs, w.values.data(), 1, w.shape[1], w.shape[0]);
    EXPECT_NEAR(*row.get(Metric::layer_error), expected, 1e-4 * expected) << tensor;
  }
}

TEST_F(ShippedModelMeasurement, EmbeddingLayerErrorWeighsRowsByHowOftenTheirTokenOccurs) {
  TensorMeasurer measurer(*model_, nullptr, MetricLevel::layer, chunks_);
  const QuantType &type = quant_type(GgmlType::Q2_K);
  const MeasurementRow row = measurer.measure("token_embd.weight", type);
  const WeightTensor &w = model_->weight("token_embd.weight");
  const std::vector<float> q = measurer.quantized_values("token_embd.weight", type);
  // Sum over every calibration position of its token's row error, over the same for the rows.
  double error = 0, energy = 0;
  const int64_t n_embd = w.shape[0];
  for (int64_t c = 0; c < chunks_->n_chunks(); ++c)
    for (const int32_t token : chunks_->input(c))
      for (int64_t k = 0; k < n_embd; ++k) {
        const double v = w.values[static_cast<size_t>(token * n_embd + k)];
        const double e = v - q[static_cast<size_t>(token * n_embd + k)];
        error += e * e;
        energy += v * v;
      }
  EXPECT_NEAR(*row.get(Metric::layer_error), error / energy, 1e-12);
}

TEST_F(ShippedModelMeasurement, ProxiesEqualQuantStatsAndLowerLevelsCarryNoModelMetrics) {
  TensorMeasurer measurer(*model_, nullptr, MetricLevel::proxy, nullptr);
  const std::string tensor = "blk.1.ffn_up.weight";
  const QuantType &type = quant_type(GgmlType::IQ4_XS);
  const MeasurementRow row = measurer.measure(tensor, type);
  const WeightTensor &w = model_->weight(tensor);
  const ProxyMetrics expected = measure_quantization_error(type, w.values, 1, w.shape[1], w.shape[0], {}, 1).result();
  EXPECT_EQ(*row.get(Metric::rmse), expected.rmse);
  EXPECT_EQ(*row.get(Metric::max_abs_error), expected.max_abs_error);
  EXPECT_EQ(*row.get(Metric::relative_mse), expected.relative_mse);
  EXPECT_FALSE(row.get(Metric::weighted_relative_mse));  // no imatrix
  EXPECT_FALSE(row.get(Metric::layer_error));
  EXPECT_FALSE(row.get(Metric::kld));
}

TEST_F(ShippedModelMeasurement, FewerBitsCostMore) {
  TensorMeasurer measurer(*model_, nullptr, MetricLevel::kld, chunks_);
  double previous = 0;
  for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q5_K, GgmlType::Q4_K, GgmlType::Q3_K, GgmlType::Q2_K}) {
    const MeasurementRow row = measurer.measure("blk.0.ffn_down.weight", quant_type(t));
    EXPECT_GT(*row.get(Metric::kld), previous) << quant_type(t).name;
    EXPECT_GT(*row.get(Metric::layer_error), 0.0);
    previous = *row.get(Metric::kld);
  }
}

TEST_F(ShippedModelMeasurement, UnfitTypesAndUnknownTensorsAreClearErrors) {
  TensorMeasurer measurer(*model_, nullptr, MetricLevel::proxy, nullptr);
  test::expect_error_containing([&] { measurer.measure("blk.0.ffn_down.weight", quant_type(GgmlType::IQ2_XXS)); },
                                {"blk.0.ffn_down.weight", "IQ2_XXS needs an importance matrix"});
  test::expect_error_containing([&] { measurer.measure("blk.0.attn_norm.weight", quant_type(GgmlType::Q4_K)); },
                                {"blk.0.attn_norm.weight"});
  test::expect_error_containing([&] { measurer.measure("blk.9.attn_q.weight", quant_type(GgmlType::Q4_K)); },
                                {"blk.9.attn_q.weight"});
  EXPECT_THROW(TensorMeasurer(*model_, nullptr, MetricLevel::kld, nullptr), Error);
}

// Measuring from the model's files (each tensor read when its units start, no model loaded) gives
// the proxy rows of the loaded model bit for bit, with an imatrix and without, tensor after
// tensor, quantized ahead or not.
TEST_F(ShippedModelMeasurement, MeasuringFromTheFilesGivesTheLoadedModelsRowsBitForBit) {
  const ModelSource &source = *test::ShippedCalibration::get().source;
  Imatrix imatrix;
  for (const char *tensor : {"blk.2.attn_k.weight", "output.weight"}) {
    const int64_t n_cols = model_->weight(tensor).shape[0];
    std::vector<float> sums(static_cast<size_t>(n_cols));
    for (int64_t c = 0; c < n_cols; ++c) sums[static_cast<size_t>(c)] = 1.0f + static_cast<float>((c * 7) % 13);
    imatrix.entries[tensor] = ImatrixEntry{n_cols, 1, std::move(sums), {1.0f}};
  }
  const Imatrix *none = nullptr, *some = &imatrix;
  for (const Imatrix *importance : {none, some}) {
    TensorMeasurer loaded(*model_, importance, MetricLevel::proxy, nullptr);
    TensorMeasurer from_files(source, 2, importance, MetricLevel::proxy, nullptr);
    for (const char *tensor : {"token_embd.weight", "blk.2.attn_k.weight", "blk.6.ffn_gate.weight", "output.weight"}) {
      for (const GgmlType t : {GgmlType::Q6_K, GgmlType::Q3_K}) {
        const MeasurementRow a = loaded.measure(tensor, quant_type(t)), b = from_files.measure(tensor, quant_type(t));
        EXPECT_EQ(a.metrics, b.metrics) << tensor << " " << quant_type(t).name;
        EXPECT_EQ(a.params, b.params);
        EXPECT_EQ(loaded.quantized_values(tensor, quant_type(t)), from_files.quantized_values(tensor, quant_type(t)));
      }
    }
  }
}

TEST_F(ShippedModelMeasurement, TheLayerAndKldLevelsFromTheFilesNeedTheGpu) {
  const ModelSource &source = *test::ShippedCalibration::get().source;
  for (const MetricLevel level : {MetricLevel::layer, MetricLevel::kld})
    test::expect_error_containing([&] { TensorMeasurer(source, 2, nullptr, level, chunks_, nullptr, ComputeDevice::cpu); },
                                  {metric_level_name(level), "runs on the GPU"});
}

}  // namespace
}  // namespace qs::tensor_measurer_test
