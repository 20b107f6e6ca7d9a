// Rebuilding a strategy's Pareto curve from its source.
#include "verify/strategy_pareto.h"

#include "convert/gguf_file_size.h"
#include "core/error.h"
#include "strategy/candidate_table.h"
#include "strategy/strategy_inputs.h"

namespace qs {

std::vector<ParetoPoint> measured_pareto_of(const Strategy &strategy) {
  if (strategy.source_path.empty() || strategy.objective.method == "recipe") return {};
  StrategySource source;
  source.source = strategy.source_job ? std::to_string(*strategy.source_job) : strategy.source_path;
  if (strategy.source_job) source.db = strategy.source_path;
  source.model = strategy.model_source;
  const StrategyInputs inputs = load_strategy_inputs(source);
  const MetricInfo *metric = find_metric(strategy.objective.metric);
  if (!metric) fail("the strategy's metric '", strategy.objective.metric, "' is not a measured column");
  const CandidateTable table = build_candidate_table(inputs.rows, inputs.tensors, metric->metric);
  StrategyContext context;
  context.fixed_bytes = fixed_gguf_bytes(*inputs.model);
  return strategy_pareto(table, {}, context);
}

}  // namespace qs
