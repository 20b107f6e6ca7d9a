// Which code runs a job of each kind again when `quantscope jobs resume` (or, later, the server)
// asks: the command that owns a kind (measure, quantize, ...) registers a function that rebuilds
// the job's unit list from its params and calls run_job. The jobs command itself knows no kind.
//
// Register from a file linked into the binary (src/cli/), e.g. in measure_command.cpp:
//   const JobKindRegistration measure_kind{"measure", [](JobStore &store, const JobInfo &job,
//                                                       const RunOptions &options) { ... }};
// (a static object in the library archive would be dropped by the linker).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "jobs/job_runner.h"

namespace qs {

using ResumeJobFunction = std::function<RunOutcome(JobStore &store, const JobInfo &job, const RunOptions &options)>;

void register_job_kind(const std::string &kind, ResumeJobFunction resume);
const ResumeJobFunction *find_job_kind(std::string_view kind);  // nullptr when no command runs it

struct JobKindRegistration {
  JobKindRegistration(const std::string &kind, ResumeJobFunction resume) { register_job_kind(kind, std::move(resume)); }
};

}  // namespace qs
