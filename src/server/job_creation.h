// POST /api/jobs: a table of the job kinds the API can create, each a function that checks the
// request's paths against the roots, fills defaults, and calls the library's create function.
// Running them is the job kind registry's business (jobs/job_kinds.h), as for `jobs resume`.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "jobs/job_store.h"
#include "server/path_guard.h"

namespace qs::server {

struct CreatedJob {
  int64_t id = 0;
  bool resumed = false;  // an unfinished job with the same request is continued instead
};

// hub_token: the request's "token" (a download's; "" for none). It goes to the job runner in
// memory, never into the job's params.
using CreateJobFunction = CreatedJob (*)(JobStore &store, const PathGuard &guard, const nlohmann::json &params,
                                         const std::string &hub_token);

struct CreatableJobKind {
  std::string_view kind;
  CreateJobFunction create;
};

// download, measure, quantize, auto.
std::span<const CreatableJobKind> creatable_job_kinds();
const CreatableJobKind *find_creatable_job_kind(std::string_view kind);

// The request's params over the kind's defaults: every key must be one the defaults have (400
// naming "params.<key>" otherwise).
nlohmann::json params_over_defaults(const nlohmann::json &defaults, const nlohmann::json &params);

}  // namespace qs::server
