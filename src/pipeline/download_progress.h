// Where each file of a download job stands, read from the job and the Hugging Face cache alone (so
// any process can show it while another runs the job): done once its unit is committed, else the
// bytes of its partial blob (blobs/<etag>.incomplete). The server's per-file progress.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jobs/job_store.h"

namespace qs {

struct DownloadFileProgress {
  std::string path;
  int64_t size = -1;         // -1: the listing did not say
  int64_t bytes_on_disk = 0;
  bool done = false;
};

std::vector<DownloadFileProgress> download_file_progress(JobStore &store, const JobInfo &job);

}  // namespace qs
