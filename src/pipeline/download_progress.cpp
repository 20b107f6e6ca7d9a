// Per-file progress of a download job: its params name every file with its size and blob name.
#include "pipeline/download_progress.h"

#include <filesystem>

#include "core/error.h"
#include "hub/hub_cache.h"
#include "jobs/job_json.h"

namespace qs {

std::vector<DownloadFileProgress> download_file_progress(JobStore &store, const JobInfo &job) {
  if (job.kind != "download") fail("job ", job.id, " is a ", job.kind, " job, not a download");
  const HubRepoCache cache(job_param<std::string>(job.params, "download", "repo"));
  const auto finished = store.finished_units(job.id);
  std::vector<DownloadFileProgress> files;
  for (const auto &f : job_param<nlohmann::json>(job.params, "download", "files")) {
    DownloadFileProgress p;
    p.path = job_param<std::string>(f, "download", "path");
    p.size = job_param<int64_t>(f, "download", "size");
    const auto etag = job_param<std::string>(f, "download", "etag");
    p.done = finished.count("file:" + p.path) > 0;
    std::error_code ec;
    if (p.done) {
      p.bytes_on_disk = p.size >= 0 ? p.size : static_cast<int64_t>(std::filesystem::file_size(cache.blob_path(etag), ec));
    } else if (const auto partial = std::filesystem::file_size(cache.incomplete_path(etag), ec); !ec) {
      p.bytes_on_disk = static_cast<int64_t>(partial);
    }
    files.push_back(std::move(p));
  }
  return files;
}

}  // namespace qs
