// `quantscope download` as a job: list the repo at a revision through the Hub API (resolving it to
// a commit), choose the files (hub_file_selection.h), and fetch them into the Hugging Face cache,
// several at a time, one unit per file (committed once the blob is complete, verified and linked),
// then one unit that writes refs/<revision>. A killed, paused or failed run keeps each file's
// partial blob; running it again (the same command, or `jobs resume`) skips the finished files
// and continues the partial ones with HTTP Range requests.
//
// The token is never part of the job: not in its params, not in its error. A resumed job reads
// it again from --token (the download command), else HF_TOKEN, else huggingface_hub's token file;
// `jobs resume` has no --token, so a gated repo resumed that way needs HF_TOKEN or the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/hub_api.h"
#include "hub/hub_http.h"
#include "hub/hub_transfer.h"
#include "jobs/job_runner.h"
#include "jobs/job_store.h"

namespace qs {

struct DownloadRequest {
  std::string repo_id;
  std::string revision = "main";
  std::vector<std::string> include;  // globs; empty: the default choice
  std::vector<std::string> exclude;
  void validate() const;  // throws qs::Error naming the bad field
};

struct DownloadJob {
  int64_t id = 0;
  bool resumed = false;  // an unfinished download of the same files at the same commit is continued
  std::string commit;
  std::vector<HubFile> files;
  int64_t total_bytes = 0;
  int64_t cached_bytes = 0;  // of total_bytes, already complete in the cache
  std::filesystem::path snapshot;
};

// Lists the repo (network), chooses the files and creates the job, queued; or makes an unfinished
// download job with exactly the same plan queued again. Throws qs::Error: 401/403/404, no file
// chosen, HF_HUB_OFFLINE set.
DownloadJob create_download_job(JobStore &store, const DownloadRequest &request, const std::string &token_flag,
                                const HubClientOptions &client = HubClientOptions::from_environment());

struct DownloadRunOptions {
  std::string token_flag;  // "" = HF_TOKEN, else the token file
  int parallel_files = 4;
  HubClientOptions client = HubClientOptions::from_environment();
  // Called from the worker threads (at the same time for different files): a file's bytes now on
  // disk (first call: the file starts), and, one call at a time, each file once it is in the cache.
  std::function<void(const HubFile &file, int64_t bytes_on_disk)> on_file_progress;
  std::function<void(const HubFile &file, const HubFetchResult &result)> on_file_done;
};

// Runs (or continues) a download job to the end, or until paused, cancelled (the partial blobs of
// its unfinished files are removed) or failed (they are kept for the resume). options.progress,
// when given, counts bytes (begin(label, total bytes), advance(bytes in the cache)).
RunOutcome run_download_job(JobStore &store, int64_t job_id, const RunOptions &options,
                            const DownloadRunOptions &download = {});

// The snapshot folder a download job fills.
std::filesystem::path download_job_snapshot(const JobInfo &job);

// Where each file of a download job stands, read from the job and the cache alone (so any process
// can show it while another runs the job): done once its unit is committed, else the bytes of its
// partial blob (blobs/<etag>.incomplete). The server's per-file progress.
struct DownloadFileProgress {
  std::string path;
  int64_t size = -1;  // -1: the listing did not say
  int64_t bytes_on_disk = 0;
  bool done = false;
};
std::vector<DownloadFileProgress> download_file_progress(JobStore &store, const JobInfo &job);

// HF_HUB_OFFLINE: the cached snapshot of repo_id at revision, or a qs::Error saying what is missing.
std::filesystem::path cached_download_snapshot(const DownloadRequest &request);

}  // namespace qs
