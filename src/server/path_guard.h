// Path confinement: every path a request names (model, text, imatrix, strategy, output) must lie
// under one of the server's roots (--root) once "..", and symlinks are resolved, so a request
// cannot read or write anywhere else on the machine. Read-only roots (the Hugging Face cache, where
// downloads land) may be read from, never written to.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace qs::server {

class PathGuard {
 public:
  // Roots are resolved once (they must exist); throws qs::Error naming --root otherwise.
  explicit PathGuard(const std::vector<std::filesystem::path> &roots,
                     const std::vector<std::filesystem::path> &read_only_roots = {});

  const std::vector<std::filesystem::path> &roots() const { return roots_; }

  // The path resolved (relative ones against the first root), when it lies under a root or a
  // read-only root; else HttpError 403 naming `field`. An empty path is a 400 naming `field`.
  std::filesystem::path inside(const std::string &path, const std::string &field) const;

  // An output path: under a (writable) root, and neither an input nor under an input directory
  // (403 naming `field`).
  std::filesystem::path output(const std::string &path, const std::string &field,
                               const std::vector<std::filesystem::path> &inputs) const;

  bool is_under_a_root(const std::filesystem::path &resolved) const;

 private:
  std::vector<std::filesystem::path> roots_;
  std::vector<std::filesystem::path> read_only_roots_;  // absolute; they need not exist yet
};

}  // namespace qs::server
