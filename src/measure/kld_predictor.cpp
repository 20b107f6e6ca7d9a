// Per-tensor power-law fits of KLD against an error metric, mix sums, and how well they predict.
#include "measure/kld_predictor.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/percentile.h"

namespace qs {
namespace {

// The order in which x is chosen: the tensor's own output error sees the inputs that matter, the
// weighted MSE sees their importance only, the plain MSE nothing but the weights.
constexpr std::array<Metric, 3> kXMetricOrder{Metric::layer_error, Metric::weighted_relative_mse,
                                              Metric::relative_mse};

bool positive(const std::optional<double> &value) { return value && *value > 0 && std::isfinite(*value); }

// llama.cpp's percentile of the values (sorted here); NaN for none.
double percentile(std::vector<double> values, double fraction) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  return percentile_of_sorted(values, fraction);
}
double pearson(const std::vector<double> &x, const std::vector<double> &y) {
  const auto n = static_cast<double>(x.size());
  if (x.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
  mx /= n, my /= n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);  // NaN when either side is constant
}

// Least squares of ln kld = ln a + b ln x over (ln x, ln kld) points.
TensorKldFit fit_points(const std::vector<std::pair<double, double>> &points, Metric x_metric) {
  TensorKldFit fit;
  fit.x_metric = x_metric;
  fit.n_probes = static_cast<int>(points.size());
  const auto n = static_cast<double>(points.size());
  double mean_lx = 0, mean_ly = 0;
  for (const auto &[lx, ly] : points) mean_lx += lx, mean_ly += ly;
  mean_lx /= n, mean_ly /= n;
  double sxx = 0, sxy = 0;
  for (const auto &[lx, ly] : points) {
    sxx += (lx - mean_lx) * (lx - mean_lx);
    sxy += (lx - mean_lx) * (ly - mean_ly);
  }
  // Probes at (numerically) the same x say nothing about the slope: fall back to proportionality.
  const bool has_slope = points.size() >= 2 && sxx > 1e-12 * n;
  double b = has_slope ? sxy / sxx : 1.0;
  if (b < kMinKldExponent || b > kMaxKldExponent) {
    fit.b_clamped = true;
    b = std::clamp(b, kMinKldExponent, kMaxKldExponent);
  }
  fit.b = b;
  // For a given b the least-squares intercept is the mean residual; this also covers the clamped
  // and the proportional cases (a = the geometric mean of kld / x when b = 1).
  fit.a = std::exp(mean_ly - b * mean_lx);
  return fit;
}

}  // namespace

std::optional<Metric> kld_predictor_x_metric(const MeasurementRow &row) {
  for (const Metric m : kXMetricOrder)
    if (row.get(m)) return m;
  return std::nullopt;
}

bool KldPredictor::is_probe_type(const std::string &type) const {
  return probe_types_.empty() || std::find(probe_types_.begin(), probe_types_.end(), type) != probe_types_.end();
}

std::optional<double> KldPredictor::predict(const MeasurementRow &row) const {
  const auto it = fits_.find(row.tensor);
  if (it == fits_.end()) return std::nullopt;
  const TensorKldFit &fit = it->second;
  const std::optional<double> x = row.get(fit.x_metric);
  if (!x || *x < 0 || !std::isfinite(*x)) return std::nullopt;
  if (*x == 0) return 0.0;  // a type that reproduces the tensor exactly costs nothing
  return fit.a * std::pow(*x, fit.b);
}

double KldPredictor::predict_mix(const std::map<std::string, const MeasurementRow *> &chosen) const {
  double sum = 0;
  for (const auto &[tensor, row] : chosen) {
    if (!row) fail("mix prediction: no row chosen for ", tensor);
    const std::optional<double> kld = predict(*row);
    if (!kld) fail("mix prediction: no fit predicts ", tensor, " in ", row->type, " (no probe row for this tensor)");
    sum += *kld;
  }
  return sum * mix_factor();
}

void KldPredictor::calibrate_mix(double measured, double predicted_sum) {
  if (!(measured > 0) || !(predicted_sum > 0) || !std::isfinite(measured) || !std::isfinite(predicted_sum))
    fail("mix calibration needs a positive measured and predicted KLD (got ", measured, " and ", predicted_sum, ")");
  calibration_log_ratios_.push_back(std::log(measured / predicted_sum));
}

double KldPredictor::mix_factor() const {
  if (calibration_log_ratios_.empty()) return 1.0;
  double sum = 0;
  for (const double r : calibration_log_ratios_) sum += r;
  return std::exp(sum / static_cast<double>(calibration_log_ratios_.size()));
}

KldPredictor fit_kld_predictor(const std::vector<MeasurementRow> &rows, const std::vector<std::string> &probe_types) {
  KldPredictor predictor;
  predictor.probe_types_ = probe_types;
  std::map<std::string, std::vector<const MeasurementRow *>> probes;  // by tensor
  for (const MeasurementRow &row : rows)
    if (predictor.is_probe_type(row.type) && positive(row.get(Metric::kld))) probes[row.tensor].push_back(&row);
  for (const auto &[tensor, tensor_probes] : probes) {
    for (const Metric m : kXMetricOrder) {
      std::vector<std::pair<double, double>> points;
      for (const MeasurementRow *row : tensor_probes)
        if (positive(row->get(m))) points.emplace_back(std::log(*row->get(m)), std::log(*row->get(Metric::kld)));
      if (points.empty()) continue;
      predictor.fits_[tensor] = fit_points(points, m);
      break;
    }
  }
  return predictor;
}

KldPredictionSummary summarize_kld_predictions(const std::vector<KldPredictionPair> &pairs) {
  KldPredictionSummary s;
  s.count = static_cast<int64_t>(pairs.size());
  std::vector<double> log_predicted, log_measured, abs_log_ratio;
  double sum_ratio = 0;
  for (const KldPredictionPair &p : pairs) {
    log_predicted.push_back(std::log(p.predicted));
    log_measured.push_back(std::log(p.measured));
    abs_log_ratio.push_back(std::abs(log_predicted.back() - log_measured.back()));
    sum_ratio += p.predicted / p.measured;
  }
  s.log_pearson = pearson(log_predicted, log_measured);
  s.median_abs_log_ratio = percentile(abs_log_ratio, 0.5);
  s.p90_abs_log_ratio = percentile(abs_log_ratio, 0.9);
  s.mean_ratio = pairs.empty() ? std::numeric_limits<double>::quiet_NaN() : sum_ratio / static_cast<double>(s.count);
  return s;
}

KldPredictionReport evaluate_kld_predictor(const KldPredictor &predictor, const std::vector<MeasurementRow> &rows) {
  KldPredictionReport report;
  for (const MeasurementRow &row : rows) {
    const std::optional<double> measured = row.get(Metric::kld);
    if (predictor.is_probe_type(row.type) || !positive(measured)) continue;
    const std::optional<double> predicted = predictor.predict(row);
    if (!positive(predicted)) {
      ++report.unpredicted;
      continue;
    }
    report.pairs.push_back({row.tensor, row.type, row.bits, *predicted, *measured});
  }
  report.summary = summarize_kld_predictions(report.pairs);
  return report;
}

}  // namespace qs
