// A decided strategy as JSON: the summary `quantscope strategy --json` prints and POST
// /api/strategy answers (metric used, method, the strategy file's JSON, budget solves, knees).
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "strategy/strategy_builder.h"

namespace qs {

// [{tensor_bytes, file_bytes (or null), bpw, error}]
nlohmann::ordered_json pareto_json(const std::vector<ParetoPoint> &points);

// {metric: {column, explicit, measured, predicted, rows_without_value}, method, strategy, solves,
//  knee_rules, knees (knee method only), raised_for_importance, below_bin_minimum, pinned,
//  pareto (with_pareto only)}
nlohmann::ordered_json strategy_outcome_json(const StrategyOutcome &outcome, bool with_pareto);

}  // namespace qs
