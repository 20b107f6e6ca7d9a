// `quantscope download <org/name> [--revision R] [--token T] [--include G]... [--exclude G]...`:
// the repo's unquantized weights, config and tokenizer into the Hugging Face cache, exactly where
// huggingface_hub puts them, as a resumable job (one unit per file). Prints the snapshot folder,
// which every <model> argument also accepts as the repo id itself.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "cli/db_option.h"
#include "cli/download_progress.h"
#include "core/error.h"
#include "core/progress.h"
#include "hub/hub_auth.h"
#include "jobs/job_kinds.h"
#include "pipeline/download_job.h"

namespace qs::cli::download_command {
namespace {

struct Options {
  DownloadRequest request;
  std::string token;
  int parallel = 4;
  bool detach = false;
  bool json = false;
};

void print_snapshot(const std::string &repo, const std::string &revision, const std::filesystem::path &snapshot, bool json,
                    const nlohmann::json &extra = nlohmann::json::object()) {
  if (json) {
    nlohmann::json out = extra;
    out["repo"] = repo;
    out["revision"] = revision;
    out["snapshot"] = snapshot.string();
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%s\n", snapshot.string().c_str());
  }
}

void run_download(const std::string &db, const Options &options) {
  const DownloadRequest &request = options.request;
  if (hub_offline()) {
    print_snapshot(request.repo_id, request.revision, cached_download_snapshot(request), options.json,
                   {{"state", "done"}, {"offline", true}});
    return;
  }
  JobStore store(resolve_job_database_path(db));
  const DownloadJob job = create_download_job(store, request, options.token);
  if (!options.json) {
    std::fprintf(stderr, "%s at %s = commit %s: %zu files, %s (%s already in the cache)\n", request.repo_id.c_str(),
                 request.revision.c_str(), job.commit.c_str(), job.files.size(), format_bytes(job.total_bytes).c_str(),
                 format_bytes(job.cached_bytes).c_str());
    if (job.resumed)
      std::fprintf(stderr, "job %lld: continuing an unfinished download of the same files\n", static_cast<long long>(job.id));
  }
  if (options.detach) {
    if (options.json)
      std::printf("%s\n", nlohmann::json{{"id", job.id}, {"state", "queued"}, {"snapshot", job.snapshot.string()}}.dump(2).c_str());
    else
      std::printf("job %lld queued; `quantscope jobs resume %lld` runs it\n", static_cast<long long>(job.id),
                  static_cast<long long>(job.id));
    return;
  }
  DownloadProgress progress(!options.json);
  RunOptions run_options;
  run_options.progress = &progress;
  run_options.progress_label = "download " + request.repo_id;
  DownloadRunOptions download;
  download.token_flag = options.token;
  download.parallel_files = options.parallel;
  download.on_file_progress = [&](const HubFile &file, int64_t bytes) { progress.file_progress(file, bytes); };
  download.on_file_done = [&](const HubFile &file, const HubFetchResult &result) { progress.file_done(file, result); };
  const RunOutcome outcome = run_download_job(store, job.id, run_options, download);
  if (outcome.state == JobState::failed)
    fail("download job ", job.id, " failed: ", outcome.error, " (`quantscope jobs resume ", job.id,
         "` or the same command continues; finished files and partial bytes are kept)");
  if (outcome.state != JobState::done) {
    if (options.json)
      std::printf("%s\n", nlohmann::json{{"id", job.id}, {"state", job_state_name(outcome.state)}}.dump(2).c_str());
    else
      std::printf("job %lld %s at %lld/%lld files; `quantscope jobs resume %lld` continues\n", static_cast<long long>(job.id),
                  job_state_name(outcome.state), static_cast<long long>(outcome.units_done),
                  static_cast<long long>(outcome.units_total - 1), static_cast<long long>(job.id));
    return;
  }
  print_snapshot(request.repo_id, request.revision, job.snapshot, options.json,
                 {{"id", job.id}, {"state", "done"}, {"commit", job.commit}, {"files", job.files.size()},
                  {"bytes", job.total_bytes}});
}

// `jobs resume` has no --token: the token comes from HF_TOKEN or huggingface_hub's token file.
const JobKindRegistration download_kind{"download", [](JobStore &store, const JobInfo &job, const RunOptions &options) {
  DownloadRunOptions download;
  download.token_flag = options.hub_token;  // the server's, in memory; else HF_TOKEN or the token file
  return run_download_job(store, job.id, options, download);
}};

const CommandRegistration registration{15, [](CLI::App &app) {
  auto *cmd = app.add_subcommand(
      "download",
      "Fetch a Hugging Face model repo (config, tokenizer, *.safetensors) into the Hugging Face cache, shared with "
      "huggingface_hub; resumable (a job); prints the snapshot folder");
  auto options = std::make_shared<Options>();
  auto db = std::make_shared<std::string>();
  DownloadRequest &r = options->request;
  cmd->add_option("repo", r.repo_id, "Repo id, e.g. meta-llama/Llama-3.2-1B")->required();
  cmd->add_option("--revision", r.revision, "Branch, tag or commit (default: main)");
  cmd->add_option("--token", options->token,
                  "Hub access token (default: $HF_TOKEN, else the file `huggingface-cli login` writes, "
                  "$HF_HOME/token); never printed or stored");
  cmd->add_option("--include", r.include,
                  "Only files matching this glob (repeatable; replaces the default choice: everything but duplicate "
                  "*.bin/*.pth/*.gguf weights and original/ when *.safetensors exist)");
  cmd->add_option("--exclude", r.exclude, "Skip files matching this glob (repeatable)");
  cmd->add_option("--parallel", options->parallel, "Files fetched at the same time (default 4)")->check(CLI::Range(1, 64));
  cmd->add_flag("--detach", options->detach, "Only create the job (queued); `jobs resume` or the server runs it");
  cmd->add_flag("--json", options->json, "Print the result as JSON");
  add_db_option(cmd, db);
  cmd->footer(
      "Environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN, HF_HOME, HF_HUB_CACHE (default "
      "~/.cache/huggingface/hub), HF_HUB_OFFLINE=1 (only print the cached snapshot), QUANTSCOPE_HUB_TIMEOUT_SECONDS "
      "(default 30), QUANTSCOPE_HUB_RETRIES (default 5).");
  cmd->callback([options, db] { run_download(*db, *options); });
}};

}  // namespace
}  // namespace qs::cli::download_command
