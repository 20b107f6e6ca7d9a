// Jobs as JSON, the one shape both `quantscope jobs ... --json` and the server's API give out.
#pragma once

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "jobs/job_store.h"

namespace qs {

// {id, kind, state, requested_state, units_done, units_total, progress (0..1), eta_seconds,
//  error, created_at, started_at, updated_at, finished_at (Unix seconds or null),
//  owner: {host, pid, status: alive|gone, lease_expires_at} or null}
nlohmann::json job_to_json(const JobInfo &job);

// A field of a job's params, for rebuilding its request: throws qs::Error naming the job kind and
// the field when it is missing or of the wrong type.
template <typename T>
T job_param(const nlohmann::json &params, const char *kind, const char *name) {
  if (!params.contains(name)) fail(kind, " job params: missing '", name, "'");
  try {
    return params.at(name).get<T>();
  } catch (const nlohmann::json::exception &) {
    fail(kind, " job params: '", name, "' has the wrong type");
  }
}

// job_to_json plus params, measurements {rows, units, per_type, per_metric} and artifacts.
nlohmann::json job_detail_to_json(const JobDetail &detail);

}  // namespace qs
