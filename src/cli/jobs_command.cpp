// `quantscope jobs [list|show|pause|resume|cancel|export|import]`: look at and steer the jobs in the
// job database, from any process, while they run.
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "core/output_path.h"
#include "cli/db_option.h"
#include "core/error.h"
#include "core/progress.h"
#include "jobs/job_json.h"
#include "jobs/job_kinds.h"
#include "jobs/job_store.h"
#include "jobs/measurements_csv.h"

namespace qs::cli::jobs_command {
namespace {

std::string local_time(double unix_seconds) {
  const auto seconds = static_cast<time_t>(unix_seconds);
  struct tm parts {};
  localtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &parts);
  return text;
}

std::string optional_time(const std::optional<double> &unix_seconds) {
  return unix_seconds ? local_time(*unix_seconds) : "-";
}

std::string progress_words(const JobInfo &job) {
  if (job.units_total <= 0) return cat(job.units_done, "/", job.units_total);
  char percent[16];
  std::snprintf(percent, sizeof percent, "%.1f%%", 100.0 * static_cast<double>(job.units_done) /
                                                       static_cast<double>(job.units_total));
  return cat(job.units_done, "/", job.units_total, " ", percent);
}

std::string eta_words(const JobInfo &job) {
  if (job.state != JobState::running || !job.eta_seconds) return "-";
  return format_duration(*job.eta_seconds);
}

// What a user should know beyond the state: a pending request, a dead runner, an error.
std::string note_words(const JobInfo &job) {
  if (job.state == JobState::running && job.owner != OwnerStatus::alive)
    return cat("its process died; `quantscope jobs resume ", job.id, "` continues it");
  if (job.requested_state) return *job.requested_state == JobState::paused ? "pause requested" : "cancel requested";
  if (job.state == JobState::failed) return job.error;
  return "";
}

std::string owner_words(const JobInfo &job) {
  if (!job.lease) return "-";
  return cat("process ", job.lease->owner.pid, " on ", job.lease->owner.host, " (", owner_status_name(job.owner),
             ", lease until ", local_time(job.lease->expires_at), ")");
}

void run_list(const std::string &db, bool json) {
  JobStore store(resolve_job_database_path(db));
  const auto jobs = store.list_jobs();
  if (json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto &job : jobs) rows.push_back(job_to_json(job));
    std::printf("%s\n", rows.dump(2).c_str());
    return;
  }
  if (jobs.empty()) {
    std::printf("no jobs in %s\n", store.path().c_str());
    return;
  }
  std::printf("%5s  %-10s %-10s %-18s %-8s %-19s %s\n", "ID", "KIND", "STATE", "PROGRESS", "ETA", "UPDATED", "NOTE");
  for (const auto &job : jobs)
    std::printf("%5lld  %-10s %-10s %-18s %-8s %-19s %s\n", static_cast<long long>(job.id), job.kind.c_str(),
                job_state_name(job.state), progress_words(job).c_str(), eta_words(job).c_str(),
                local_time(job.updated_at).c_str(), note_words(job).c_str());
}

void run_show(const std::string &db, int64_t id, bool json) {
  JobStore store(resolve_job_database_path(db));
  const JobDetail detail = store.job_detail(id);
  if (json) {
    std::printf("%s\n", job_detail_to_json(detail).dump(2).c_str());
    return;
  }
  const JobInfo &job = detail.job;
  std::printf("job %lld: %s, %s\n", static_cast<long long>(job.id), job.kind.c_str(), job_state_name(job.state));
  if (const auto note = note_words(job); !note.empty() && job.state != JobState::failed)
    std::printf("note:         %s\n", note.c_str());
  std::printf("params:       %s\n", job.params.dump().c_str());
  std::printf("progress:     %s units, ETA %s\n", progress_words(job).c_str(), eta_words(job).c_str());
  std::printf("created:      %s\n", local_time(job.created_at).c_str());
  std::printf("started:      %s\n", optional_time(job.started_at).c_str());
  std::printf("updated:      %s\n", local_time(job.updated_at).c_str());
  std::printf("finished:     %s\n", optional_time(job.finished_at).c_str());
  std::printf("runner:       %s\n", owner_words(job).c_str());
  if (!job.error.empty()) std::printf("error:        %s\n", job.error.c_str());
  std::printf("measurements: %lld rows", static_cast<long long>(detail.measurement_count));
  for (size_t i = 0; i < detail.rows_per_type.size(); ++i)
    std::printf("%s%s %lld", i ? ", " : "; per type: ", detail.rows_per_type[i].first.c_str(),
                static_cast<long long>(detail.rows_per_type[i].second));
  std::printf("\n");
  if (!detail.values_per_metric.empty()) {
    std::printf("metrics:      ");
    for (size_t i = 0; i < detail.values_per_metric.size(); ++i)
      std::printf("%s%s %lld", i ? ", " : "", detail.values_per_metric[i].first.c_str(),
                  static_cast<long long>(detail.values_per_metric[i].second));
    std::printf(" values\n");
  }
  for (const auto &artifact : detail.artifacts)
    std::printf("artifact:     %s %s\n", artifact.kind.c_str(), artifact.path.c_str());
}

