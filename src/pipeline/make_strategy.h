// A strategy from its source in one call: the measurements and model read (strategy_inputs.h),
// the file's fixed bytes counted as `quantize --strategy` will write them (convert/), the candidate
// table built and the request decided. `quantscope strategy`, `auto` and the server call this.
#pragma once

#include <optional>

#include "strategy/candidate_table.h"
#include "strategy/strategy_builder.h"
#include "strategy/strategy_inputs.h"

namespace qs {

struct MadeStrategy {
  StrategyInputs inputs;
  CandidateTable table;
  StrategyContext context;
  StrategyOutcome outcome;  // with only `pareto` filled when decide was false
};

// request.importance is filled from the inputs' imatrix. metric: nullopt for the table's default.
// decide = false: no method, only the Pareto curve under the request's constraints.
MadeStrategy make_strategy(const StrategySource &source, StrategyRequest request, std::optional<Metric> metric,
                           bool decide = true);

}  // namespace qs
