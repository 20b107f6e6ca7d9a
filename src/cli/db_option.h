// The --db option every command that touches the job database takes.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

namespace qs::cli {

inline void add_db_option(CLI::App *command, const std::shared_ptr<std::string> &db) {
  command->add_option("--db", *db,
                      "Job database (default: $QUANTSCOPE_DB, else $XDG_DATA_HOME/quantscope/quantscope.db, "
                      "else ~/.local/share/quantscope/quantscope.db)");
}

}  // namespace qs::cli
