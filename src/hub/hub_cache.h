// Writing huggingface_hub's cache layout, so either tool reuses the other's files:
//   models--org--name/blobs/<etag>               the file's bytes (etag: LFS sha256 or git blob id)
//   models--org--name/blobs/<etag>.incomplete    a download in progress (resumed with Range)
//   models--org--name/snapshots/<commit>/<path>  relative symlink to ../../blobs/<etag>
//   models--org--name/refs/<revision>            the commit a branch/tag name resolved to
// A blob only gets its final name once complete and verified (rename), so a name never holds a
// half-written file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace qs {

class HubRepoCache {
 public:
  // The repo's folder under hf_hub_cache_dir() (HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub).
  explicit HubRepoCache(const std::string &repo_id);
  HubRepoCache(std::filesystem::path repo_dir, int);  // an explicit folder (tests)

  const std::filesystem::path &dir() const { return dir_; }
  std::filesystem::path blob_path(const std::string &etag) const;
  std::filesystem::path incomplete_path(const std::string &etag) const;
  std::filesystem::path snapshot_dir(const std::string &commit) const;
  std::filesystem::path snapshot_path(const std::string &commit, const std::string &file) const;

  // Creates blobs/, snapshots/ and refs/; throws "cache directory ... is not writable".
  void prepare() const;
  // blobs/<etag> exists with `size` bytes (size < 0: any).
  bool has_blob(const std::string &etag, int64_t size) const;
  // Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink, replacing any old one.
  void link_snapshot(const std::string &commit, const std::string &file, const std::string &etag) const;
  // refs/<revision> = commit (no newline, as huggingface_hub writes it); nothing when the revision
  // is the commit itself.
  void write_ref(const std::string &revision, const std::string &commit) const;

 private:
  std::filesystem::path dir_;
};

}  // namespace qs
