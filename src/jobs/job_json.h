// Jobs as JSON, the one shape both `quantscope jobs ... --json` and the server's API give out.
#pragma once

#include <nlohmann/json.hpp>

#include "jobs/job_store.h"

namespace qs {

// {id, kind, state, requested_state, units_done, units_total, progress (0..1), eta_seconds,
//  error, created_at, started_at, updated_at, finished_at (Unix seconds or null),
//  owner: {host, pid, status: alive|gone, lease_expires_at} or null}
nlohmann::json job_to_json(const JobInfo &job);

// job_to_json plus params, measurements {rows, units, per_type, per_metric} and artifacts.
nlohmann::json job_detail_to_json(const JobDetail &detail);

}  // namespace qs
