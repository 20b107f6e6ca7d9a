// Measurements as CSV, the exchange format between machines and tools: a header
// `tensor,type,bits,params,<metric>...` (metric columns named as in the metric table, in any order,
// empty cells for values not measured), one row per (tensor, type), RFC 4180 quoting.
#pragma once

#include <filesystem>
#include <vector>

#include "jobs/measurement_row.h"

namespace qs {

// Writes the rows with only the metric columns that hold at least one value, in metric-table
// order; numbers are written so that they read back exactly. Written to `path`.tmp, then renamed,
// so `path` is never half-written.
void write_measurements_csv(const std::filesystem::path &path, const std::vector<MeasurementRow> &rows);

// Reads and checks a whole file; errors name the file, the line and the column.
std::vector<SourcedRow> read_measurements_csv(const std::filesystem::path &path);

}  // namespace qs
