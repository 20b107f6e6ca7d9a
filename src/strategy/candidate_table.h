// The table every strategy method decides from: per quantizable tensor, the types measured for it
// with their bytes and the error the chosen metric gives them. Built from a measurement table (a
// job's rows or a CSV) and the model's shapes; the metric is picked once for the whole table, so
// that errors summed over tensors are of one kind.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jobs/measurement_row.h"
#include "model/quantizable_tensors.h"
#include "quant/types.h"

namespace qs {

struct Candidate {
  const QuantType *type = nullptr;
  double bits = 0;        // bits per weight of the type
  uint64_t bytes = 0;     // the tensor's data in this type (unpadded)
  double error = 0;       // the metric's value
  bool predicted = false; // a KLD from the job's predictor, not measured
};

struct TensorCandidates {
  std::string tensor;
  std::vector<int64_t> shape;
  int64_t params = 0;
  std::vector<Candidate> candidates;  // by bits, most first (ties: least error first)
};

// Which column the decisions use.
struct MetricSelection {
  Metric metric = Metric::kld;
  bool explicit_choice = false;  // --metric given
  int64_t n_measured = 0;        // candidates whose error was measured
  int64_t n_predicted = 0;       // candidates whose KLD came from the predictor
  int64_t n_without_value = 0;   // rows left out: no value of the metric (and none predicted)
};

struct CandidateTable {
  std::vector<TensorCandidates> tensors;  // in the model's order
  MetricSelection metric;
  const TensorCandidates *find(const std::string &tensor) const;
};

// The metric a table is decided on when none is asked for: kld when any row has one (measured where
// the row has it, else predicted by the job's own KLD predictor), else layer_error, else
// weighted_relative_mse, else relative_mse, else the first metric any row has. Throws when no row
// carries any metric.
Metric default_strategy_metric(const std::vector<MeasurementRow> &rows);

// Builds the table. `tensors` are the model's quantizable tensors with their shapes, in model
// order; every row must name one of them (else an error naming the row) and its type must be one
// the tensor's shape allows (a row length the type's blocks do not divide: an error naming it).
// metric: nullopt for default_strategy_metric. With kld, rows without a measured kld get the
// predictor's value (fitted on every row that has one); rows the predictor cannot reach are an
// error naming the tensor. With another metric, rows without its value are left out (counted).
// A model tensor with no row at all is an error naming it (the measurement did not cover it; the
// strategy must choose for every tensor).
CandidateTable build_candidate_table(const std::vector<MeasurementRow> &rows, const std::vector<TensorShape> &tensors,
                                     std::optional<Metric> metric);

}  // namespace qs