// Waits until a live runner has acted on a pause/cancel request. It ends once the job leaves
// "running", or once its runner stops renewing its lease (then the request is applied directly).
void wait_for_runner(JobStore &store, int64_t id, ControlResult (JobStore::*apply)(int64_t)) {
  for (;;) {
    const JobInfo job = store.job(id);
    if (job.state != JobState::running) return;
    if (job.owner != OwnerStatus::alive) {
      (store.*apply)(id);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void run_pause_or_cancel(const std::string &db, int64_t id, bool wait, bool cancel) {
  JobStore store(resolve_job_database_path(db));
  const auto apply = cancel ? &JobStore::cancel_job : &JobStore::pause_job;
  const char *verb = cancel ? "cancel" : "pause";
  const ControlResult result = (store.*apply)(id);
  if (result.waiting_for_runner) {
    if (!wait) {
      std::printf("job %lld: %s requested; its runner %ss after the unit it is working on\n", static_cast<long long>(id),
                  verb, verb);
      return;
    }
    wait_for_runner(store, id, apply);
    const JobInfo job = store.job(id);
    std::printf("job %lld %s\n", static_cast<long long>(id), job_state_name(job.state));
    return;
  }
  if (!result.changed) std::printf("job %lld is already %s\n", static_cast<long long>(id), job_state_name(result.state));
  else std::printf("job %lld %s\n", static_cast<long long>(id), job_state_name(result.state));
}

void run_resume(const std::string &db, int64_t id, bool detach) {
  JobStore store(resolve_job_database_path(db));
  const ControlResult result = store.resume_job(id);
  if (result.state == JobState::running) {
    std::printf(result.changed ? "job %lld: request withdrawn; it keeps running\n" : "job %lld is already running\n",
                static_cast<long long>(id));
    return;
  }
  const JobInfo job = store.job(id);
  const ResumeJobFunction *resume = find_job_kind(job.kind);
  if (detach) {
    std::printf("job %lld queued\n", static_cast<long long>(id));
    return;
  }
  if (!resume)
    fail("job ", id, " is queued again, but no command of this quantscope runs jobs of kind '", job.kind,
         "', so nothing will run it now");
  std::printf("job %lld resumed at %lld/%lld units\n", static_cast<long long>(id),
              static_cast<long long>(job.units_done), static_cast<long long>(job.units_total));
  ProgressBar bar;
  RunOptions options;
  options.progress = &bar;
  const RunOutcome outcome = (*resume)(store, job, options);
  if (outcome.state == JobState::failed) fail("job ", id, " failed: ", outcome.error);
  std::printf("job %lld %s at %lld/%lld units\n", static_cast<long long>(id), job_state_name(outcome.state),
              static_cast<long long>(outcome.units_done), static_cast<long long>(outcome.units_total));
}

void run_export(const std::string &db, int64_t id, const std::string &output) {
  const auto db_path = resolve_job_database_path(db);
  refuse_output_over_inputs(output, "-o", {db_path, db_path.string() + "-wal", db_path.string() + "-shm"});
  JobStore store(db_path);
  const auto rows = store.measurements(id);
  write_measurements_csv(output, rows);
  std::printf("wrote %zu measurement rows of job %lld to %s\n", rows.size(), static_cast<long long>(id), output.c_str());
}

void run_import(const std::string &db, const std::vector<std::string> &files, std::optional<int64_t> into) {
  JobStore store(resolve_job_database_path(db));
  for (const auto &file : files) {
    const auto rows = read_measurements_csv(file);
    const ImportResult result = store.import_measurements(into, rows, file);
    std::printf("%s: %lld rows into %sjob %lld", file.c_str(), static_cast<long long>(result.inserted),
                into ? "" : "new ", static_cast<long long>(result.job_id));
    if (result.skipped_identical > 0)
      std::printf(" (%lld identical duplicates skipped)", static_cast<long long>(result.skipped_identical));
    std::printf("\n");
    into = result.job_id;  // further files (shards) merge into the same job
  }
}

const CommandRegistration registration{90, [](CLI::App &app) {
  auto *jobs = app.add_subcommand("jobs", "List and steer jobs (measure, quantize, ...) in the job database, while "
                                          "they run; `jobs` alone lists them");
  auto db = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  add_db_option(jobs, db);
  jobs->add_flag("--json", *json, "Print JSON");

  auto *list = jobs->add_subcommand("list", "Each job's id, kind, state, progress and ETA");
  add_db_option(list, db);
  list->add_flag("--json", *json, "Print JSON");
  list->callback([db, json] { run_list(*db, *json); });

  auto id = std::make_shared<int64_t>(0);
  auto *show = jobs->add_subcommand("show", "One job: params, progress, runner, error, measurement counts, artifacts");
  add_db_option(show, db);
  show->add_option("id", *id, "Job id")->required();
  show->add_flag("--json", *json, "Print JSON");
  show->callback([db, id, json] { run_show(*db, *id, *json); });

  auto wait = std::make_shared<bool>(false);
  auto *pause = jobs->add_subcommand("pause", "Pause a job; a running one stops after its current unit");
  add_db_option(pause, db);
  pause->add_option("id", *id, "Job id")->required();
  pause->add_flag("--wait", *wait, "Wait until the runner has paused");
  pause->callback([db, id, wait] { run_pause_or_cancel(*db, *id, *wait, false); });

  auto *cancel = jobs->add_subcommand("cancel", "Cancel a job for good; a running one stops after its current unit");
  add_db_option(cancel, db);
  cancel->add_option("id", *id, "Job id")->required();
  cancel->add_flag("--wait", *wait, "Wait until the runner has stopped");
  cancel->callback([db, id, wait] { run_pause_or_cancel(*db, *id, *wait, true); });

  auto detach = std::make_shared<bool>(false);
  auto *resume = jobs->add_subcommand("resume", "Resume a paused, failed or interrupted job where it stopped, "
                                                "running it here with a progress bar");
  add_db_option(resume, db);
  resume->add_option("id", *id, "Job id")->required();
  resume->add_flag("--detach", *detach, "Only mark it queued (for the server to run)");
  resume->callback([db, id, detach] { run_resume(*db, *id, *detach); });

  auto output = std::make_shared<std::string>();
  auto *export_cmd = jobs->add_subcommand("export", "Write a job's measurements as CSV "
                                                    "(tensor,type,bits,params,<metric>...)");
  add_db_option(export_cmd, db);
  export_cmd->add_option("id", *id, "Job id")->required();
  export_cmd->add_option("-o,--output", *output, "CSV file to write")->required();
  export_cmd->callback([db, id, output] { run_export(*db, *id, *output); });

  auto files = std::make_shared<std::vector<std::string>>();
  auto into = std::make_shared<int64_t>(0);
  auto *import_cmd = jobs->add_subcommand("import", "Read measurement CSVs as a job's results: a new job of kind "
                                                    "\"import\", or merged into a job (e.g. shards from several "
                                                    "machines); identical duplicate rows are skipped, conflicting "
                                                    "ones refused");
  add_db_option(import_cmd, db);
  import_cmd->add_option("files", *files, "CSV files written by `jobs export`")->required();
  auto *into_option = import_cmd->add_option("--into", *into, "Merge into this job instead of creating one");
  import_cmd->callback([db, files, into, into_option] {
    run_import(*db, *files, into_option->count() ? std::optional<int64_t>(*into) : std::nullopt);
  });

  jobs->callback([jobs, db, json] {
    if (jobs->get_subcommands().empty()) run_list(*db, *json);
  });
}};

}  // namespace
}  // namespace qs::cli::jobs_command
