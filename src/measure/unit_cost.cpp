// Relative costs of a measurement's units, for the ETA.
#include "measure/unit_cost.h"

#include <algorithm>

#include "measure/tensor_position.h"

namespace qs {
namespace {

// A unit's fixed overhead (launches, the tensor's bookkeeping, the proxies' passes), in weights.
constexpr double kUnitOverheadWeights = 4e7;
// An exact unit's pass costs about this share of the weights it runs through, per weight of them,
// against the two products of a layer-metric unit (the 8B sweep: 0.036 s a layer of 218 M weights
// against 0.16 s a 58.7 M-weight FFN unit).
constexpr double kPassShare = 1.0 / 6.0;

}  // namespace

std::map<std::string, double> measurement_unit_costs(const std::vector<MeasurementUnit> &units,
                                                     const ModelSource &model) {
  const int n_layer = static_cast<int>(model.config().num_hidden_layers);
  // pass_weights[l]: the weights a pass starting at block l multiplies by (blocks l.. and the
  // output matrix; the embedding is a lookup).
  std::vector<double> pass_weights(static_cast<size_t>(n_layer) + 1, 0.0);
  for (const auto &tensor : model.tensors()) {
    const std::optional<int> block = tensor_block(tensor.name, n_layer);
    if (block && *block >= 0) pass_weights[static_cast<size_t>(*block)] += static_cast<double>(tensor.n_elements());
  }
  for (int l = n_layer - 1; l >= 0; --l) pass_weights[static_cast<size_t>(l)] += pass_weights[static_cast<size_t>(l) + 1];

  std::map<std::string, double> costs;
  for (const auto &unit : units) {
    const SourceTensor *tensor = model.find(unit.tensor);
    const double weights = tensor ? static_cast<double>(tensor->n_elements()) : 0.0;
    double cost = kUnitOverheadWeights + 2 * weights;
    if (unit.level == MetricLevel::kld) {
      const int start = std::max(tensor_block(unit.tensor, n_layer).value_or(n_layer), 0);  // the embedding: from block 0
      cost += kPassShare * pass_weights[static_cast<size_t>(start)];
    }
    costs[unit.key] = cost;
  }
  return costs;
}

}  // namespace qs
