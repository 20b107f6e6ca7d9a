// llama.cpp's percentile of sorted values: linear interpolation at fraction * (n - 1). Shared by the
// KLD statistics (which must read as llama-perplexity's) and the KLD predictor's report.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace qs {

// 0 for no values.
template <typename T>
double percentile_of_sorted(const std::vector<T> &sorted, double fraction) {
  if (sorted.empty()) return 0.0;
  if (fraction <= 0) return sorted.front();
  if (fraction >= 1) return sorted.back();
  double p = fraction * static_cast<double>(sorted.size() - 1);
  const size_t ip = static_cast<size_t>(p);
  p -= static_cast<double>(ip);
  return (1 - p) * sorted[ip] + p * sorted[std::min(ip + 1, sorted.size() - 1)];
}

}  // namespace qs
