// How far to trust a KLD predictor on one measure job: fit it from the job's probe types, compare
// its predictions with every other measured KLD of the job, and, for a few uniform mixes (every
// tensor in one type), compare the predicted sum with the whole mix measured for real, which also
// calibrates the mix factor. `quantscope predict` prints what this returns.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jobs/job_store.h"
#include "jobs/measurement_row.h"
#include "measure/kld_predictor.h"

namespace qs {

class ProgressSink;

struct KldPredictorCheckOptions {
  std::vector<std::string> probe_types;  // empty: default_kld_probe_types of the job's rows
  std::vector<std::string> mix_types;    // uniform mixes to measure whole (needs the job's model and text)
  int64_t sample = 20;                   // pairs to keep in `sample`
  int n_threads = 0;                     // for the mixes' passes; <= 0: all cores
  ProgressSink *progress = nullptr;      // the reference run, then one step per mix
};

// One uniform mix: every tensor of the job that has a row of `type` and a fit, all in `type`.
struct UniformMixCheck {
  std::string type;
  int64_t n_tensors = 0;
  int64_t n_left_out = 0;            // tensors with a row of `type` but no fit (no probe row)
  double predicted_sum = 0;          // plain sum of the tensors' predictions
  // sum of the tensors' own measured single-tensor KLDs; none when some tensor has no measured
  // KLD in this type (a --probes job: only the probe types carry one)
  std::optional<double> measured_single_sum;
  double measured_kld = 0;           // the whole mix measured
  double measured_delta_ppl = 0;
  double calibrated = 0;             // predicted_sum x the factor of every mix (this one included)
  std::optional<double> calibrated_leave_one_out;  // x the factor of the other mixes (none when alone)
};

struct KldPredictorCheck {
  int64_t job_id = 0;
  KldPredictor predictor;                   // mix factor calibrated on `mixes`
  KldPredictionReport report;               // every non-probe row
  std::vector<KldPredictionPair> sample;    // evenly spaced pairs of report.pairs
  std::vector<UniformMixCheck> mixes;
};

// Two types of the rows spread over the ladder: among the types with a positive kld, the one
// closest to 4.5 bpw (Q4_K: where good mixes live) and then, of the others, the one closest to
// 2.6 bpw (Q2_K: where errors are large and the curve bends). Ties go to the type measured first.
// A single type gives one probe.
std::vector<std::string> default_kld_probe_types(const std::vector<MeasurementRow> &rows);

// n items at evenly spaced positions (i * size / n), all of them when n >= size.
std::vector<KldPredictionPair> evenly_spaced_sample(const std::vector<KldPredictionPair> &pairs, int64_t n);

// Throws qs::Error when the job has no row with a kld, when a probe or mix type has none, or when
// mixes are asked of a job whose params do not rebuild its model (not a measure job).
KldPredictorCheck check_kld_predictor(JobStore &store, int64_t job_id, const KldPredictorCheckOptions &options);

}  // namespace qs
