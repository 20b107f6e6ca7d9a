// PathGuard: resolve, then compare component by component with each root.
#include "server/path_guard.h"

#include <algorithm>

#include "core/error.h"
#include "core/output_path.h"
#include "server/http_error.h"

namespace qs::server {
namespace {

bool starts_with_components(const std::filesystem::path &path, const std::filesystem::path &prefix) {
  auto p = path.begin();
  for (auto r = prefix.begin(); r != prefix.end(); ++r, ++p) {
    if (r->empty()) continue;  // the empty last component of "/root/"
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

}  // namespace

PathGuard::PathGuard(const std::vector<std::filesystem::path> &roots,
                     const std::vector<std::filesystem::path> &read_only_roots) {
  for (const auto &root : read_only_roots) {
    std::error_code ec;
    // The cache may appear after the server starts: resolved when it exists, else as written.
    const auto resolved = std::filesystem::weakly_canonical(std::filesystem::absolute(root), ec);
    if (!ec) read_only_roots_.push_back(resolved);
  }
  for (const auto &root : roots) {
    std::error_code ec;
    const auto resolved = std::filesystem::canonical(root, ec);
    if (ec || !std::filesystem::is_directory(resolved)) fail("--root: '", root.string(), "' is not a directory");
    roots_.push_back(resolved);
  }
  if (roots_.empty()) fail("--root: at least one directory is needed");
}

bool PathGuard::is_under_a_root(const std::filesystem::path &resolved) const {
  return std::any_of(roots_.begin(), roots_.end(),
                     [&](const auto &root) { return starts_with_components(resolved, root); });
}

std::filesystem::path PathGuard::inside(const std::string &path, const std::string &field) const {
  if (path.empty()) throw bad_request(field + ": a path is required", field);
  std::filesystem::path given(path);
  if (given.is_relative()) given = roots_.front() / given;
  std::error_code ec;
  // weakly_canonical resolves every symlink of the part that exists: a link inside a root that
  // points outside lands outside.
  const auto resolved = std::filesystem::weakly_canonical(given, ec);
  if (ec) throw bad_request(field + ": cannot resolve '" + path + "': " + ec.message(), field);
  const bool read_only = std::any_of(read_only_roots_.begin(), read_only_roots_.end(),
                                    [&](const auto &root) { return starts_with_components(resolved, root); });
  if (!is_under_a_root(resolved) && !read_only)
    throw forbidden(field + ": '" + path + "' is outside the server's roots (--root)", field);
  return resolved;
}

std::filesystem::path PathGuard::output(const std::string &path, const std::string &field,
                                        const std::vector<std::filesystem::path> &inputs) const {
  const auto resolved = inside(path, field);
  if (!is_under_a_root(resolved))
    throw forbidden(field + ": '" + path + "' is in the Hugging Face cache, which the server only reads; write under a --root",
                    field);
  try {
    refuse_output_over_inputs(resolved, field, inputs);
  } catch (const Error &e) {
    throw forbidden(e.what(), field);
  }
  return resolved;
}

}  // namespace qs::server
