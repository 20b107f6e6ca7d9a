// The --db option every command that touches the job database takes, and what a command that
// only queues its job (--detach) prints.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

namespace qs::cli {

inline void add_db_option(CLI::App *command, const std::shared_ptr<std::string> &db) {
  command->add_option("--db", *db,
                      "Job database (default: $QUANTSCOPE_DB, else $XDG_DATA_HOME/quantscope/quantscope.db, "
                      "else ~/.local/share/quantscope/quantscope.db)");
}

// `--detach`: the job is queued and another process (`jobs resume`, the server) runs it.
inline void print_queued_job(int64_t id, bool json) {
  if (json) std::printf("{\n  \"id\": %lld,\n  \"state\": \"queued\"\n}\n", static_cast<long long>(id));
  else std::printf("job %lld queued; `quantscope jobs resume %lld` runs it\n", static_cast<long long>(id),
                   static_cast<long long>(id));
}

}  // namespace qs::cli
