// `quantscope serve [--host 127.0.0.1] [--port 8080] [--db F] [--root DIR]... [--token T]`: the web
// UI and its JSON API (docs/api.md), with the server's own job runner. Linked into the binary with
// the other commands, so every job kind they register can run in the server.
#include <memory>

#include "cli/command_registry.h"
#include "cli/db_option.h"
#include "server/serve.h"

namespace qs::cli::serve_command {
namespace {

const CommandRegistration registration{95, [](CLI::App &app) {
  auto *cmd = app.add_subcommand(
      "serve",
      "Serve the web UI and its JSON API (docs/api.md), and run the jobs created through it, one at a time. "
      "Binds 127.0.0.1 by default; any other address is reachable by other machines and requires an access token. "
      "Ctrl-C (or SIGTERM) pauses the running job after its current unit and exits");
  auto options = std::make_shared<server::ServeOptions>();
  auto db = std::make_shared<std::string>();
  cmd->add_option("--host", options->host, "Address to listen on (other than loopback: a token is required)")
      ->capture_default_str();
  cmd->add_option("--port", options->port, "Port to listen on (0: any free port, printed)")->capture_default_str();
  cmd->add_option("--root", options->roots, "Directory whose files requests may name (repeatable; default: the "
                                            "current directory); paths are checked after resolving .. and symlinks");
  cmd->add_option("--token", options->token, "Access token every API request must carry (Authorization: Bearer T); "
                                             "default: none on loopback, a random one printed otherwise");
  add_db_option(cmd, db);
  cmd->callback([options, db] {
    options->db = *db;
    server::serve(*options);
  });
}};

}  // namespace
}  // namespace qs::cli::serve_command
