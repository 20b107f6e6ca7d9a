// Fetching one file of a repo into the cache: into blobs/<etag>.incomplete, resumed with an HTTP
// Range request after any interruption (a dropped connection in this run, or a killed process
// before it), retried with backoff, checked against the Hub's sha256 (LFS files: a mismatch
// deletes the file and fetches it once more, then fails), renamed to blobs/<etag> and linked
// from snapshots/<commit>/<path>. A blob already complete is only linked.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include "hub/hub_api.h"
#include "hub/hub_cache.h"
#include "hub/hub_http.h"

namespace qs {

// Thrown when should_abort asked the transfer to stop (pause/cancel): the partial file is kept.
class HubTransferStopped : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HubFetchCallbacks {
  std::function<void(int64_t delta_bytes)> on_bytes;  // bytes added to (or, restarting, taken from) the file
  std::function<bool()> should_abort;
};

struct HubFetchResult {
  std::string etag;
  int64_t size = 0;
  int64_t bytes_received = 0;  // moved over the network by this call
  bool reused = false;         // the blob was already complete in the cache
};

HubFetchResult fetch_hub_file(const HubHttp &http, const HubRepoCache &cache, const std::string &repo_id,
                              const std::string &commit, HubFile file, const HubFetchCallbacks &callbacks = {});

}  // namespace qs
