// `quantscope measure <model> [--types ...] [--metric proxy|layer|kld] [--text F] [--imatrix F]
// [--tensors REGEX] [--shard i/N]`: the per tensor x type sweep as a job in the job database, with
// a progress bar; `jobs resume` continues it through the kind registered here.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "cli/db_option.h"
#include "cli/device_options.h"
#include "core/error.h"
#include "core/progress.h"
#include "jobs/job_kinds.h"
#include "measure/measure_job.h"

namespace qs::cli::measure_command {
namespace {

struct Options {
  MeasureRequest request;
  std::string metric = "proxy";
  std::string shard = "1/1";
  int threads = 0;
  bool detach = false;
  bool json = false;
};

void run_measure(const std::string &db, Options options) {
  const auto level = parse_metric_level(options.metric);
  if (!level) fail("--metric: '", options.metric, "' is not one of proxy, layer, kld");
  options.request.metric = *level;
  parse_shard(options.shard, options.request.shard_index, options.request.shard_count);

  JobStore store(resolve_job_database_path(db));
  const MeasureJob job = create_measure_job(store, options.request);
  if (!options.json) {
    std::printf("job %lld: %s %lld units (tensor x type, metric %s)%s\n", static_cast<long long>(job.id),
                job.resumed ? "continuing" : "measuring", static_cast<long long>(job.units_total),
                metric_level_name(*level), job.resumed ? ", an unfinished job with the same request" : "");
    std::fflush(stdout);
  }
  if (options.detach) {
    print_queued_job(job.id, options.json);
    return;
  }
  ProgressBar bar(!options.json);
  RunOptions run_options;
  run_options.progress = &bar;
  run_options.progress_label = "measure job " + std::to_string(job.id);
  const RunOutcome outcome = run_measure_job(store, job.id, run_options, options.threads);
  if (outcome.state == JobState::failed) fail("job ", job.id, " failed: ", outcome.error);
  if (options.json) {
    std::printf("%s\n", nlohmann::json{{"id", job.id},
                                       {"state", job_state_name(outcome.state)},
                                       {"units_done", outcome.units_done},
                                       {"units_total", outcome.units_total},
                                       {"units_run", outcome.units_run}}
                            .dump(2)
                            .c_str());
  } else {
    std::printf("job %lld %s at %lld/%lld units", static_cast<long long>(job.id), job_state_name(outcome.state),
                static_cast<long long>(outcome.units_done), static_cast<long long>(outcome.units_total));
    if (outcome.state == JobState::done)
      std::printf("; `quantscope jobs export %lld -o measurements.csv` writes the table", static_cast<long long>(job.id));
    std::printf("\n");
  }
}

const JobKindRegistration measure_kind{"measure", [](JobStore &store, const JobInfo &job, const RunOptions &options) {
  return run_measure_job(store, job.id, options);
}};

const CommandRegistration registration{45, [](CLI::App &app) {
  auto *cmd = app.add_subcommand(
      "measure",
      "Measure what each quant type costs each tensor, all other tensors unquantized, as a resumable job: "
      "weight-space proxies, the tensor's own output error, or the model's KLD and perplexity change");
  auto options = std::make_shared<Options>();
  auto db = std::make_shared<std::string>();
  MeasureRequest &r = options->request;
  cmd->add_option("model", r.model, "Model directory, .gguf file or cached repo id")->required();
  cmd->add_option("--types,-t", r.types, "Candidate types, comma separated (default: the ladder Q8_0 ... IQ1_M of "
                                         "`quantscope types`, filtered per tensor by row size and imatrix)")
      ->delimiter(',');
  cmd->add_option("--metric", options->metric,
                  "proxy: RMSE, max error, relative MSE, imatrix-weighted MSE (no model run); layer: + the "
                  "tensor's output error on calibration inputs; kld: + the model's KLD and ΔPPL")
      ->capture_default_str();
  cmd->add_option("--probes", r.probes, "With --metric kld: only these types get the KLD (the others stop at "
                                        "layer; `quantscope predict` fits the rest from these probes)")
      ->delimiter(',');
  cmd->add_option("--text", r.text, "Calibration text (needed for layer and kld)");
  cmd->add_option("--imatrix", r.imatrix, "Importance matrix (llama.cpp GGUF or legacy .dat)");
  cmd->add_option("--tensors", r.tensor_regex, "Only tensors whose GGUF name matches this regex");
  cmd->add_option("--shard", options->shard, "Measure only slice i of N of the tensors (i/N), for a cluster; merge "
                                             "the exported shards with `jobs import --into`")
      ->capture_default_str();
  cmd->add_option("--ctx", r.n_ctx, "Tokens per calibration chunk")->capture_default_str();
  cmd->add_option("--chunks", r.max_chunks, "Calibration chunks (-1: the whole text)")->capture_default_str();
  add_device_options(cmd, r.device, r.precision,
                     "Where the layer and kld levels run: auto (the GPU when there is one), cpu, cuda");
  cmd->add_option("--threads", options->threads, "Worker threads (default: all cores); keep it when resuming: another count moves the last digits of the model metrics");
  cmd->add_flag("--detach", options->detach, "Only create the job (queued); `jobs resume` or the server runs it");
  cmd->add_flag("--json", options->json, "Print the outcome as JSON");
  add_db_option(cmd, db);
  cmd->callback([options, db] { run_measure(*db, *options); });
}};

}  // namespace
}  // namespace qs::cli::measure_command
