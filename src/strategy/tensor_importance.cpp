// Per-tensor importance from an imatrix.
#include "strategy/tensor_importance.h"

namespace qs {

std::map<std::string, double> imatrix_tensor_importance(const Imatrix &imatrix, const std::vector<std::string> &tensors) {
  std::map<std::string, double> importance;
  for (const auto &name : tensors) {
    const ImatrixEntry *entry = imatrix.find(name);
    if (!entry || entry->n_cols <= 0) continue;
    double sum = 0;
    int64_t n = 0;
    for (int64_t m = 0; m < entry->n_mat; ++m) {
      // Legacy files carry one count for every matrix.
      const double count = entry->counts.size() == 1 ? entry->counts[0] : entry->counts[static_cast<size_t>(m)];
      if (count <= 0) continue;
      for (int64_t c = 0; c < entry->n_cols; ++c) sum += entry->sums[static_cast<size_t>(m * entry->n_cols + c)] / count;
      n += entry->n_cols;
    }
    if (n > 0) importance[name] = sum / static_cast<double>(n);
  }
  return importance;
}

}  // namespace qs
