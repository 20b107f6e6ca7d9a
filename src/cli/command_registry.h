// Subcommands register themselves here: each src/cli/<name>_command.cpp defines a static
// CommandRegistration, so adding a command touches no other file.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace qs::cli {

// Adds a subcommand (with its options and callback) to the app. The callback runs the command.
using AddCommandFn = std::function<void(CLI::App &app)>;

struct CommandEntry {
  int order;  // position in --help
  AddCommandFn add;
};

std::vector<CommandEntry> &command_registry();

struct CommandRegistration {
  CommandRegistration(int order, AddCommandFn add) { command_registry().push_back({order, std::move(add)}); }
};

// Options shared by many commands.
struct JsonFlag {
  bool enabled = false;
};

}  // namespace qs::cli
