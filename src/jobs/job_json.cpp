// JSON forms of jobs for the CLI's --json output and the server.
#include "jobs/job_json.h"

namespace qs {
namespace {

nlohmann::json optional_number(const std::optional<double> &value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json job_to_json(const JobInfo &job) {
  nlohmann::json out;
  out["id"] = job.id;
  out["kind"] = job.kind;
  out["state"] = job_state_name(job.state);
  out["requested_state"] = job.requested_state ? nlohmann::json(job_state_name(*job.requested_state)) : nullptr;
  out["units_done"] = job.units_done;
  out["units_total"] = job.units_total;
  out["progress"] = job.units_total > 0 ? static_cast<double>(job.units_done) / static_cast<double>(job.units_total)
                                        : (job.state == JobState::done ? 1.0 : 0.0);
  out["eta_seconds"] = optional_number(job.eta_seconds);
  out["error"] = job.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(job.error);
  out["created_at"] = job.created_at;
  out["started_at"] = optional_number(job.started_at);
  out["updated_at"] = job.updated_at;
  out["finished_at"] = optional_number(job.finished_at);
  if (job.lease) {
    out["owner"] = {{"host", job.lease->owner.host},
                    {"pid", job.lease->owner.pid},
                    {"status", owner_status_name(job.owner)},
                    {"lease_expires_at", job.lease->expires_at}};
  } else {
    out["owner"] = nullptr;
  }
  return out;
}

nlohmann::json job_detail_to_json(const JobDetail &detail) {
  nlohmann::json out = job_to_json(detail.job);
  out["params"] = detail.job.params;
  nlohmann::json per_type = nlohmann::json::object();
  for (const auto &[type, count] : detail.rows_per_type) per_type[type] = count;
  nlohmann::json per_metric = nlohmann::json::object();
  for (const auto &[metric, count] : detail.values_per_metric) per_metric[metric] = count;
  out["measurements"] = {{"rows", detail.measurement_count},
                         {"units", detail.unit_count},
                         {"per_type", per_type},
                         {"per_metric", per_metric}};
  nlohmann::json artifacts = nlohmann::json::array();
  for (const auto &artifact : detail.artifacts)
    artifacts.push_back({{"kind", artifact.kind}, {"path", artifact.path.string()}});
  out["artifacts"] = artifacts;
  return out;
}

}  // namespace qs
