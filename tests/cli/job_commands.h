// `quantscope jobs list --json` and `quantscope jobs export` as the end-to-end tests call them: the
// job list parsed, and a job's rows exported to a file of the scratch directory and read back.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/cli_process.h"

namespace qs::test {

inline nlohmann::json list_jobs_json(const ScratchDir &dir, const std::string &database) {
  const CliRun listed = run_cli(dir, {"jobs", "list", "--json", "--db", database});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  return nlohmann::json::parse(listed.out);
}

// Job `id`'s rows as `jobs export` writes them, to `name` in `dir`.
inline std::string export_job_csv(const ScratchDir &dir, const std::string &database, int64_t id,
                                  const std::string &name) {
  const std::string path = (dir / name).string();
  const CliRun exported = run_cli(dir, {"jobs", "export", std::to_string(id), "-o", path, "--db", database});
  EXPECT_EQ(exported.exit_code, 0) << exported.err;
  return slurp(path);
}

}  // namespace qs::test
