// `quantscope auto <model> --text CALIBRATION --eval HELD_OUT (--target-bpw X | --size S) -o DIR`: imatrix,
// measurement, strategy, its GGUF and the comparison with llama.cpp's stock mixes, as one resumable job
// ending with the table and the report's path. `jobs resume` continues it through the kind registered here.
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "cli/db_option.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/text_file.h"
#include "jobs/job_kinds.h"
#include "pipeline/auto_job.h"

namespace qs::cli::auto_command {
namespace {

struct Options {
  AutoRequest request;
  std::optional<double> target_bpw;
  int threads = 0;
  bool detach = false;
  bool json = false;
};

void print_compare_table(const nlohmann::json &c) {
  std::printf("\nreference PPL %.4f on %s (%lld scored tokens)\n\n", c["base_ppl"]["value"].get<double>(),
              c["text"].get<std::string>().c_str(), static_cast<long long>(c["scored_tokens"].get<int64_t>()));
  std::printf("%-12s %-8s %12s %7s %10s %12s %9s\n", "name", "kind", "file bytes", "bpw", "PPL", "KLD mean", "same top");
  for (const auto &row : c["rows"])
    std::printf("%-12s %-8s %12llu %7.4f %10.4f %12.6f %8.2f%%\n", row["name"].get<std::string>().c_str(),
                row["kind"].get<std::string>().c_str(), static_cast<unsigned long long>(row["file_bytes"].get<uint64_t>()),
                row["bpw"].get<double>(), row["ppl"]["value"].get<double>(), row["kld"]["value"].get<double>(),
                100.0 * row["same_top"]["value"].get<double>());
}

void run_auto(const std::string &db, Options o) {
  o.request.target_bpw = o.target_bpw;
  o.request.validate_and_resolve();  // a request that cannot run makes no database
  JobStore store(resolve_job_database_path(db));
  const AutoJob job = create_auto_job(store, o.request);
  const AutoRequest request = AutoRequest::from_json(store.job(job.id).params);
  if (!o.json) {
    std::printf("job %lld: %s auto job into %s\n", static_cast<long long>(job.id), job.resumed ? "continuing" : "running",
                request.out_dir.c_str());
    std::fflush(stdout);
  }
  if (o.detach) {
    print_queued_job(job.id, o.json);
    return;
  }
  ProgressBar bar(!o.json);
  RunOptions options;
  options.progress = &bar;
  const RunOutcome outcome = run_auto_job(store, job.id, options, o.threads);
  if (outcome.state == JobState::failed) fail("job ", job.id, " failed: ", outcome.error);
  const AutoPaths paths = auto_paths(request);
  nlohmann::json j = {{"id", job.id}, {"state", job_state_name(outcome.state)}, {"out_dir", request.out_dir}};
  if (outcome.state == JobState::done) {
    const nlohmann::json compared = nlohmann::json::parse(read_text_file(paths.compare_json, 64u << 20, "a comparison"));
    j["strategy"] = paths.strategy.string();
    j["gguf"] = paths.gguf.string();
    j["report"] = paths.report.string();
    j["compare"] = compared;
    if (!o.json) {
      print_compare_table(compared);
      std::printf("\nstrategy %s\nGGUF     %s\nreport   %s\n", paths.strategy.c_str(), paths.gguf.c_str(), paths.report.c_str());
      return;
    }
  }
  if (o.json) std::printf("%s\n", j.dump(2).c_str());
  else std::printf("job %lld %s at stage %lld of %lld\n", static_cast<long long>(job.id), job_state_name(outcome.state),
                   static_cast<long long>(outcome.units_done), static_cast<long long>(outcome.units_total));
}

const JobKindRegistration auto_kind{"auto", [](JobStore &store, const JobInfo &job, const RunOptions &options) {
  return run_auto_job(store, job.id, options);
}};

const CommandRegistration registration{60, [](CLI::App &app) {
  auto *cmd = app.add_subcommand(
      "auto", "From a model to a verified strategy as one resumable job: imatrix, KLD measurement (probes + "
              "prediction), the least-KLD strategy for the budget, its GGUF, and the comparison with llama.cpp's "
              "stock mixes on held-out text with an HTML report");
  auto o = std::make_shared<Options>();
  auto db = std::make_shared<std::string>();
  AutoRequest &r = o->request;
  cmd->add_option("model", r.model, "Model directory, F16/BF16/F32 .gguf or cached repo id")->required();
  cmd->add_option("--text", r.text, "Calibration text (imatrix and measurement)")->required();
  cmd->add_option("--eval", r.eval_text, "Held-out text for the comparison (not the calibration text)")->required();
  cmd->add_option("--target-bpw", o->target_bpw, "Budget: average bits per weight over the quantizable tensors");
  cmd->add_option("--size", r.size, "Budget: the whole output GGUF file (4718592000, 4500MB, 4.2GiB)");
  cmd->add_option("-o,--out-dir", r.out_dir, "Folder for every file the job writes")->required();
  cmd->add_option("--probes", r.probes, "Types whose KLD is measured; the rest is predicted from them")
      ->delimiter(',')->capture_default_str();
  cmd->add_option("--presets", r.presets, "llama.cpp mixes to compare against")->delimiter(',')->capture_default_str();
  cmd->add_option("--ctx", r.n_ctx, "Tokens per calibration chunk")->capture_default_str();
  cmd->add_option("--chunks", r.chunks, "Calibration chunks for the KLD measurement")->capture_default_str();
  cmd->add_option("--imatrix-chunks", r.imatrix_chunks, "Calibration chunks for the imatrix (-1: all)")
      ->capture_default_str();
  cmd->add_option("--eval-chunks", r.eval_chunks, "Held-out chunks for the comparison (-1: all)")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Worker threads (default: all cores)");
  cmd->add_flag("--detach", o->detach, "Only create the job (queued); `jobs resume` or the server runs it");
  cmd->add_flag("--json", o->json, "Print the outcome as JSON");
  add_db_option(cmd, db);
  cmd->callback([o, db] { run_auto(*db, *o); });
}};

}  // namespace
}  // namespace qs::cli::auto_command
