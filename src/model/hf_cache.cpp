// Resolving repo ids to snapshot folders of the local Hugging Face cache.
#include "model/hf_cache.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "core/error.h"

namespace qs {

std::filesystem::path hf_hub_cache_dir() {
  if (const char *cache = std::getenv("HF_HUB_CACHE"); cache && *cache) return cache;
  if (const char *home = std::getenv("HF_HOME"); home && *home) return std::filesystem::path(home) / "hub";
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "huggingface" / "hub";
  const char *user_home = std::getenv("HOME");
  return std::filesystem::path(user_home ? user_home : ".") / ".cache" / "huggingface" / "hub";
}

std::filesystem::path hf_repo_cache_dir(const std::string &repo_id) {
  std::string folder = "models--";
  for (char c : repo_id) folder += c == '/' ? std::string("--") : std::string(1, c);
  return hf_hub_cache_dir() / folder;
}

std::optional<std::filesystem::path> find_cached_snapshot(const std::string &repo_id, const std::string &revision) {
  // A repo id is "name" or "org/name": no other slashes, no path-like parts.
  if (repo_id.empty() || repo_id.find("..") != std::string::npos || repo_id.front() == '/' ||
      std::count(repo_id.begin(), repo_id.end(), '/') > 1) {
    return std::nullopt;
  }
  const auto repo_dir = hf_repo_cache_dir(repo_id);
  std::string commit = revision;
  if (std::ifstream ref(repo_dir / "refs" / revision); ref) std::getline(ref, commit);
  const auto snapshot = repo_dir / "snapshots" / commit;
  std::error_code ec;
  if (std::filesystem::is_directory(snapshot, ec) && std::filesystem::exists(snapshot / "config.json", ec)) return snapshot;
  return std::nullopt;
}

void check_cached_snapshot_complete(const std::filesystem::path &snapshot, const std::string &repo_id) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(snapshot, ec); !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_symlink(ec) && !std::filesystem::exists(it->path(), ec))
      fail(repo_id, ": the cached snapshot ", snapshot.string(), " lacks ",
           std::filesystem::relative(it->path(), snapshot).string(),
           " (its blob is missing: run `quantscope download ", repo_id, "` again, without HF_HUB_OFFLINE)");
  }
}

}  // namespace qs
