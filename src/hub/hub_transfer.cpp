// One file from the Hub into the cache, resumable and verified.
#include "hub/hub_transfer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "hub/sha256.h"

namespace qs {
namespace fs = std::filesystem;
namespace {

int64_t file_size_or_zero(const fs::path &path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(size);
}

[[noreturn]] void fail_write(const fs::path &path, int error) {
  if (error == ENOSPC || error == EDQUOT) fail("disk full writing ", path.string(), " (free space, or set HF_HUB_CACHE to another disk)");
  fail("cannot write ", path.string(), ": ", std::strerror(error));
}

// The file's etag and size from a HEAD of its resolve URL, when the listing had no blob id.
void head_file(const HubHttp &http, const std::string &repo_id, const std::string &commit, HubFile &file) {
  std::optional<TransferFailure> failure;
  const HttpResponse response =
      http.request("HEAD", file_resolve_url(http.endpoint(), repo_id, commit, file.path), 0, {}, {}, failure, false);
  if (failure) fail(failure->what);
  if (response.status >= 400) fail_hub_response(response, http.endpoint(), repo_id, commit, file.path);
  std::string etag = response.header("x-linked-etag");
  if (etag.empty()) etag = response.header("etag");
  file.etag = normalize_etag(etag);
  if (file.etag.empty()) fail(http.endpoint(), ": no ETag for ", file.path, " of ", repo_id);
  std::string size = response.header("x-linked-size");
  if (size.empty()) size = response.header("content-length");
  if (file.size < 0 && !size.empty()) file.size = std::stoll(size);
}

// Appends the rest of the file to `partial`, resuming from its current size. Returns the bytes
// received.
struct FileRef {
  const std::string &repo_id, &commit, &path;
};

int64_t download_rest(const HubHttp &http, const FileRef &ref, const std::string &url, const fs::path &partial,
                      int64_t expected_size, const HubFetchCallbacks &callbacks) {
  const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) fail_write(partial, errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};

  int64_t received = 0;
  int failures_in_a_row = 0;
  for (;;) {
    int64_t offset = file_size_or_zero(partial);
    if (expected_size >= 0 && offset > expected_size) {  // not this file's bytes
      if (::ftruncate(fd, 0) != 0) fail_write(partial, errno);
      if (callbacks.on_bytes) callbacks.on_bytes(-offset);
      offset = 0;
    }
    if (expected_size >= 0 && offset == expected_size) break;
    int64_t received_now = 0;
    int write_error = 0;
    bool first_chunk = true;
    const auto on_body = [&](long status, const char *data, size_t n) {
      if (first_chunk && status == 200 && offset > 0) {
        // The server ignored the Range: start the file over.
        if (::ftruncate(fd, 0) != 0) return (write_error = errno), false;
        if (callbacks.on_bytes) callbacks.on_bytes(-offset);
        offset = 0;
      }
      first_chunk = false;
      for (size_t done = 0; done < n;) {
        const ssize_t w = ::write(fd, data + done, n - done);
        if (w < 0) {
          if (errno == EINTR) continue;
          write_error = errno;
          return false;
        }
        done += static_cast<size_t>(w);
      }
      received_now += static_cast<int64_t>(n);
      if (callbacks.on_bytes) callbacks.on_bytes(static_cast<int64_t>(n));
      return true;
    };
    std::optional<TransferFailure> failure;
    const HttpResponse response = http.request("GET", url, offset, on_body, callbacks.should_abort, failure);
    received += received_now;
    if (failure && failure->aborted) throw HubTransferStopped("stopped");
    if (write_error) fail_write(partial, write_error);
    if (failure && failure->write_failed) fail("cannot write ", partial.string());
    std::string why;  // set when this attempt is to be retried
    if (failure) {
      why = failure->what;
    } else if (response.status == 416 && offset > 0) {
      // The range starts past the end: the partial file is not this file's; start over.
      if (::ftruncate(fd, 0) != 0) fail_write(partial, errno);
      if (callbacks.on_bytes) callbacks.on_bytes(-offset);
      continue;
    } else if (response.status >= 300) {
      if (!http_status_retryable(response.status)) fail_hub_response(response, http.endpoint(), ref.repo_id, ref.commit, ref.path);
      why = cat("HTTP ", response.status, " from ", response.url);
    } else {
      const int64_t size_now = file_size_or_zero(partial);
      if (expected_size < 0 || size_now == expected_size) break;
      if (size_now > expected_size) continue;  // truncated and refetched at the top
      // The connection ended early.
      why = cat(url, ": connection closed after ", size_now, " of ", expected_size, " bytes");
    }
    failures_in_a_row = received_now > 0 ? 1 : failures_in_a_row + 1;
    if (failures_in_a_row > http.options().max_retries)
      fail(why, " (gave up after ", failures_in_a_row, " attempts; ", partial.string(), " keeps the bytes so far)");
    std::this_thread::sleep_for(std::chrono::duration<double>(http.backoff_before(failures_in_a_row)));
  }
  if (::fdatasync(fd) != 0) fail_write(partial, errno);
  return received;
}

}  // namespace

HubFetchResult fetch_hub_file(const HubHttp &http, const HubRepoCache &cache, const std::string &repo_id,
                              const std::string &commit, HubFile file, const HubFetchCallbacks &callbacks) {
  if (file.etag.empty()) head_file(http, repo_id, commit, file);
  HubFetchResult result;
  result.etag = file.etag;
  if (cache.has_blob(file.etag, file.size)) {
    result.reused = true;
    result.size = file_size_or_zero(cache.blob_path(file.etag));
    if (callbacks.on_bytes) callbacks.on_bytes(result.size);
  } else {
    const fs::path partial = cache.incomplete_path(file.etag);
    const std::string url = file_resolve_url(http.endpoint(), repo_id, commit, file.path);
    for (int round = 0;; ++round) {
      if (round == 0 && callbacks.on_bytes) callbacks.on_bytes(file_size_or_zero(partial));  // resumed bytes count as done
      result.bytes_received += download_rest(http, {repo_id, commit, file.path}, url, partial, file.size, callbacks);
      if (file.sha256.empty()) break;
      const std::string actual = sha256_file_hex(partial);
      if (actual == file.sha256) break;
      const int64_t had = file_size_or_zero(partial);
      std::error_code ignored;
      fs::remove(partial, ignored);
      if (callbacks.on_bytes) callbacks.on_bytes(-had);
      if (round >= 1)
        fail("hash mismatch for ", file.path, " of ", repo_id, ": expected sha256 ", file.sha256, ", got ", actual,
             " twice (the file was deleted; try again later)");
    }
    std::error_code ec;
    fs::rename(partial, cache.blob_path(file.etag), ec);
    if (ec) fail("cannot move ", partial.string(), " to its final name (", ec.message(), ")");
    result.size = file_size_or_zero(cache.blob_path(file.etag));
  }
  cache.link_snapshot(commit, file.path, file.etag);
  return result;
}

}  // namespace qs
