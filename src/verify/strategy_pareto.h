// The Pareto curve a strategy was chosen from, rebuilt from the measurements it names (its job or
// CSV, its metric): what the compare report draws through the measured points.
#pragma once

#include <vector>

#include "strategy/strategy.h"
#include "strategy/strategy_builder.h"

namespace qs {

// Empty when the strategy names no measurements (made from a recipe, or by hand). Throws qs::Error
// when it names a job or CSV that can no longer be read.
std::vector<ParetoPoint> measured_pareto_of(const Strategy &strategy);

}  // namespace qs
