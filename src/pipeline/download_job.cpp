// The download job: units "file:<path>" (run several at a time), then "snapshot".
#include "pipeline/download_job.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "hub/hub_auth.h"
#include "hub/hub_cache.h"
#include "hub/hub_file_selection.h"
#include "jobs/job_json.h"
#include "model/hf_cache.h"

namespace qs {
namespace fs = std::filesystem;
namespace {

constexpr const char *kKind = "download";
constexpr const char *kSnapshotUnit = "snapshot";

std::string file_unit(const std::string &path) { return "file:" + path; }

struct DownloadParams {
  std::string endpoint, repo_id, revision, commit;
  std::vector<HubFile> files;
};

nlohmann::json file_to_json(const HubFile &f) {
  return {{"path", f.path}, {"size", f.size}, {"etag", f.etag}, {"sha256", f.sha256}};
}

DownloadParams read_params(const nlohmann::json &params) {
  DownloadParams p;
  p.endpoint = job_param<std::string>(params, kKind, "endpoint");
  p.repo_id = job_param<std::string>(params, kKind, "repo");
  p.revision = job_param<std::string>(params, kKind, "revision");
  p.commit = job_param<std::string>(params, kKind, "commit");
  for (const auto &f : job_param<nlohmann::json>(params, kKind, "files")) {
    HubFile file;
    file.path = job_param<std::string>(f, kKind, "path");
    file.size = job_param<int64_t>(f, kKind, "size");
    file.etag = job_param<std::string>(f, kKind, "etag");
    file.sha256 = job_param<std::string>(f, kKind, "sha256");
    p.files.push_back(std::move(file));
  }
  return p;
}

}  // namespace

void DownloadRequest::validate() const {
  check_repo_id(repo_id);
  const std::string wrapped = "/" + revision + "/";
  if (revision.empty() || revision.front() == '/' || wrapped.find("/../") != std::string::npos ||
      wrapped.find("/./") != std::string::npos)
    fail("--revision '", revision, "' is not a branch, tag or commit name");
}

fs::path cached_download_snapshot(const DownloadRequest &request) {
  request.validate();
  const auto repo_dir = hf_repo_cache_dir(request.repo_id);
  std::string commit = request.revision;
  if (std::ifstream ref(repo_dir / "refs" / request.revision); ref) std::getline(ref, commit);
  const fs::path snapshot = repo_dir / "snapshots" / commit;
  std::error_code ec;
  if (!fs::is_directory(snapshot, ec))
    fail("HF_HUB_OFFLINE is set and ", request.repo_id, " at revision ", request.revision, " is not in the cache ",
         hf_hub_cache_dir().string(), " (download it with HF_HUB_OFFLINE unset)");
  if (!fs::exists(snapshot / "config.json", ec))
    fail("HF_HUB_OFFLINE is set and the cached snapshot ", snapshot.string(), " has no config.json (the download "
         "was not finished; run it again with HF_HUB_OFFLINE unset)");
  return snapshot;
}

DownloadJob create_download_job(JobStore &store, const DownloadRequest &request, const std::string &token_flag,
                                const HubClientOptions &client) {
  request.validate();
  if (hub_offline()) fail("HF_HUB_OFFLINE is set: cannot list ", request.repo_id, " on the Hub");
  const HubHttp http(hub_endpoint(), resolve_hub_token(token_flag), client);
  const RepoListing listing = fetch_repo_listing(http, request.repo_id, request.revision);
  DownloadJob job;
  job.commit = listing.commit;
  job.files = select_hub_files(listing.files, request.include, request.exclude);
  if (job.files.empty())
    fail("no file of ", request.repo_id, " at ", request.revision, " is chosen by the --include/--exclude patterns (",
         listing.files.size(), " files in the repo)");
  const HubRepoCache cache(request.repo_id);
  nlohmann::json files = nlohmann::json::array();
  for (const auto &f : job.files) {
    files.push_back(file_to_json(f));
    if (f.size > 0) job.total_bytes += f.size;
    if (f.size > 0 && !f.etag.empty() && cache.has_blob(f.etag, f.size)) job.cached_bytes += f.size;
  }
  job.snapshot = cache.snapshot_dir(job.commit);
  const nlohmann::json params = {{"endpoint", http.endpoint()}, {"repo", request.repo_id}, {"revision", request.revision},
                                 {"include", request.include},  {"exclude", request.exclude}, {"commit", job.commit},
                                 {"files", files}};
  if (const auto unfinished = find_unfinished_job(store, kKind, params)) {
    store.resume_job(*unfinished);
    job.id = *unfinished;
    job.resumed = true;
  } else {
    job.id = store.create_job(kKind, params, static_cast<int64_t>(job.files.size()) + 1);
  }
  return job;
}

fs::path download_job_snapshot(const JobInfo &job) {
  const DownloadParams p = read_params(job.params);
  return HubRepoCache(p.repo_id).snapshot_dir(p.commit);
}

std::vector<DownloadFileProgress> download_file_progress(JobStore &store, const JobInfo &job) {
  if (job.kind != kKind) fail("job ", job.id, " is a ", job.kind, " job, not a download job");
  const DownloadParams p = read_params(job.params);
  const HubRepoCache cache(p.repo_id);
  const std::set<std::string> finished = store.finished_units(job.id);
  std::vector<DownloadFileProgress> files;
  for (const auto &f : p.files) {
    DownloadFileProgress progress{f.path, f.size, 0, finished.count(file_unit(f.path)) > 0};
    std::error_code ec;
    if (progress.done) {
      progress.bytes_on_disk = f.size >= 0 ? f.size : static_cast<int64_t>(fs::file_size(cache.blob_path(f.etag), ec));
    } else if (const auto partial = fs::file_size(cache.incomplete_path(f.etag), ec); !ec) {
      progress.bytes_on_disk = static_cast<int64_t>(partial);
    }
    files.push_back(std::move(progress));
  }
  return files;
}

RunOutcome run_download_job(JobStore &store, int64_t job_id, const RunOptions &options, const DownloadRunOptions &download) {
  const JobInfo job = store.job(job_id);
  if (job.kind != kKind) fail("job ", job_id, " is a ", job.kind, " job, not a download job");
  const DownloadParams p = read_params(job.params);
  const auto units_total = static_cast<int64_t>(p.files.size()) + 1;
  auto runner = JobRunner::try_start(store, job_id, units_total, options);
  if (!runner) fail("job ", job_id, " is already running in another process");

  RunOutcome outcome;
  outcome.units_total = units_total;
  const std::set<std::string> finished = store.finished_units(job_id);
  std::vector<HubFile> pending;
  int64_t total_bytes = 0;
  std::atomic<int64_t> bytes_done{0};
  for (const auto &f : p.files) {
    total_bytes += std::max<int64_t>(f.size, 0);
    if (finished.count(file_unit(f.path))) {
      ++outcome.units_done;
      bytes_done += std::max<int64_t>(f.size, 0);
    } else {
      pending.push_back(f);
    }
  }
  outcome.units_done += finished.count(kSnapshotUnit);
  if (outcome.units_done == units_total) {
    outcome.state = JobState::done;
    runner->finish(JobState::done);
    return outcome;
  }

  const HubRepoCache cache(p.repo_id);
  NullProgress quiet;
  ProgressSink &progress = options.progress ? *options.progress : quiet;
  std::mutex mutex;  // guards the fields below, the runner's commits and on_file_done
  size_t next = 0;
  std::string error;
  std::optional<JobState> stop;
  std::atomic<bool> halt{false};
  try {
    cache.prepare();
    const HubHttp http(p.endpoint, resolve_hub_token(download.token_flag), download.client);
    progress.begin(options.progress_label.empty() ? cat("download ", p.repo_id, " (bytes)") : options.progress_label,
                   total_bytes);
    progress.advance(bytes_done);

    const auto worker = [&] {
      for (;;) {
        HubFile file;
        {
          std::lock_guard lock(mutex);
          if (halt || next >= pending.size()) return;
          try {
            if ((stop = runner->stop_request())) {
              halt = true;
              return;
            }
          } catch (const std::exception &e) {
            if (error.empty()) error = e.what();
            halt = true;
            return;
          }
          file = pending[next++];
        }
        try {
          HubFetchCallbacks callbacks;
          int64_t file_bytes = 0;
          if (download.on_file_progress) download.on_file_progress(file, 0);
          callbacks.on_bytes = [&](int64_t delta) {
            progress.advance(bytes_done += delta);
            if (download.on_file_progress) download.on_file_progress(file, file_bytes += delta);
          };
          callbacks.should_abort = [&] { return halt.load() || runner->stop_requested_recently(); };
          const HubFetchResult result = fetch_hub_file(http, cache, p.repo_id, p.commit, file, callbacks);
          std::lock_guard lock(mutex);
          runner->commit_unit(file_unit(file.path), {}, outcome.units_done + 1);
          ++outcome.units_done;
          ++outcome.units_run;
          if (download.on_file_done) download.on_file_done(file, result);
        } catch (const HubTransferStopped &) {
          halt = true;
        } catch (const std::exception &e) {
          std::lock_guard lock(mutex);
          if (error.empty()) error = cat(file.path, ": ", e.what());
          halt = true;
        }
      }
    };
    std::vector<std::thread> threads;
    const size_t n_threads = std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(std::max(1, download.parallel_files)), pending.size()));
    for (size_t i = 0; i < n_threads; ++i) threads.emplace_back(worker);
    for (auto &t : threads) t.join();
    progress.end();

    if (!error.empty()) {
      outcome.state = JobState::failed;
      outcome.error = error;
      runner->finish(JobState::failed, error);
      return outcome;
    }
    if (!stop && halt) stop = runner->stop_request();
    if (!stop && outcome.units_done < units_total - 1) stop = JobState::paused;
    if (stop) {
      if (*stop == JobState::cancelled) {
        std::error_code ignored;
        for (const auto &f : pending) fs::remove(cache.incomplete_path(f.etag), ignored);
      }
      outcome.state = *stop;
      runner->finish(*stop);
      return outcome;
    }
    cache.write_ref(p.revision, p.commit);
    UnitResult result;
    result.artifacts.push_back({"snapshot", cache.snapshot_dir(p.commit)});
    runner->commit_unit(kSnapshotUnit, result, outcome.units_done + 1);
    ++outcome.units_done;
    ++outcome.units_run;
    outcome.state = JobState::done;
    runner->finish(JobState::done);
  } catch (const std::exception &e) {
    // Before any worker started (cache not writable) or while finishing: the job fails, resumable.
    outcome.state = JobState::failed;
    outcome.error = e.what();
    runner->finish(JobState::failed, outcome.error);
  }
  return outcome;
}

}  // namespace qs
