// What a strategy is decided from, gathered in one place for the CLI and the server: the
// measurement rows (a job of a job database, or a CSV), the model they were measured on (its
// quantizable tensors and shapes), and the imatrix importance of each tensor when there is one.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jobs/measurement_row.h"
#include "model/model_source.h"
#include "strategy/candidate_table.h"

namespace qs {

struct StrategySource {
  std::string source;   // a job id ("3") or a measurements CSV path
  std::string db;       // the job database ("" = the default one)
  std::string model;    // overrides the job's model; needed for a CSV or an import job
  std::string imatrix;  // overrides the job's imatrix
};

struct StrategyInputs {
  std::vector<MeasurementRow> rows;
  std::optional<int64_t> job;   // when the source was a job
  std::string source_path;      // the database or the CSV, absolute
  std::unique_ptr<ModelSource> model;
  std::string model_source;     // as the job or --model named it
  std::vector<TensorShape> tensors;  // the model's quantizable tensors, in model order
  std::map<std::string, double> importance;  // empty without an imatrix
};

// Throws qs::Error naming what is missing: a source that is neither a job nor a readable CSV, a job
// without rows, no model to be found (CSV or import job without --model), an unreadable imatrix.
StrategyInputs load_strategy_inputs(const StrategySource &source);

}  // namespace qs
