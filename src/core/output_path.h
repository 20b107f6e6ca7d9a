// No command ever writes over one of its inputs: an output path that is an input file, or lies
// inside an input model directory, is refused before any work starts.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

namespace qs {

// Throws qs::Error naming `flag`, the output and the input it would destroy. Inputs that are
// directories (an HF model) protect everything under them; empty paths are skipped. Paths are
// compared after resolving symlinks and "..", so another spelling of an input is caught too.
void refuse_output_over_inputs(const std::filesystem::path &output, std::string_view flag,
                               const std::vector<std::filesystem::path> &inputs);

}  // namespace qs
