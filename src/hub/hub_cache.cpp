// The blobs/snapshots/refs writer.
#include "hub/hub_cache.h"

#include <fstream>

#include "core/error.h"
#include "model/hf_cache.h"

namespace qs {
namespace fs = std::filesystem;

HubRepoCache::HubRepoCache(const std::string &repo_id) : dir_(hf_repo_cache_dir(repo_id)) {}
HubRepoCache::HubRepoCache(fs::path repo_dir, int) : dir_(std::move(repo_dir)) {}

fs::path HubRepoCache::blob_path(const std::string &etag) const { return dir_ / "blobs" / etag; }
fs::path HubRepoCache::incomplete_path(const std::string &etag) const { return dir_ / "blobs" / (etag + ".incomplete"); }
fs::path HubRepoCache::snapshot_dir(const std::string &commit) const { return dir_ / "snapshots" / commit; }
fs::path HubRepoCache::snapshot_path(const std::string &commit, const std::string &file) const {
  return snapshot_dir(commit) / fs::path(file);
}

void HubRepoCache::prepare() const {
  for (const char *sub : {"blobs", "snapshots", "refs"}) {
    std::error_code ec;
    fs::create_directories(dir_ / sub, ec);
    if (ec) fail("cache directory ", (dir_ / sub).string(), " is not writable (", ec.message(), "; set HF_HUB_CACHE to another)");
  }
  // create_directories succeeds on an existing read-only folder: try a file.
  const fs::path probe = dir_ / "blobs" / ".quantscope-write-test";
  { std::ofstream out(probe); if (!out) fail("cache directory ", (dir_ / "blobs").string(), " is not writable (set HF_HUB_CACHE to another)"); }
  std::error_code ignored;
  fs::remove(probe, ignored);
}

bool HubRepoCache::has_blob(const std::string &etag, int64_t size) const {
  std::error_code ec;
  const fs::path blob = blob_path(etag);
  if (!fs::is_regular_file(blob, ec)) return false;
  return size < 0 || static_cast<int64_t>(fs::file_size(blob, ec)) == size;
}

void HubRepoCache::link_snapshot(const std::string &commit, const std::string &file, const std::string &etag) const {
  const fs::path link = snapshot_path(commit, file);
  std::error_code ec;
  fs::create_directories(link.parent_path(), ec);
  if (ec) fail("cache directory ", link.parent_path().string(), " is not writable (", ec.message(), ")");
  const fs::path target = fs::relative(blob_path(etag), link.parent_path());
  // A new link under a temporary name, renamed over the old: the name is never missing or wrong.
  const fs::path temporary = link.parent_path() / (link.filename().string() + ".quantscope-link");
  fs::remove(temporary, ec);
  fs::create_symlink(target, temporary, ec);
  if (ec) fail("cannot create the symlink ", temporary.string(), " (", ec.message(), ")");
  fs::rename(temporary, link, ec);
  if (ec) fail("cannot create the symlink ", link.string(), " (", ec.message(), ")");
}

void HubRepoCache::write_ref(const std::string &revision, const std::string &commit) const {
  if (revision == commit) return;
  const fs::path ref = dir_ / "refs" / fs::path(revision);
  std::error_code ec;
  fs::create_directories(ref.parent_path(), ec);
  const fs::path temporary = ref.parent_path() / (ref.filename().string() + ".tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << commit;
    if (!out.flush()) fail("cannot write ", temporary.string(), " (cache directory not writable or disk full)");
  }
  fs::rename(temporary, ref, ec);
  if (ec) fail("cannot write ", ref.string(), " (", ec.message(), ")");
}

}  // namespace qs
