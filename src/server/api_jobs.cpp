// The jobs API handlers.
#include "server/api_jobs.h"

#include <algorithm>

#include "core/text_file.h"
#include "jobs/job_json.h"
#include "pipeline/download_job.h"
#include "server/job_creation.h"
#include "server/request_json.h"

namespace qs::server {
namespace {

constexpr size_t kMaxCompareBytes = 64u << 20;

nlohmann::json measurement_row_json(const MeasurementRow &row) {
  nlohmann::json metrics = nlohmann::json::object();
  for (const MetricInfo &info : all_metrics())
    if (const auto value = row.get(info.metric)) metrics[info.column] = *value;
  return {{"tensor", row.tensor}, {"type", row.type}, {"bits", row.bits}, {"params", row.params}, {"metrics", metrics}};
}

nlohmann::json control_json(const ControlResult &result) {
  return {{"state", job_state_name(result.state)},
          {"changed", result.changed},
          {"waiting_for_runner", result.waiting_for_runner}};
}

// Pause, resume and cancel refuse a state that forbids them with qs::Error: here that is a 409.
ControlResult control(ServerContext &context, const HttpRequest &request,
                      ControlResult (JobStore::*apply)(int64_t)) {
  const JobInfo job = job_of_route(context, request);
  try {
    return (context.store.*apply)(job.id);
  } catch (const Error &e) {
    throw conflict(e.what());
  }
}

}  // namespace

JobInfo job_of_route(ServerContext &context, const HttpRequest &request) {
  const int64_t id = job_id_param(request);
  const auto job = context.store.find_job(id);
  if (!job) throw not_found("no job " + std::to_string(id), "id");
  return *job;
}

HttpResponse api_list_jobs(ServerContext &context, const HttpRequest &) {
  nlohmann::json jobs = nlohmann::json::array();
  for (const JobInfo &job : context.store.list_jobs()) jobs.push_back(job_to_json(job));
  return HttpResponse::json(jobs);
}

HttpResponse api_job_detail(ServerContext &context, const HttpRequest &request) {
  const JobInfo job = job_of_route(context, request);
  return HttpResponse::json(job_detail_to_json(context.store.job_detail(job.id)));
}

HttpResponse api_job_measurements(ServerContext &context, const HttpRequest &request) {
  const JobInfo job = job_of_route(context, request);
  const int64_t after = query_integer(request, "after", 0);
  const auto rows = context.store.measurements(job.id);
  nlohmann::json out = nlohmann::json::array();
  const size_t first = std::min(rows.size(), static_cast<size_t>(after));
  for (size_t i = first; i < rows.size(); ++i) out.push_back(measurement_row_json(rows[i]));
  return HttpResponse::json({{"rows", out}, {"next", std::max<int64_t>(after, static_cast<int64_t>(rows.size()))}});
}

HttpResponse api_create_job(ServerContext &context, const HttpRequest &request) {
  const nlohmann::json body = parse_json_body(request);
  const auto kind = required_field<std::string>(body, "kind");
  const CreatableJobKind *creatable = find_creatable_job_kind(kind);
  if (!creatable) {
    std::string known;
    for (const auto &entry : creatable_job_kinds()) known += (known.empty() ? "" : ", ") + std::string(entry.kind);
    throw bad_request("kind: '" + kind + "' is not a job kind the server creates (" + known + ")", "kind");
  }
  // The Hub token is sent once, with the request that needs it, and only kept in memory.
  const auto hub_token = optional_field(body, "token", std::string());
  if (!hub_token.empty() && kind != "download") throw bad_request("token: only a download takes a token", "token");
  const CreatedJob job =
      creatable->create(context.store, context.guard, optional_field(body, "params", nlohmann::json::object()), hub_token);
  context.runner.enqueue(job.id, hub_token);
  return HttpResponse::json({{"id", job.id}, {"resumed", job.resumed}}, 201);
}

HttpResponse api_job_compare(ServerContext &context, const HttpRequest &request) {
  const JobInfo job = job_of_route(context, request);
  for (const Artifact &artifact : context.store.artifacts(job.id)) {
    if (artifact.kind != "compare") continue;
    try {
      return HttpResponse::json(nlohmann::json::parse(read_text_file(artifact.path, kMaxCompareBytes, "comparison")));
    } catch (const nlohmann::json::exception &) {
      throw bad_request(artifact.path.string() + ": not a comparison (invalid JSON)");
    }
  }
  throw not_found("job " + std::to_string(job.id) + " has no comparison (an auto job has one once its compare stage is done)");
}

HttpResponse api_download_files(ServerContext &context, const HttpRequest &request) {
  const JobInfo job = job_of_route(context, request);
  if (job.kind != "download") throw bad_request("job " + std::to_string(job.id) + " is not a download", "id");
  nlohmann::json files = nlohmann::json::array();
  for (const DownloadFileProgress &f : download_file_progress(context.store, job))
    files.push_back({{"path", f.path}, {"size", f.size}, {"bytes_on_disk", f.bytes_on_disk}, {"done", f.done}});
  nlohmann::json out = {{"repo", job.params.value("repo", "")}, {"commit", job.params.value("commit", "")},
                        {"files", files}};
  if (job.state == JobState::done) out["snapshot"] = download_job_snapshot(job).string();
  return HttpResponse::json(out);
}

HttpResponse api_pause_job(ServerContext &context, const HttpRequest &request) {
  return HttpResponse::json(control_json(control(context, request, &JobStore::pause_job)));
}

HttpResponse api_cancel_job(ServerContext &context, const HttpRequest &request) {
  return HttpResponse::json(control_json(control(context, request, &JobStore::cancel_job)));
}

HttpResponse api_resume_job(ServerContext &context, const HttpRequest &request) {
  const ControlResult result = control(context, request, &JobStore::resume_job);
  // Queued again: this server runs it. (Still running: a withdrawn request, its runner goes on.)
  if (result.state == JobState::queued) context.runner.enqueue(job_id_param(request));
  return HttpResponse::json(control_json(result));
}

}  // namespace qs::server
