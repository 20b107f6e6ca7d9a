// The Hub's HTTP API, the parts a download needs:
//   GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true
//       -> {"sha": commit, "siblings": [{"rfilename", "size", "blobId", "lfs": {"sha256", "size"}}]}
//   GET {endpoint}/{repo}/resolve/{commit}/{path}   (LFS files redirect to a CDN host)
// and the Hub's error answers turned into messages a user can act on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hub/hub_http.h"

namespace qs {

struct HubFile {
  std::string path;    // rfilename, '/'-separated
  int64_t size = -1;   // bytes; -1 when the listing did not say
  std::string etag;    // the cache's blob name: the LFS sha256, else the git blob id
  std::string sha256;  // LFS files only: what the downloaded bytes must hash to
  bool operator==(const HubFile &) const = default;
};

struct RepoListing {
  std::string commit;  // the revision resolved to a commit hash
  std::vector<HubFile> files;
};

// "org/name" or "name": letters, digits, '-', '_', '.'; no "..", no leading/trailing '/'.
void check_repo_id(const std::string &repo_id);

std::string percent_encode(const std::string &text, bool keep_slashes);
std::string repo_api_url(const std::string &endpoint, const std::string &repo_id, const std::string &revision);
std::string file_resolve_url(const std::string &endpoint, const std::string &repo_id, const std::string &commit,
                             const std::string &path);

// Lists the repo at `revision` (a branch, tag or commit). Throws qs::Error: 401, 403 (gated), 404.
RepoListing fetch_repo_listing(const HubHttp &http, const std::string &repo_id, const std::string &revision);

// Throws the qs::Error for a failed Hub answer: what went wrong, for which repo/revision/file, and
// what to do (never the token). `file` empty for repo-level calls.
[[noreturn]] void fail_hub_response(const HttpResponse &response, const std::string &endpoint, const std::string &repo_id,
                                    const std::string &revision, const std::string &file);

// An ETag header as huggingface_hub normalises it: no W/ prefix, no quotes.
std::string normalize_etag(std::string etag);

}  // namespace qs
