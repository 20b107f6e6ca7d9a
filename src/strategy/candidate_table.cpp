// From measurement rows to per-tensor candidates with one metric.
#include "strategy/candidate_table.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "formats/gguf.h"
#include "measure/kld_predictor.h"
#include "model/quantizable_tensors.h"

namespace qs {

const TensorCandidates *CandidateTable::find(const std::string &tensor) const {
  for (const auto &t : tensors)
    if (t.tensor == tensor) return &t;
  return nullptr;
}

Metric default_strategy_metric(const std::vector<MeasurementRow> &rows) {
  const auto any_row_has = [&](Metric m) {
    return std::any_of(rows.begin(), rows.end(), [m](const MeasurementRow &r) { return r.get(m).has_value(); });
  };
  for (Metric m : {Metric::kld, Metric::layer_error, Metric::weighted_relative_mse, Metric::relative_mse})
    if (any_row_has(m)) return m;
  for (const MetricInfo &info : all_metrics())
    if (any_row_has(info.metric)) return info.metric;
  fail("the measurement table has no metric values (", rows.size(), " rows): measure the model first");
}

namespace {

// The checks a row must pass before it may be a candidate: a tensor of the model, a type we know
// and that the tensor's shape allows.
const QuantType &checked_row_type(const MeasurementRow &row, const TensorShape &shape) {
  const QuantType *type = find_quant_type(row.type);
  if (!type) fail("measurement of ", row.tensor, ": unknown type '", row.type, "' (see `quantscope types`)");
  const auto allowed = allowed_quant_types(shape.name, shape.shape);
  if (std::find(allowed.begin(), allowed.end(), type) == allowed.end())
    fail("measurement of ", row.tensor, " in ", type->name, ": the tensor's rows are ", shape.shape.at(0),
         " values long, which ", type->name, "'s blocks of ", type->block_size, " do not divide");
  return *type;
}

}  // namespace

CandidateTable build_candidate_table(const std::vector<MeasurementRow> &rows, const std::vector<TensorShape> &tensors,
                                     std::optional<Metric> metric) {
  CandidateTable table;
  table.metric.explicit_choice = metric.has_value();
  table.metric.metric = metric ? *metric : default_strategy_metric(rows);
  const Metric chosen = table.metric.metric;

  std::map<std::string, size_t> index;
  for (const auto &t : tensors) {
    index[t.name] = table.tensors.size();
    TensorCandidates entry;
    entry.tensor = t.name;
    entry.shape = t.shape;
    entry.params = 1;
    for (int64_t d : t.shape) entry.params *= d;
    table.tensors.push_back(std::move(entry));
  }

  // The predictor is fitted on every row with a measured KLD, as `predict` does without --probes.
  std::optional<KldPredictor> predictor;
  if (chosen == Metric::kld) predictor = fit_kld_predictor(rows, {});

  for (const MeasurementRow &row : rows) {
    const auto it = index.find(row.tensor);
    if (it == index.end())
      fail("measurement of '", row.tensor, "' (", row.type, "): the model has no quantizable tensor of that name");
    TensorCandidates &entry = table.tensors[it->second];
    const QuantType &type = checked_row_type(row, tensors[it->second]);
    const bool duplicate = std::any_of(entry.candidates.begin(), entry.candidates.end(),
                                       [&](const Candidate &c) { return c.type == &type; });
    if (duplicate) fail("measurement table: two rows for ", row.tensor, " in ", type.name);

    Candidate c;
    c.type = &type;
    c.bits = type.bits_per_weight();
    c.bytes = gguf::tensor_bytes(type.id, entry.shape);
    if (const auto value = row.get(chosen)) {
      // A KLD measured a hair below zero is rounding in the comparison, not a gain.
      c.error = chosen == Metric::kld ? std::max(0.0, *value) : *value;
      ++table.metric.n_measured;
    } else if (predictor) {
      const auto kld = predictor->predict(row);
      if (!kld)
        fail("no KLD for ", row.tensor, " in ", type.name, ": it was not measured and the job's predictor has no fit "
             "for this tensor (no row of it carries a kld); measure it, or decide on --metric layer_error");
      c.error = *kld;
      c.predicted = true;
      ++table.metric.n_predicted;
    } else {
      ++table.metric.n_without_value;
      continue;
    }
    entry.candidates.push_back(c);
  }

  for (auto &entry : table.tensors) {
    if (entry.candidates.empty())
      fail("the measurement table has no ", metric_info(chosen).column, " for tensor ", entry.tensor,
           ": every quantizable tensor needs at least one measured type");
    // Among types of equal bits the least error comes first: a rule that picks by bits (bins,
    // floors) then takes the better one (Q4_K over Q4_0 at 4.5 bpw when it measured better).
    std::stable_sort(entry.candidates.begin(), entry.candidates.end(), [](const Candidate &a, const Candidate &b) {
      return a.bits != b.bits ? a.bits > b.bits : a.error < b.error;
    });
  }
  return table;
}

}  // namespace qs
