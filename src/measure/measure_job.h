// The measurement sweep as a job: one unit per (tensor, type), committed as it finishes, so a
// killed sweep resumes at the unit it was in and pause/cancel act between units. The CLI's
// `measure`, `jobs resume` and (later) the server all run sweeps through these two calls.
#pragma once

#include <cstdint>

#include "jobs/job_runner.h"
#include "jobs/job_store.h"
#include "measure/measure_plan.h"

namespace qs {

struct MeasureJob {
  int64_t id = 0;
  int64_t units_total = 0;
  bool resumed = false;  // an unfinished job with the same request was found and is continued
};

// Checks the request (the model opens, the imatrix reads, the unit list is not empty) and creates
// its job, queued; or, when an unfinished measure job with exactly the same request exists and no
// live process runs it, makes that one queued again instead (starting a killed sweep again
// continues it).
MeasureJob create_measure_job(JobStore &store, MeasureRequest request);

// Runs (or continues) a queued measure job to the end, or until paused, cancelled or failed.
// n_threads <= 0: all cores. Quantization does not depend on n_threads; the forward pass splits
// its products by thread, so the model metrics move in their last digits with another count.
RunOutcome run_measure_job(JobStore &store, int64_t job_id, const RunOptions &options, int n_threads = 0);

}  // namespace qs
