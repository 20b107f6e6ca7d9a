// quantscope's entry point: builds the CLI11 app from the registered subcommands and turns
// every qs::Error (bad input) into one line on stderr and exit status 2.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli/command_registry.h"
#include "core/error.h"
#include "core/version.h"

namespace qs::cli {
std::vector<CommandEntry> &command_registry() {
  static std::vector<CommandEntry> entries;
  return entries;
}
}  // namespace qs::cli

int main(int argc, char **argv) {
  CLI::App app{"quantscope: measure what each GGUF quantization type costs every tensor of a model, "
               "choose the best per-tensor mix for a size budget, write the GGUF and verify it."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("quantscope ") + qs::kVersion);
  auto &entries = qs::cli::command_registry();
  std::sort(entries.begin(), entries.end(), [](const auto &a, const auto &b) { return a.order < b.order; });
  for (const auto &entry : entries) entry.add(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    // --help and --version are "errors" with exit code 0 in CLI11.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const qs::Error &e) {
    std::fprintf(stderr, "quantscope: error: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc &) {
    std::fprintf(stderr, "quantscope: error: out of memory\n");
    return 2;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "quantscope: internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}
