// `quantscope types`: the quant type table (name, id, block, bytes, bpw, needs-imatrix).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "quant/type_table_json.h"
#include "quant/types.h"

namespace qs::cli::types_command {
namespace {

void run_types(bool json) {
  if (json) {
    std::printf("%s\n", type_table_json().dump(2).c_str());
    return;
  }
  std::printf("%-8s %4s %6s %6s %8s %14s %7s\n", "TYPE", "ID", "BLOCK", "BYTES", "BPW", "NEEDS-IMATRIX", "LADDER");
  for (const auto &t : all_quant_types()) {
    std::printf("%-8s %4u %6lld %6zu %8.4f %14s %7s\n", t.name, static_cast<uint32_t>(t.id),
                static_cast<long long>(t.block_size), t.block_bytes, t.bits_per_weight(),
                t.needs_imatrix ? "yes" : "no", t.storage_candidate ? "yes" : "no");
  }
}

const CommandRegistration registration{10, [](CLI::App &app) {
  auto *cmd = app.add_subcommand("types", "List every quant type: name, ggml id, block size, bytes per block, "
                                          "bits per weight, whether it needs an imatrix, whether it is on the "
                                          "default measurement ladder");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print JSON instead of a table");
  cmd->callback([json] { run_types(*json); });
}};

}  // namespace
}  // namespace qs::cli::types_command
