// list_files: a bounded walk of each root.
#include "server/file_listing.h"

#include <algorithm>

namespace qs::server {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxDepth = 4;

std::string lower_extension(const fs::path &path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

bool is_model_directory(const fs::path &dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "config.json", ec)) return false;
  for (const auto &entry : fs::directory_iterator(dir, ec))
    if (lower_extension(entry.path()) == ".safetensors") return true;
  return false;
}

uint64_t directory_bytes(const fs::path &dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  return total;
}

bool file_matches(const fs::path &path, FileKind kind) {
  const std::string ext = lower_extension(path);
  const std::string name = path.filename().string();
  switch (kind) {
    case FileKind::model: return ext == ".gguf" && name.find("imatrix") == std::string::npos;
    case FileKind::gguf: return ext == ".gguf";
    case FileKind::text: return ext == ".txt";
    case FileKind::imatrix: return ext == ".dat" || (ext == ".gguf" && name.find("imatrix") != std::string::npos);
    case FileKind::strategy:
      if (ext == ".yaml" || ext == ".yml") return true;
      // A model directory's own JSON files are no strategies.
      return ext == ".json" && !is_model_directory(path.parent_path());
  }
  return false;
}

}  // namespace

std::optional<FileKind> parse_file_kind(std::string_view name) {
  if (name == "model") return FileKind::model;
  if (name == "text") return FileKind::text;
  if (name == "imatrix") return FileKind::imatrix;
  if (name == "strategy") return FileKind::strategy;
  if (name == "gguf") return FileKind::gguf;
  return std::nullopt;
}

std::vector<ListedFile> list_files(const std::vector<fs::path> &roots, FileKind kind, size_t limit) {
  std::vector<ListedFile> found;
  for (const auto &root : roots) {
    std::error_code ec;
    fs::recursive_directory_iterator walk(root, fs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && walk != end && found.size() < limit; walk.increment(ec)) {
      const fs::directory_entry &entry = *walk;
      const bool hidden = entry.path().filename().string().starts_with(".");
      std::error_code kind_ec;
      if (entry.is_directory(kind_ec) && !entry.is_symlink(kind_ec)) {
        if (hidden || walk.depth() >= kMaxDepth - 1) walk.disable_recursion_pending();
        if (!hidden && kind == FileKind::model && is_model_directory(entry.path()))
          found.push_back({entry.path(), directory_bytes(entry.path())});
        continue;
      }
      if (hidden || !entry.is_regular_file(kind_ec) || !file_matches(entry.path(), kind)) continue;
      found.push_back({entry.path(), entry.file_size(kind_ec)});
    }
  }
  std::sort(found.begin(), found.end(), [](const auto &a, const auto &b) { return a.path < b.path; });
  found.erase(std::unique(found.begin(), found.end(), [](const auto &a, const auto &b) { return a.path == b.path; }),
              found.end());
  return found;
}

}  // namespace qs::server
