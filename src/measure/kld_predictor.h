// Predicting a tensor's end-to-end KLD from its cheap error metrics: from a few probe types
// measured at the kld level, fit per tensor kld ≈ a · x^b (x its output error, else its weighted
// or plain relative MSE), then predict every other type of that tensor, and a whole mix as the
// sum over its tensors, optionally scaled by a factor learnt from a few measured whole mixes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "jobs/measurement_row.h"

namespace qs {

// One tensor's power law.
struct TensorKldFit {
  Metric x_metric = Metric::layer_error;  // what x is: layer_error, weighted_relative_mse or relative_mse
  double a = 0;                           // kld at x = 1
  double b = 1;                           // exponent, within [kMinKldExponent, kMaxKldExponent]
  int n_probes = 0;                       // probe rows the fit used
  bool b_clamped = false;                 // the least-squares exponent fell outside the range
};

// For small errors KLD is second order in the logit change, which is linear in the weight error,
// so KLD grows like the squared error (b = 1 in relative-MSE units). Two or three probes measured
// on a few chunks carry enough noise that a free slope can come out at 0.1 or 5, which explodes
// when extrapolated to types far from the probes. Half to double the small-error rate leaves room
// for the curve to bend (saturation at large errors, routing flips in MoE layers) while keeping
// any extrapolation bounded.
inline constexpr double kMinKldExponent = 0.5;
inline constexpr double kMaxKldExponent = 2.0;

class KldPredictor {
 public:
  // The fits, one per tensor that has at least one probe row.
  const std::map<std::string, TensorKldFit> &fits() const { return fits_; }
  // The probe types given to the fit (empty: every row with a kld was a probe).
  const std::vector<std::string> &probe_types() const { return probe_types_; }
  bool is_probe_type(const std::string &type) const;

  // nullopt when the row's tensor has no fit or the row lacks the fit's x metric (or it is negative).
  std::optional<double> predict(const MeasurementRow &row) const;

  // The sum of predict() over the chosen row of each tensor, times mix_factor(). Throws qs::Error
  // naming the first tensor it cannot predict.
  double predict_mix(const std::map<std::string, const MeasurementRow *> &chosen) const;

  // Learns the mix factor from whole mixes measured for real: the geometric mean of
  // measured / predicted_sum over every pair given so far (predicted_sum: the plain sum, before any
  // factor). Non-positive values are refused with qs::Error. On a dense model the factor stays
  // near 1; on MoE models each single-tensor probe carries a floor of routing flips, and the plain
  // sum counts that floor once per tensor.
  void calibrate_mix(double measured, double predicted_sum);
  double mix_factor() const;  // 1 until calibrated
  int64_t n_calibration_mixes() const { return static_cast<int64_t>(calibration_log_ratios_.size()); }

 private:
  friend KldPredictor fit_kld_predictor(const std::vector<MeasurementRow> &, const std::vector<std::string> &);
  std::map<std::string, TensorKldFit> fits_;
  std::vector<std::string> probe_types_;
  std::vector<double> calibration_log_ratios_;
};

// The x metric a row offers, in fallback order: layer_error, weighted_relative_mse, relative_mse.
// nullopt when it has none of them.
std::optional<Metric> kld_predictor_x_metric(const MeasurementRow &row);

// Fits every tensor from its probe rows: rows whose type is in probe_types (empty: any type) and
// that carry a positive kld. Per tensor, x is the first metric in the fallback order that a probe
// row carries positive; rows lacking it are left out of that tensor's fit. Two or more probes with
// distinct x: least squares of ln kld on ln x (b clamped, then a refitted for the clamped b); one
// probe (or all at the same x): b = 1 and a = the geometric mean of kld / x.
KldPredictor fit_kld_predictor(const std::vector<MeasurementRow> &rows, const std::vector<std::string> &probe_types);

// How well the predictor does on rows it did not see.
struct KldPredictionPair {
  std::string tensor, type;
  double bits = 0;
  double predicted = 0, measured = 0;
};

struct KldPredictionSummary {
  int64_t count = 0;                  // pairs compared
  double log_pearson = 0;             // Pearson correlation of ln predicted vs ln measured (NaN under 2 pairs)
  double median_abs_log_ratio = 0;    // median |ln(predicted / measured)|
  double p90_abs_log_ratio = 0;       // its 90th percentile (linear interpolation)
  double mean_ratio = 0;              // mean of predicted / measured
};

struct KldPredictionReport {
  std::vector<KldPredictionPair> pairs;  // in row order
  KldPredictionSummary summary;
  int64_t unpredicted = 0;  // non-probe rows with a positive kld but no positive prediction (mostly: no fit)
};

// Every non-probe row with a positive measured kld and a positive prediction, and their summary.
KldPredictionReport evaluate_kld_predictor(const KldPredictor &predictor, const std::vector<MeasurementRow> &rows);

// The summary of any list of pairs (for the mixes, or a subset).
KldPredictionSummary summarize_kld_predictions(const std::vector<KldPredictionPair> &pairs);

}  // namespace qs
