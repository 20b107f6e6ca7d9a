// Which of a repo's files a download fetches. By default everything a conversion could need and
// nothing it would not: when the repo has *.safetensors, the duplicate weight formats
// (*.bin, *.pth, *.pt, *.ckpt, *.h5, *.msgpack, *.onnx, *.ot, *.gguf) and the original/ folder
// (Meta's consolidated checkpoint) are skipped. --include globs replace that default (only files
// matching one are taken); --exclude globs then drop files. Globs are fnmatch patterns where '*'
// also matches '/', as in huggingface_hub's allow_patterns/ignore_patterns.
#pragma once

#include <string>
#include <vector>

#include "hub/hub_api.h"

namespace qs {

bool hub_glob_match(const std::string &pattern, const std::string &path);

std::vector<HubFile> select_hub_files(const std::vector<HubFile> &files, const std::vector<std::string> &include,
                                      const std::vector<std::string> &exclude);

}  // namespace qs
