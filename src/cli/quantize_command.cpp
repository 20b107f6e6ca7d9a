// `quantscope quantize <model> (--type T | --strategy s.yaml) [--imatrix F] -o out.gguf`: the whole model to
// one type or each tensor to its strategy's type, llama.cpp conventions (norms and 1-D tensors F32; rows that do not fit a type fall back, and
// each fallback is reported). A job in the job database: one unit per tensor, so a killed or paused
// run continues where it stopped.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "cli/db_option.h"
#include "core/error.h"
#include "core/progress.h"
#include "jobs/job_kinds.h"
#include "pipeline/quantize_job.h"

namespace qs::cli::quantize_command {
namespace {

struct Options {
  QuantizeRequest request;
  int threads = 0;
  bool detach = false;
  bool json = false;
};

void run_quantize(const std::string &db, const Options &options) {
  JobStore store(resolve_job_database_path(db));
  const QuantizeJob job = create_quantize_job(store, options.request);
  const QuantizeRequest &request = options.request;
  if (!options.json) {
    for (const auto &t : job.fallbacks)
      std::fprintf(stderr, "fallback: %s: row length does not fit %s, using %s\n", t.name.c_str(),
                   quant_type(t.requested).name, quant_type(t.type).name);
    if (job.resumed)
      std::printf("job %lld: continuing an unfinished quantize job with the same request\n",
                  static_cast<long long>(job.id));
    std::fflush(stdout);
  }
  if (options.detach) {
    print_queued_job(job.id, options.json);
    return;
  }
  ProgressBar bar(!options.json);
  RunOptions run_options;
  run_options.progress = &bar;
  run_options.progress_label = "quantize job " + std::to_string(job.id);
  const RunOutcome outcome = run_quantize_job(store, job.id, run_options, options.threads);
  if (outcome.state == JobState::failed)
    fail("job ", job.id, " failed: ", outcome.error, " (", request.output, ".tmp keeps the tensors written so far: "
         "`quantscope jobs resume ", job.id, "` continues, deleting it starts over)");
  const double bpw = 8.0 * static_cast<double>(job.report.bytes) / static_cast<double>(job.report.params);
  const std::string output = std::filesystem::absolute(request.output).lexically_normal().string();
  if (options.json) {
    nlohmann::json fallbacks = nlohmann::json::array();
    for (const auto &t : job.fallbacks)
      fallbacks.push_back({{"tensor", t.name}, {"requested", quant_type(t.requested).name}, {"used", quant_type(t.type).name}});
    const nlohmann::json out = {{"id", job.id},           {"state", job_state_name(outcome.state)},
                                {"output", request.output}, {"type", quant_type(job.dominant_type).name},
                                {"bytes", job.report.bytes}, {"params", job.report.params},
                                {"bpw", bpw},               {"fallbacks", fallbacks}};
    std::printf("%s\n", out.dump(2).c_str());
  } else if (outcome.state == JobState::done) {
    std::printf("wrote %s: %s of tensor data, %.4f bits per weight, %d fallback%s\n", request.output.c_str(),
                format_bytes(job.report.bytes).c_str(), bpw, job.report.n_fallbacks,
                job.report.n_fallbacks == 1 ? "" : "s");
  } else {
    std::printf("job %lld %s at %lld/%lld units; %s holds the tensors written so far, `quantscope jobs resume %lld` "
                "continues\n",
                static_cast<long long>(job.id), job_state_name(outcome.state), static_cast<long long>(outcome.units_done),
                static_cast<long long>(outcome.units_total), (output + ".tmp").c_str(), static_cast<long long>(job.id));
  }
}

const JobKindRegistration quantize_kind{"quantize", [](JobStore &store, const JobInfo &job, const RunOptions &options) {
  return run_quantize_job(store, job.id, options);
}};

const CommandRegistration registration{30, [](CLI::App &app) {
  auto *cmd = app.add_subcommand("quantize", "Write a GGUF with every quantizable tensor in one type, or each in "
                                             "its strategy's type (norms and 1-D tensors stay F32; rows that do not "
                                             "fit a --type fall back as in llama.cpp)");
  auto options = std::make_shared<Options>();
  auto db = std::make_shared<std::string>();
  QuantizeRequest &r = options->request;
  cmd->add_option("model", r.model, "Model directory or .gguf file")->required();
  cmd->add_option("--type,-t", r.type, "Target type: F32, F16, BF16, Q8_0, Q4_K, IQ4_XS, ... (see `quantscope types`)");
  cmd->add_option("--preset", r.preset, "llama.cpp's stock mix, tensor by tensor as llama-quantize makes it: "
                                               "Q8_0, Q6_K, Q5_K_M, Q5_K_S, Q4_K_M, Q4_K_S, Q3_K_L, Q3_K_M, Q3_K_S, "
                                               "Q2_K, Q2_K_S, IQ4_XS, IQ4_NL, IQ3_M, IQ3_S, IQ3_XS, IQ3_XXS, IQ2_M, ...");
  cmd->add_option("--strategy", r.strategy, "A strategy file (`quantscope strategy -o s.yaml`): each tensor "
                                                   "in its own type; must have been made for this model");
  cmd->add_option("--imatrix", r.imatrix, "Importance matrix (llama.cpp GGUF or legacy .dat)");
  cmd->add_option("--tensor-type", r.tensor_types,
                  "PATTERN=TYPE: quantizable tensors whose name matches the regex get TYPE (as llama-quantize "
                  "--tensor-type; repeatable, the first match wins)");
  cmd->add_option("-o,--output", r.output, "Output .gguf path")->required();
  cmd->add_option("--threads", options->threads, "Worker threads (default: all cores)");
  cmd->add_flag("--detach", options->detach, "Only create the job (queued); `jobs resume` or the server runs it");
  cmd->add_flag("--json", options->json, "Print the result as JSON");
  add_db_option(cmd, db);
  cmd->callback([options, db] { run_quantize(*db, *options); });
}};

}  // namespace
}  // namespace qs::cli::quantize_command
