// The kind -> resume function table behind `jobs resume`.
#include "jobs/job_kinds.h"

#include <map>

#include "core/error.h"

namespace qs {
namespace {

std::map<std::string, ResumeJobFunction, std::less<>> &kinds() {
  static std::map<std::string, ResumeJobFunction, std::less<>> table;
  return table;
}

}  // namespace

void register_job_kind(const std::string &kind, ResumeJobFunction resume) {
  if (kind.empty() || !resume) fail("a job kind registration needs a kind and a function");
  if (!kinds().emplace(kind, std::move(resume)).second) fail("job kind '", kind, "' is registered twice");
}

const ResumeJobFunction *find_job_kind(std::string_view kind) {
  const auto found = kinds().find(kind);
  return found == kinds().end() ? nullptr : &found->second;
}

}  // namespace qs
