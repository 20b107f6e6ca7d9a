// Persistent worker threads handing out tasks one at a time under a mutex: tasks here are coarse
// (a slice of a matmul, one attention head block), so the lock is never the bottleneck.
#include "infer/thread_pool.h"

#include "core/parallel.h"

namespace qs {

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads > 0 ? n_threads : default_thread_count()) {
  workers_.reserve(static_cast<size_t>(n_threads_ - 1));
  for (int t = 1; t < n_threads_; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto &w : workers_) w.join();
}

void ThreadPool::work_on_current(int thread) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!error_ && next_task_ < n_tasks_) {
    const int64_t task = next_task_++;
    ++in_flight_;
    const auto *fn = fn_;
    lock.unlock();
    std::exception_ptr error;
    try {
      (*fn)(task, thread);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (error && !error_) error_ = error;  // stops further hand-out
    --in_flight_;
  }
  if (in_flight_ == 0) done_.notify_all();
}

void ThreadPool::worker_loop(int thread) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    work_on_current(thread);
  }
}

void ThreadPool::run(int64_t n_tasks, const std::function<void(int64_t, int)> &fn) {
  if (n_tasks <= 0) return;
  if (n_threads_ == 1 || n_tasks == 1) {
    for (int64_t t = 0; t < n_tasks; ++t) fn(t, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = &fn;
    n_tasks_ = n_tasks;
    next_task_ = 0;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  work_on_current(0);
  std::unique_lock<std::mutex> lock(mutex_);
  // Done when nothing is left to hand out and every handed-out task has returned.
  done_.wait(lock, [&] { return in_flight_ == 0 && (error_ || next_task_ >= n_tasks_); });
  fn_ = nullptr;
  n_tasks_ = 0;
  if (error_) {
    auto error = error_;
    error_ = nullptr;
    std::rethrow_exception(error);
  }
}

}  // namespace qs
