// Reading a strategy's source and deciding it.
#include "pipeline/make_strategy.h"

#include "convert/gguf_file_size.h"

namespace qs {

MadeStrategy make_strategy(const StrategySource &source, StrategyRequest request, std::optional<Metric> metric,
                           bool decide) {
  MadeStrategy made;
  made.inputs = load_strategy_inputs(source);
  made.table = build_candidate_table(made.inputs.rows, made.inputs.tensors, metric);
  made.context.model_source = made.inputs.model_source;
  made.context.architecture = made.inputs.model->architecture().gguf_arch;
  made.context.source_job = made.inputs.job;
  made.context.source_path = made.inputs.source_path;
  made.context.fixed_bytes = fixed_gguf_bytes(*made.inputs.model);
  request.importance = made.inputs.importance;
  if (decide) made.outcome = build_strategy(made.table, request, made.context);
  else made.outcome.pareto = strategy_pareto(made.table, request.constraints, made.context);
  return made;
}

}  // namespace qs
