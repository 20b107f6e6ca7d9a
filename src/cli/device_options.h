// The --device and --precision options of the commands that run the model (perplexity, imatrix,
// measure): infer/compute_device.h reads them.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace qs::cli {

inline void add_device_options(CLI::App *command, std::string &device, std::string &precision, const char *device_help) {
  command->add_option("--device", device, device_help)->default_val("auto");
  command->add_option("--precision", precision,
                      "The GPU's matrix products: fp32, or tf32 (tensor cores: faster, but small KLDs blur; "
                      "docs/gpu.md)")
      ->capture_default_str();
}

}  // namespace qs::cli
