// `quantscope predict <job-id> [--probes T,..] [--mixes T,..] [--sample N] [--json]`: fit each
// tensor's KLD against its error from a few probe types of a kld-level measure job, and show how
// well that predicts the job's other types and whole uniform mixes measured for real.
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "cli/db_option.h"
#include "core/error.h"
#include "core/progress.h"
#include "jobs/job_store.h"
#include "measure/kld_predictor_check.h"

namespace qs::cli::predict_command {
namespace {

struct Options {
  int64_t job_id = 0;
  KldPredictorCheckOptions check;
  bool json = false;
};

// NaN (a correlation of fewer than two pairs) becomes null.
nlohmann::json number(double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(); }

nlohmann::json pair_json(const KldPredictionPair &p) {
  return {{"tensor", p.tensor}, {"type", p.type}, {"bits", p.bits}, {"predicted", number(p.predicted)},
          {"measured", number(p.measured)}, {"ratio", number(p.predicted / p.measured)}};
}

nlohmann::json check_json(const KldPredictorCheck &check) {
  nlohmann::json fits = nlohmann::json::object();
  for (const auto &[tensor, fit] : check.predictor.fits())
    fits[tensor] = {{"x_metric", metric_info(fit.x_metric).column}, {"a", fit.a}, {"b", fit.b},
                    {"probes", fit.n_probes}, {"b_clamped", fit.b_clamped}};
  const KldPredictionSummary &s = check.report.summary;
  nlohmann::json pairs = nlohmann::json::array(), sample = nlohmann::json::array(), mixes = nlohmann::json::array();
  for (const auto &p : check.report.pairs) pairs.push_back(pair_json(p));
  for (const auto &p : check.sample) sample.push_back(pair_json(p));
  for (const UniformMixCheck &m : check.mixes) {
    mixes.push_back({{"type", m.type}, {"tensors", m.n_tensors}, {"left_out", m.n_left_out},
                     {"predicted_sum", number(m.predicted_sum)}, {"measured_single_sum", m.measured_single_sum ? number(*m.measured_single_sum) : nlohmann::json()},
                     {"measured_kld", number(m.measured_kld)}, {"measured_delta_ppl", number(m.measured_delta_ppl)},
                     {"calibrated", number(m.calibrated)},
                     {"calibrated_leave_one_out",
                      m.calibrated_leave_one_out ? number(*m.calibrated_leave_one_out) : nlohmann::json()}});
  }
  return {{"job", check.job_id},
          {"probes", check.predictor.probe_types()},
          {"fits", fits},
          {"summary", {{"count", s.count}, {"log_pearson", number(s.log_pearson)},
                       {"median_abs_log_ratio", number(s.median_abs_log_ratio)},
                       {"p90_abs_log_ratio", number(s.p90_abs_log_ratio)}, {"mean_ratio", number(s.mean_ratio)},
                       {"unpredicted", check.report.unpredicted}}},
          {"sample", sample},
          {"pairs", pairs},
          {"mixes", mixes},
          {"mix_factor", check.predictor.mix_factor()},
          {"calibration_mixes", check.predictor.n_calibration_mixes()}};
}

void print_check(const KldPredictorCheck &check) {
  std::map<std::string, int> per_metric;
  int clamped = 0;
  for (const auto &[tensor, fit] : check.predictor.fits()) {
    ++per_metric[metric_info(fit.x_metric).column];
    clamped += fit.b_clamped ? 1 : 0;
  }
  std::string probes, metrics;
  for (const auto &p : check.predictor.probe_types()) probes += (probes.empty() ? "" : ", ") + p;
  for (const auto &[metric, n] : per_metric) metrics += cat(metrics.empty() ? "" : ", ", metric, " for ", n);
  std::printf("job %lld: %zu tensors fitted from probes %s (kld = a * x^b, x = %s; exponent clamped for %d)\n",
              static_cast<long long>(check.job_id), check.predictor.fits().size(), probes.c_str(), metrics.c_str(),
              clamped);

  const KldPredictionSummary &s = check.report.summary;
  if (s.count == 0) {
    std::printf("\nno row outside the probes has a measured KLD (a `measure --probes` job), so the predictions "
                "cannot be checked row by row here; --mixes checks them on whole mixes\n");
  } else {
  std::printf("\npredicted vs measured KLD, %zu of %lld non-probe rows (evenly spaced):\n", check.sample.size(),
              static_cast<long long>(s.count));
  std::printf("%-32s %-8s %6s %12s %12s %7s\n", "tensor", "type", "bpw", "predicted", "measured", "ratio");
  for (const auto &p : check.sample)
    std::printf("%-32s %-8s %6.3f %12.4e %12.4e %7.3f\n", p.tensor.c_str(), p.type.c_str(), p.bits, p.predicted,
                p.measured, p.predicted / p.measured);
  std::printf("\nover %lld rows: Pearson r of ln predicted vs ln measured %.4f; |ln(predicted/measured)| median "
              "%.3f (x%.2f), p90 %.3f (x%.2f); mean predicted/measured %.3f\n",
              static_cast<long long>(s.count), s.log_pearson, s.median_abs_log_ratio, std::exp(s.median_abs_log_ratio),
              s.p90_abs_log_ratio, std::exp(s.p90_abs_log_ratio), s.mean_ratio);
  }
  if (check.report.unpredicted > 0)
    std::printf("%lld rows of tensors without a probe row were not predicted\n",
                static_cast<long long>(check.report.unpredicted));
  if (check.mixes.empty()) return;

  std::printf("\nuniform mixes (every fitted tensor of the job in one type), measured whole:\n");
  std::printf("%-8s %7s %13s %14s %13s %12s %9s %13s %13s\n", "type", "tensors", "predicted sum", "sum of singles",
              "measured mix", "mix ΔPPL", "pred/meas", "calibrated", "calib. (loo)");
  for (const UniformMixCheck &m : check.mixes) {
    char loo[32] = "-", singles[32] = "-";
    if (m.calibrated_leave_one_out) std::snprintf(loo, sizeof loo, "%.4e", *m.calibrated_leave_one_out);
    if (m.measured_single_sum) std::snprintf(singles, sizeof singles, "%.4e", *m.measured_single_sum);
    std::printf("%-8s %7lld %13.4e %14s %13.4e %11.4f %9.3f %13.4e %13s\n", m.type.c_str(),
                static_cast<long long>(m.n_tensors), m.predicted_sum, singles, m.measured_kld,
                m.measured_delta_ppl, m.predicted_sum / m.measured_kld, m.calibrated, loo);
  }
  std::printf("mix factor (geometric mean of measured / predicted sum over %lld mixes): %.4f\n",
              static_cast<long long>(check.predictor.n_calibration_mixes()), check.predictor.mix_factor());
}

void run_predict(const std::string &db, Options options) {
  JobStore store(resolve_job_database_path(db));
  ProgressBar bar(!options.json);
  options.check.progress = &bar;
  const KldPredictorCheck check = check_kld_predictor(store, options.job_id, options.check);
  if (options.json) std::printf("%s\n", check_json(check).dump(2).c_str());
  else print_check(check);
}

const CommandRegistration registration{47, [](CLI::App &app) {
  auto *cmd = app.add_subcommand(
      "predict",
      "Predict every type's KLD from a few probe types of a kld-level measure job (per tensor kld = a * x^b) "
      "and show how well it matches the job's other measurements and whole uniform mixes measured for real");
  auto options = std::make_shared<Options>();
  auto db = std::make_shared<std::string>();
  cmd->add_option("job", options->job_id, "A measure job with KLD measurements")->required();
  cmd->add_option("--probes", options->check.probe_types,
                  "Types to fit from (default: the job's types closest to 4.5 and to 2.6 bpw, e.g. Q4_K,Q2_K)")
      ->delimiter(',');
  cmd->add_option("--mixes", options->check.mix_types,
                  "Measure these uniform mixes whole (every fitted tensor in the type) against their predicted sum, "
                  "and calibrate the mix factor; runs the job's model on its calibration text")
      ->delimiter(',');
  cmd->add_option("--sample", options->check.sample, "Rows of the predicted vs measured table")->capture_default_str();
  cmd->add_option("--threads", options->check.n_threads, "Worker threads for the mixes (default: all cores)");
  cmd->add_flag("--json", options->json, "Print fits, every pair, the summary and the mixes as JSON");
  add_db_option(cmd, db);
  cmd->callback([options, db] { run_predict(*db, *options); });
}};

}  // namespace
}  // namespace qs::cli::predict_command
