// A small persistent thread pool for the forward pass. A pass issues a few dozen parallel steps
// per layer (matmul slices, attention heads, norms), too many to start fresh std::threads for
// each, so the workers live as long as the pool and sleep between steps.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace qs {

class ThreadPool {
 public:
  // n_threads counts the calling thread: n_threads - 1 workers are started (<= 0: the default
  // thread count of core/parallel.h).
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int size() const { return n_threads_; }

  // Calls fn(task, thread) for every task in [0, n_tasks), spread over the threads, and returns
  // when all are done. `thread` in [0, size()) identifies the executing thread (for per-thread
  // scratch). Tasks must write disjoint outputs; which thread runs which task is not fixed, so
  // results must not depend on it. The first exception thrown by fn is rethrown here.
  // Not reentrant: fn must not call run() on the same pool.
  void run(int64_t n_tasks, const std::function<void(int64_t task, int thread)> &fn);

 private:
  void worker_loop(int thread);
  void work_on_current(int thread);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  uint64_t generation_ = 0;
  bool stopping_ = false;
  // The step in progress (guarded by mutex_ for hand-out; tasks are claimed one at a time).
  const std::function<void(int64_t, int)> *fn_ = nullptr;
  int64_t n_tasks_ = 0;
  int64_t next_task_ = 0;
  int64_t in_flight_ = 0;
  std::exception_ptr error_;
};

// fn(begin, end) over [0, n) cut into one contiguous range per pool thread (for elementwise steps,
// whose results do not depend on the cut).
template <class Fn>
void for_each_range(ThreadPool &pool, int64_t n, Fn &&fn) {
  const int64_t n_slices = std::min<int64_t>(pool.size(), n);
  pool.run(n_slices, [&](int64_t slice, int) { fn(n * slice / n_slices, n * (slice + 1) / n_slices); });
}

}  // namespace qs
