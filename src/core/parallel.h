// Splitting work over threads. Work is cut into contiguous ranges decided only by (n, n_threads)
// so that any per-range result is deterministic; callers make results thread-count independent
// by writing each item's output to its own place.
#pragma once

#include <cstdint>
#include <functional>

namespace qs {

// Default worker count: QUANTSCOPE_THREADS if set, else the hardware concurrency.
int default_thread_count();

// Runs fn(begin, end) over [0, n) on up to n_threads threads (n_threads <= 0: the default).
// Exceptions thrown by fn are rethrown on the calling thread (the first one wins).
void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end)> &fn,
                  int n_threads = 0);

}  // namespace qs
