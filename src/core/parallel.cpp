// std::thread based parallel_for; threads are short-lived because every caller does coarse work
// (rows of a tensor, chunks of tokens) that dwarfs thread start-up.
#include "core/parallel.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace qs {

int default_thread_count() {
  if (const char *env = std::getenv("QUANTSCOPE_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)> &fn, int n_threads) {
  if (n <= 0) return;
  if (n_threads <= 0) n_threads = default_thread_count();
  const int64_t workers = std::min<int64_t>(n_threads, n);
  if (workers <= 1) {
    fn(0, n);
    return;
  }
  std::exception_ptr first_error;
  std::mutex error_mutex;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(workers));
  for (int64_t w = 0; w < workers; ++w) {
    const int64_t begin = n * w / workers;
    const int64_t end = n * (w + 1) / workers;
    threads.emplace_back([&, begin, end] {
      try {
        fn(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
      }
    });
  }
  for (auto &t : threads) t.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace qs
