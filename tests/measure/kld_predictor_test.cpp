// The KLD predictor on synthetic rows drawn from power laws chosen by hand: the fit must give back
// the a and b they were generated with, and the summary statistics must match values computed by
// hand.
#include "measure/kld_predictor.h"

#include <gtest/gtest.h>

#include <cmath>

#include "measure/kld_predictor_check.h"
#include "test_support.h"

namespace qs::kld_predictor_test {
namespace {

MeasurementRow row(const std::string &tensor, const std::string &type, double bits) {
  MeasurementRow r;
  r.tensor = tensor;
  r.type = type;
  r.bits = bits;
  r.params = 65536;
  return r;
}

// A row whose kld is exactly a * x^b in metric m; the other error metrics hold numbers unrelated
// to the kld, so a fit that read the wrong one would not recover the law.
MeasurementRow law_row(const std::string &tensor, const std::string &type, double bits, Metric m, double x,
                       double a, double b) {
  MeasurementRow r = row(tensor, type, bits);
  r.set(Metric::relative_mse, 0.5).set(m, x).set(Metric::kld, a * std::pow(x, b));
  return r;
}

TEST(LinearityFit, RecoversTheHandChosenPowerLawOfEachTensor) {
  // Two tensors with different laws; three types each, two of them probes.
  const double a1 = 0.37, b1 = 1.3, a2 = 2.5e-3, b2 = 0.8;
  std::vector<MeasurementRow> rows;
  const std::vector<std::pair<std::string, double>> types{{"Q6_K", 6.5625}, {"Q4_K", 4.5}, {"Q2_K", 2.625}};
  const std::vector<double> x1{2e-4, 3e-3, 4e-2}, x2{1e-3, 1e-2, 0.2};
  for (size_t i = 0; i < types.size(); ++i) {
    rows.push_back(law_row("blk.0.attn_v.weight", types[i].first, types[i].second, Metric::layer_error, x1[i], a1, b1));
    rows.push_back(law_row("blk.0.ffn_down.weight", types[i].first, types[i].second, Metric::layer_error, x2[i], a2, b2));
  }
  const KldPredictor predictor = fit_kld_predictor(rows, {"Q4_K", "Q2_K"});
  ASSERT_EQ(predictor.fits().size(), 2u);
  const TensorKldFit &f1 = predictor.fits().at("blk.0.attn_v.weight");
  const TensorKldFit &f2 = predictor.fits().at("blk.0.ffn_down.weight");
  EXPECT_NEAR(f1.a, a1, 1e-12 * a1);
  EXPECT_NEAR(f1.b, b1, 1e-12);
  EXPECT_NEAR(f2.a, a2, 1e-12 * a2);
  EXPECT_NEAR(f2.b, b2, 1e-12);
  EXPECT_EQ(f1.x_metric, Metric::layer_error);
  EXPECT_EQ(f1.n_probes, 2);
  EXPECT_FALSE(f1.b_clamped);

  // The non-probe Q6_K rows are predicted exactly, so the report is perfect.
  EXPECT_NEAR(*predictor.predict(rows[0]), a1 * std::pow(x1[0], b1), 1e-12 * a1 * std::pow(x1[0], b1));
  const KldPredictionReport report = evaluate_kld_predictor(predictor, rows);
  ASSERT_EQ(report.pairs.size(), 2u);
  EXPECT_EQ(report.pairs[0].type, "Q6_K");
  EXPECT_EQ(report.summary.count, 2);
  EXPECT_NEAR(report.summary.median_abs_log_ratio, 0.0, 1e-12);
  EXPECT_NEAR(report.summary.mean_ratio, 1.0, 1e-12);
  EXPECT_NEAR(report.summary.log_pearson, 1.0, 1e-12);
}

TEST(LinearityFit, LeastSquaresOverThreeProbesOnTheLawIsExact) {
  std::vector<MeasurementRow> rows;
  const double a = 0.05, b = 1.7;
  for (const auto &[type, x] : std::vector<std::pair<std::string, double>>{{"Q5_K", 1e-3}, {"Q4_K", 5e-3}, {"Q2_K", 0.05}})
    rows.push_back(law_row("blk.1.attn_q.weight", type, 4, Metric::layer_error, x, a, b));
  const KldPredictor predictor = fit_kld_predictor(rows, {});  // every row with a kld is a probe
  const TensorKldFit &fit = predictor.fits().at("blk.1.attn_q.weight");
  EXPECT_EQ(fit.n_probes, 3);
  EXPECT_NEAR(fit.a, a, 1e-12 * a);
  EXPECT_NEAR(fit.b, b, 1e-12);
  EXPECT_TRUE(evaluate_kld_predictor(predictor, rows).pairs.empty());  // nothing left to check
}

TEST(LinearityFit, OneProbeIsProportional) {
  std::vector<MeasurementRow> rows{law_row("t", "Q4_K", 4.5, Metric::layer_error, 4e-3, 0.3, 1.6),
                                   law_row("t", "Q6_K", 6.5625, Metric::layer_error, 1e-3, 0.3, 1.6)};
  const KldPredictor predictor = fit_kld_predictor(rows, {"Q4_K"});
  const TensorKldFit &fit = predictor.fits().at("t");
  const double probe_kld = 0.3 * std::pow(4e-3, 1.6);
  EXPECT_EQ(fit.n_probes, 1);
  EXPECT_EQ(fit.b, 1.0);
  EXPECT_NEAR(fit.a, probe_kld / 4e-3, 1e-12 * fit.a);
  // A quarter of the probe's error, a quarter of its KLD.
  EXPECT_NEAR(*predictor.predict(rows[1]), probe_kld / 4, 1e-12 * probe_kld);
}

TEST(LinearityFit, TensorsWithoutProbesAreNotPredicted) {
  std::vector<MeasurementRow> rows{law_row("fitted", "Q4_K", 4.5, Metric::layer_error, 1e-3, 1, 1),
                                   law_row("fitted", "Q3_K", 3.4375, Metric::layer_error, 2e-3, 1, 1),
                                   law_row("unprobed", "Q3_K", 3.4375, Metric::layer_error, 2e-3, 1, 1)};
  MeasurementRow proxy_only = row("fitted", "Q4_K", 4.5);  // a probe type but no kld: no probe
  proxy_only.tensor = "proxy_only";
  proxy_only.set(Metric::relative_mse, 1e-3);
  rows.push_back(proxy_only);
  const KldPredictor predictor = fit_kld_predictor(rows, {"Q4_K"});
  EXPECT_EQ(predictor.fits().size(), 1u);
  EXPECT_FALSE(predictor.predict(rows[2]).has_value());
  EXPECT_FALSE(predictor.predict(proxy_only).has_value());
  EXPECT_TRUE(predictor.predict(rows[1]).has_value());
  const KldPredictionReport report = evaluate_kld_predictor(predictor, rows);
  EXPECT_EQ(report.pairs.size(), 1u);
  EXPECT_EQ(report.unpredicted, 1);
}

TEST(LinearityFit, XFallsBackFromLayerErrorToWeightedToPlainRelativeMse) {
  // Each tensor's kld follows only the metric the fallback order should pick for it.
  auto probe = [](const std::string &tensor, const std::string &type, double x) {
    MeasurementRow r = row(tensor, type, 4);
    r.set(Metric::kld, 0.2 * x * x);
    return r;
  };
  std::vector<MeasurementRow> rows;
  for (const auto &[type, x] : std::vector<std::pair<std::string, double>>{{"Q4_K", 1e-2}, {"Q2_K", 1e-1}}) {
    rows.push_back(probe("layer", type, x).set(Metric::layer_error, x).set(Metric::weighted_relative_mse, 7)
                                          .set(Metric::relative_mse, 3));
    rows.push_back(probe("weighted", type, x).set(Metric::weighted_relative_mse, x).set(Metric::relative_mse, 3));
    rows.push_back(probe("plain", type, x).set(Metric::relative_mse, x));
  }
  EXPECT_EQ(kld_predictor_x_metric(rows[0]), Metric::layer_error);
  EXPECT_EQ(kld_predictor_x_metric(rows[1]), Metric::weighted_relative_mse);
  EXPECT_EQ(kld_predictor_x_metric(rows[2]), Metric::relative_mse);
  EXPECT_EQ(kld_predictor_x_metric(row("none", "Q4_K", 4)), std::nullopt);
  const KldPredictor predictor = fit_kld_predictor(rows, {"Q4_K", "Q2_K"});
  for (const auto &[tensor, metric] : std::vector<std::pair<std::string, Metric>>{
           {"layer", Metric::layer_error}, {"weighted", Metric::weighted_relative_mse}, {"plain", Metric::relative_mse}}) {
    const TensorKldFit &fit = predictor.fits().at(tensor);
    EXPECT_EQ(fit.x_metric, metric) << tensor;
    EXPECT_NEAR(fit.a, 0.2, 1e-12) << tensor;
    EXPECT_NEAR(fit.b, 2.0, 1e-12) << tensor;
  }
}

TEST(LinearityFit, ExponentOutsideTheRangeIsClampedAndTheScaleRefitted) {
  // kld = x^3 through two probes: b is clamped to 2, and ln a is the mean of ln kld - 2 ln x.
  std::vector<MeasurementRow> rows{law_row("t", "Q4_K", 4.5, Metric::layer_error, 1e-2, 1, 3),
                                   law_row("t", "Q2_K", 2.625, Metric::layer_error, 1e-1, 1, 3)};
  const TensorKldFit fit = fit_kld_predictor(rows, {"Q4_K", "Q2_K"}).fits().at("t");
  EXPECT_TRUE(fit.b_clamped);
  EXPECT_EQ(fit.b, kMaxKldExponent);
  EXPECT_NEAR(fit.a, std::sqrt(1e-2 * 1e-1), 1e-12);  // exp(mean(ln x)) since kld / x^2 = x
}

TEST(LinearityFit, MixIsTheSumTimesTheGeometricMeanOfCalibrationRatios) {
  std::vector<MeasurementRow> rows{law_row("a", "Q4_K", 4.5, Metric::layer_error, 1e-3, 2, 1),
                                   law_row("b", "Q4_K", 4.5, Metric::layer_error, 3e-3, 5, 1),
                                   law_row("c", "Q6_K", 6.5625, Metric::layer_error, 3e-3, 5, 1)};
  KldPredictor predictor = fit_kld_predictor(rows, {"Q4_K"});
  const std::map<std::string, const MeasurementRow *> mix{{"a", &rows[0]}, {"b", &rows[1]}};
  EXPECT_NEAR(predictor.predict_mix(mix), 2e-3 + 1.5e-2, 1e-15);
  EXPECT_EQ(predictor.mix_factor(), 1.0);
  predictor.calibrate_mix(2.0, 1.0);
  predictor.calibrate_mix(8.0, 1.0);
  EXPECT_NEAR(predictor.mix_factor(), 4.0, 1e-12);  // sqrt(2 * 8)
  EXPECT_NEAR(predictor.predict_mix(mix), 4 * (2e-3 + 1.5e-2), 1e-14);
  test::expect_error_containing([&] { predictor.predict_mix({{"c", &rows[2]}}); }, {"c", "Q6_K", "no probe"});
  test::expect_error_containing([&] { predictor.calibrate_mix(0.0, 1.0); }, {"positive"});
}

TEST(LinearityReport, SummaryMatchesHandComputedStatistics) {
  // |ln(pred / meas)| = 0.1, 0.2, 0.3, 0.4, 0.5 with alternating signs.
  std::vector<KldPredictionPair> pairs;
  const std::vector<double> log_ratio{0.1, -0.2, 0.3, -0.4, 0.5}, measured{1e-4, 3e-4, 1e-3, 4e-3, 2e-2};
  for (size_t i = 0; i < log_ratio.size(); ++i)
    pairs.push_back({"t" + std::to_string(i), "Q4_K", 4.5, measured[i] * std::exp(log_ratio[i]), measured[i]});
  const KldPredictionSummary s = summarize_kld_predictions(pairs);
  EXPECT_EQ(s.count, 5);
  EXPECT_NEAR(s.median_abs_log_ratio, 0.3, 1e-12);
  EXPECT_NEAR(s.p90_abs_log_ratio, 0.4 + 0.6 * 0.1, 1e-12);  // at 0.9 * 4 = 3.6 of the sorted five
  double mean_ratio = 0;
  for (const double r : log_ratio) mean_ratio += std::exp(r) / 5;
  EXPECT_NEAR(s.mean_ratio, mean_ratio, 1e-12);
  EXPECT_NEAR(s.log_pearson, 0.9876804965795222, 1e-12);  // Python's statistics.correlation of the logs
  EXPECT_TRUE(std::isnan(summarize_kld_predictions({pairs[0]}).log_pearson));
}

TEST(LinearityReport, DefaultProbesAreTheTypesClosestToFourAndAHalfAndTwoPointSixBits) {
  std::vector<MeasurementRow> rows;
  for (const auto &[type, bits] : std::vector<std::pair<std::string, double>>{
           {"Q6_K", 6.5625}, {"Q5_K", 5.5}, {"Q4_K", 4.5}, {"Q3_K", 3.4375}, {"IQ2_S", 2.5625}, {"Q2_K", 2.625}})
    rows.push_back(law_row("t", type, bits, Metric::layer_error, 1e-3, 1, 1));
  EXPECT_EQ(default_kld_probe_types(rows), (std::vector<std::string>{"Q4_K", "Q2_K"}));
  // Only high-bit types: the closest to 4.5, then the closest of the rest.
  EXPECT_EQ(default_kld_probe_types({rows[0], rows[1]}), (std::vector<std::string>{"Q5_K", "Q6_K"}));
  EXPECT_EQ(default_kld_probe_types({rows[0]}), (std::vector<std::string>{"Q6_K"}));
  MeasurementRow no_kld = rows[2];
  no_kld.set(Metric::kld, std::nullopt);
  EXPECT_TRUE(default_kld_probe_types({no_kld}).empty());
}

TEST(LinearityReport, SampleIsEvenlySpaced) {
  std::vector<KldPredictionPair> pairs;
  for (int i = 0; i < 10; ++i) pairs.push_back({std::to_string(i), "Q4_K", 4.5, 1, 1});
  std::vector<std::string> picked;
  for (const auto &p : evenly_spaced_sample(pairs, 4)) picked.push_back(p.tensor);
  EXPECT_EQ(picked, (std::vector<std::string>{"0", "2", "5", "7"}));
  EXPECT_EQ(evenly_spaced_sample(pairs, 20).size(), 10u);
  EXPECT_TRUE(evenly_spaced_sample(pairs, 0).empty());
}

}  // namespace
}  // namespace qs::kld_predictor_test
