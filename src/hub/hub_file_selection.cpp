// The default file choice of `download` and the --include/--exclude globs.
#include "hub/hub_file_selection.h"

#include <fnmatch.h>

#include <algorithm>

namespace qs {
namespace {

bool ends_with(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_duplicate_weights(const std::string &path) {
  static const char *const kSuffixes[] = {".bin", ".pth", ".pt", ".ckpt", ".h5", ".msgpack", ".onnx", ".ot", ".gguf"};
  if (path.rfind("original/", 0) == 0) return true;
  return std::any_of(std::begin(kSuffixes), std::end(kSuffixes), [&](const char *s) { return ends_with(path, s); });
}

bool matches_any(const std::vector<std::string> &patterns, const std::string &path) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string &p) { return hub_glob_match(p, path); });
}

}  // namespace

bool hub_glob_match(const std::string &pattern, const std::string &path) {
  // huggingface_hub treats a pattern ending in '/' as the whole folder.
  const std::string full = !pattern.empty() && pattern.back() == '/' ? pattern + "*" : pattern;
  return fnmatch(full.c_str(), path.c_str(), 0) == 0;
}

std::vector<HubFile> select_hub_files(const std::vector<HubFile> &files, const std::vector<std::string> &include,
                                      const std::vector<std::string> &exclude) {
  const bool has_safetensors =
      std::any_of(files.begin(), files.end(), [](const HubFile &f) { return ends_with(f.path, ".safetensors"); });
  std::vector<HubFile> selected;
  for (const auto &file : files) {
    const bool wanted = include.empty() ? !(has_safetensors && is_duplicate_weights(file.path)) : matches_any(include, file.path);
    if (wanted && !matches_any(exclude, file.path)) selected.push_back(file);
  }
  return selected;
}

}  // namespace qs
