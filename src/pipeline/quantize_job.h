// `quantscope quantize` as a job: one unit per tensor, each made durable in the output's partial
// file ("<output>.tmp") before it is committed, then one unit that moves the finished file to its
// name. A killed or paused run leaves no file under the final name; running it again (the same
// command, `jobs resume`, or the server) keeps the tensors already written and writes the rest,
// and the result is byte for byte the file an uninterrupted run writes.
#pragma once

#include <cstdint>

#include "convert/gguf_export.h"
#include "convert/quantize_request.h"
#include "jobs/job_runner.h"
#include "jobs/job_store.h"

namespace qs {

struct QuantizeJob {
  int64_t id = 0;
  int64_t units_total = 0;
  bool resumed = false;  // an unfinished quantize job with the same request was found and is continued
  // What the file will be, known before any tensor is written.
  ExportReport report;
  std::vector<PlannedTensor> fallbacks;
  GgmlType dominant_type = GgmlType::F32;
};

// Checks the request (it is validated, the model opens, the plan builds) and creates its job,
// queued; or makes an unfinished quantize job with exactly the same request queued again.
QuantizeJob create_quantize_job(JobStore &store, QuantizeRequest request);

// Runs (or continues) a quantize job to the end, or until paused, cancelled (the partial file is
// removed) or failed (it is kept for the resume). n_threads <= 0: all cores; the bytes written do
// not depend on it.
RunOutcome run_quantize_job(JobStore &store, int64_t job_id, const RunOptions &options, int n_threads = 0);

}  // namespace qs
