// Fitting a predictor on a job's probes and checking it on the rest of the job and on whole mixes.
#include "measure/kld_predictor_check.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "core/progress.h"
#include "measure/measure_plan.h"
#include "measure/mix_kld.h"
#include "quant/types.h"

namespace qs {
namespace {

bool has_kld(const MeasurementRow &row) { return row.get(Metric::kld) && *row.get(Metric::kld) > 0; }

// Types with a positive kld, in first-measured order, with their bits per weight.
std::vector<std::pair<std::string, double>> kld_types(const std::vector<MeasurementRow> &rows) {
  std::vector<std::pair<std::string, double>> types;
  for (const MeasurementRow &row : rows) {
    if (!has_kld(row)) continue;
    const bool seen = std::any_of(types.begin(), types.end(), [&](const auto &t) { return t.first == row.type; });
    if (!seen) types.emplace_back(row.type, row.bits);
  }
  return types;
}

std::string join(const std::vector<std::string> &names) {
  std::string out;
  for (const auto &name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::vector<std::string> names_of(const std::vector<std::pair<std::string, double>> &types) {
  std::vector<std::string> names;
  for (const auto &t : types) names.push_back(t.first);
  return names;
}

}  // namespace

std::vector<std::string> default_kld_probe_types(const std::vector<MeasurementRow> &rows) {
  auto types = kld_types(rows);
  std::vector<std::string> probes;
  for (const double target_bpw : {4.5, 2.6}) {
    if (types.empty()) break;
    // min_element keeps the first of equals: ties go to the type measured first.
    const auto closest = std::min_element(types.begin(), types.end(), [&](const auto &x, const auto &y) {
      return std::abs(x.second - target_bpw) < std::abs(y.second - target_bpw);
    });
    probes.push_back(closest->first);
    types.erase(closest);
  }
  return probes;
}

std::vector<KldPredictionPair> evenly_spaced_sample(const std::vector<KldPredictionPair> &pairs, int64_t n) {
  const auto size = static_cast<int64_t>(pairs.size());
  if (n >= size) return pairs;
  std::vector<KldPredictionPair> sample;
  for (int64_t i = 0; i < n; ++i) sample.push_back(pairs[static_cast<size_t>(i * size / n)]);
  return sample;
}

KldPredictorCheck check_kld_predictor(JobStore &store, int64_t job_id, const KldPredictorCheckOptions &options) {
  const JobInfo job = store.job(job_id);
  const std::vector<MeasurementRow> rows = store.measurements(job_id);
  const auto types = kld_types(rows);
  if (types.empty())
    fail("job ", job_id, " has no KLD measurements (", rows.size(), " rows, none with a positive kld): predicting "
         "needs probes measured with `quantscope measure --metric kld`");
  const auto offered = names_of(types);

  KldPredictorCheck check;
  check.job_id = job_id;
  const std::vector<std::string> probes =
      options.probe_types.empty() ? default_kld_probe_types(rows) : options.probe_types;
  for (const auto &probe : probes)
    if (std::find(offered.begin(), offered.end(), probe) == offered.end())
      fail("--probes: job ", job_id, " has no KLD row of type ", probe, " (types with a KLD: ", join(offered), ")");
  check.predictor = fit_kld_predictor(rows, probes);
  check.report = evaluate_kld_predictor(check.predictor, rows);
  check.sample = evenly_spaced_sample(check.report.pairs, options.sample);
  if (options.mix_types.empty()) return check;

  // Every mix is chosen before the model is loaded, so a bad type fails in a second, not minutes.
  std::vector<std::map<std::string, const MeasurementRow *>> chosen(options.mix_types.size());
  for (size_t m = 0; m < options.mix_types.size(); ++m) {
    UniformMixCheck mix;
    mix.type = options.mix_types[m];
    double single_sum = 0;
    bool every_single_measured = true;
    for (const MeasurementRow &row : rows) {
      if (row.type != mix.type || chosen[m].count(row.tensor)) continue;
      if (!check.predictor.predict(row)) {
        ++mix.n_left_out;
        continue;
      }
      chosen[m][row.tensor] = &row;
      if (row.get(Metric::kld)) single_sum += *row.get(Metric::kld);
      else every_single_measured = false;
    }
    if (chosen[m].empty())
      fail("--mixes: job ", job_id, " has no predictable row of type ", mix.type, " (types with a KLD: ",
           join(offered), ")");
    if (every_single_measured) mix.measured_single_sum = single_sum;
    mix.n_tensors = static_cast<int64_t>(chosen[m].size());
    mix.predicted_sum = check.predictor.predict_mix(chosen[m]);  // not calibrated yet: the plain sum
    check.mixes.push_back(mix);
  }
  if (job.kind != "measure")
    fail("--mixes: job ", job_id, " is a ", job.kind, " job; only a measure job's params name the model and text "
         "to measure a whole mix on");

  MixKldMeasurer measurer(MeasureRequest::from_json(job.params), options.n_threads, options.progress);
  NullProgress quiet;
  ProgressSink &progress = options.progress ? *options.progress : quiet;
  progress.begin("whole mixes", static_cast<int64_t>(check.mixes.size()));
  for (size_t m = 0; m < check.mixes.size(); ++m) {
    MixTypes mix;
    const QuantType &type = quant_type_by_name(check.mixes[m].type);
    for (const auto &[tensor, row] : chosen[m]) mix[tensor] = &type;
    const MixKld measured = measurer.measure(mix);
    check.mixes[m].measured_kld = measured.kld;
    check.mixes[m].measured_delta_ppl = measured.delta_ppl;
    progress.advance(static_cast<int64_t>(m + 1));
  }
  progress.end();

  // The factor of all mixes, and for each mix the factor of the others: that one is an honest
  // test of the calibration, since the mix it is applied to did not set it. A mix predicted or
  // measured at exactly zero (lossless types) has no ratio and calibrates nothing.
  std::vector<std::optional<double>> log_ratios;
  double total = 0;
  int64_t n_ratios = 0;
  for (const UniformMixCheck &mix : check.mixes) {
    if (mix.measured_kld > 0 && mix.predicted_sum > 0) {
      check.predictor.calibrate_mix(mix.measured_kld, mix.predicted_sum);
      log_ratios.push_back(std::log(mix.measured_kld / mix.predicted_sum));
      total += *log_ratios.back();
      ++n_ratios;
    } else {
      log_ratios.emplace_back();
    }
  }
  for (size_t m = 0; m < check.mixes.size(); ++m) {
    UniformMixCheck &mix = check.mixes[m];
    mix.calibrated = mix.predicted_sum * check.predictor.mix_factor();
    const int64_t n_others = n_ratios - (log_ratios[m] ? 1 : 0);
    if (n_others > 0)
      mix.calibrated_leave_one_out =
          mix.predicted_sum * std::exp((total - log_ratios[m].value_or(0.0)) / static_cast<double>(n_others));
  }
  return check;
}

}  // namespace qs
