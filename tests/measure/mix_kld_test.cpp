// Whole-mix KLD on the shipped dense model: a one-tensor mix must measure what the sweep measures
// for that tensor (an independent path: the sweep starts at the tensor's layer from cached
// states, the mix at the embeddings), weights must come back bit for bit, and on a dense model at
// Q4_K two tensors' KLDs must roughly add up, which is what the predictor's mix sum assumes.
#include "measure/mix_kld.h"

#include <gtest/gtest.h>

#include <cmath>

#include "measure/kld_predictor.h"
#include "measure/kld_predictor_check.h"
#include "measure/shipped_calibration.h"
#include "measure/tensor_measurer.h"
#include "test_support.h"

namespace qs::mix_kld_test {
namespace {

class LinearityMixKld : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto &shipped = test::ShippedCalibration::get();
    model_ = shipped.model.get();
    chunks_ = shipped.chunks.get();
    reference_ = new ReferenceRun(*model_, *chunks_);
  }
  static void TearDownTestSuite() { delete reference_; }

  static WeightMap weights_copy() { return model_->weights(); }

  static Transformer *model_;
  static CalibrationChunks *chunks_;
  static ReferenceRun *reference_;
};
Transformer *LinearityMixKld::model_ = nullptr;
CalibrationChunks *LinearityMixKld::chunks_ = nullptr;
ReferenceRun *LinearityMixKld::reference_ = nullptr;

void expect_same_weights(const WeightMap &before, const WeightMap &after) {
  ASSERT_EQ(before.size(), after.size());
  for (const auto &[name, tensor] : before) {
    ASSERT_TRUE(after.count(name)) << name;
    EXPECT_TRUE(after.at(name).values == tensor.values) << name << " was not restored";
  }
}

TEST_F(LinearityMixKld, OneTensorMixMeasuresWhatTheSweepMeasures) {
  const WeightMap before = weights_copy();
  const QuantType &q4 = quant_type_by_name("Q4_K");
  TensorMeasurer measurer(*model_, nullptr, MetricLevel::kld, chunks_);
  for (const std::string tensor : {"blk.3.attn_v.weight", "blk.6.ffn_down.weight", "output.weight"}) {
    const MeasurementRow row = measurer.measure(tensor, q4);
    const MixKld mix = measure_mix_kld(*model_, nullptr, *reference_, {{tensor, &q4}});
    ASSERT_GT(*row.get(Metric::kld), 0) << tensor;
    EXPECT_NEAR(mix.kld, *row.get(Metric::kld), 1e-9 * *row.get(Metric::kld)) << tensor;
    EXPECT_NEAR(mix.delta_ppl, *row.get(Metric::delta_ppl), 1e-9 * std::abs(*row.get(Metric::delta_ppl)) + 1e-12)
        << tensor;
  }
  expect_same_weights(before, model_->weights());
  // Nothing quantized: the reference itself.
  EXPECT_NEAR(measure_mix_kld(*model_, *reference_, {}).kld, 0.0, 1e-12);
}

TEST_F(LinearityMixKld, WeightsAreRestoredWhenASwapFails) {
  const WeightMap before = weights_copy();
  MixValues values;
  values["blk.0.attn_v.weight"] = std::vector<float>(model_->weight("blk.0.attn_v.weight").values.size(), 0.0f);
  values["blk.1.attn_v.weight"] = std::vector<float>(3, 0.0f);  // wrong size: throws after the first swap
  test::expect_error_containing([&] { measure_mix_kld(*model_, *reference_, values); },
                                {"blk.1.attn_v.weight", "elements"});
  expect_same_weights(before, model_->weights());
  values.erase("blk.1.attn_v.weight");
  values["no.such.weight"] = {};
  test::expect_error_containing([&] { measure_mix_kld(*model_, *reference_, values); }, {"no.such.weight"});
  expect_same_weights(before, model_->weights());
}

TEST_F(LinearityMixKld, TwoTensorsAtQ4KAddUpOnTheDenseModel) {
  const WeightMap before = weights_copy();
  const QuantType &q4 = quant_type_by_name("Q4_K");
  TensorMeasurer measurer(*model_, nullptr, MetricLevel::kld, chunks_);
  const std::string first = "blk.2.attn_v.weight", second = "blk.5.ffn_down.weight";
  const double single_sum =
      *measurer.measure(first, q4).get(Metric::kld) + *measurer.measure(second, q4).get(Metric::kld);
  const MixKld mix = measure_mix_kld(*model_, nullptr, *reference_, {{first, &q4}, {second, &q4}});
  EXPECT_GT(mix.kld, single_sum / 2);
  EXPECT_LT(mix.kld, single_sum * 2);
  expect_same_weights(before, model_->weights());
}

TEST_F(LinearityMixKld, PredictorFromTwoProbesTracksARealSweep) {
  // A small real sweep: six tensors x five types at the kld level; Q4_K and Q2_K are the probes,
  // Q6_K, Q5_K and Q3_K are predicted.
  TensorMeasurer measurer(*model_, nullptr, MetricLevel::kld, chunks_);
  std::vector<MeasurementRow> rows;
  for (const std::string tensor : {"blk.1.attn_v.weight", "blk.1.ffn_down.weight", "blk.4.attn_v.weight",
                                   "blk.4.ffn_down.weight", "blk.6.attn_output.weight", "blk.6.ffn_up.weight"})
    for (const char *type : {"Q6_K", "Q5_K", "Q4_K", "Q3_K", "Q2_K"})
      rows.push_back(measurer.measure(tensor, quant_type_by_name(type)));
  const std::vector<std::string> probes = default_kld_probe_types(rows);
  EXPECT_EQ(probes, (std::vector<std::string>{"Q4_K", "Q2_K"}));
  const KldPredictor predictor = fit_kld_predictor(rows, probes);
  EXPECT_EQ(predictor.fits().size(), 6u);
  const KldPredictionReport report = evaluate_kld_predictor(predictor, rows);
  EXPECT_EQ(report.summary.count, 18);
  EXPECT_GT(report.summary.log_pearson, 0.9);
  for (const auto &[tensor, fit] : predictor.fits()) EXPECT_EQ(fit.x_metric, Metric::layer_error) << tensor;
}

}  // namespace
}  // namespace qs::mix_kld_test
