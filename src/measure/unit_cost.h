// What each unit of a measurement costs relative to the others, for the job's ETA
// (RunOptions::unit_cost): an 8B model's units range from tens of milliseconds (a small attention
// weight at the layer metric) to seconds (an exact pass from the first layer, or the embedding),
// so an ETA from the count of units alone was 15 times too long at the start of a sweep.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "measure/measure_plan.h"
#include "model/model_source.h"

namespace qs {

// Each unit's cost by key, in weight-equivalents: a fixed overhead plus its weight twice (the
// products with W - Q and with W, or the quantizing for the proxies); an exact (kld) unit adds a
// sixth of the weights its pass runs through (its own layer's, every later layer's and the output
// matrix's). The constants fit the units' times of the 8B shape's GPU sweep
// (docs/performance.md, session 9); elsewhere they only rank units roughly, which is all an ETA needs.
std::map<std::string, double> measurement_unit_costs(const std::vector<MeasurementUnit> &units,
                                                     const ModelSource &model);

}  // namespace qs
