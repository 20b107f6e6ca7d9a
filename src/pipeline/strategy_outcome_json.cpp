// The JSON of `strategy --json` and POST /api/strategy.
#include "pipeline/strategy_outcome_json.h"

#include "strategy/strategy_file.h"

namespace qs {

namespace {

nlohmann::ordered_json number_or_null(std::optional<double> v) { return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(); }

}  // namespace

nlohmann::ordered_json pareto_json(const std::vector<ParetoPoint> &points) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const ParetoPoint &p : points)
    out.push_back({{"tensor_bytes", p.tensor_bytes},
                   {"file_bytes", p.file_bytes ? nlohmann::ordered_json(*p.file_bytes) : nlohmann::ordered_json()},
                   {"bpw", p.bpw}, {"error", p.error}});
  return out;
}

nlohmann::ordered_json strategy_outcome_json(const StrategyOutcome &outcome, bool with_pareto) {
  const Strategy &s = outcome.strategy;
  nlohmann::ordered_json j;
  j["metric"] = {{"column", metric_info(outcome.metric.metric).column},
                 {"explicit", outcome.metric.explicit_choice},
                 {"measured", outcome.metric.n_measured},
                 {"predicted", outcome.metric.n_predicted},
                 {"rows_without_value", outcome.metric.n_without_value}};
  j["method"] = s.objective.method;
  j["strategy"] = strategy_to_json(s);
  nlohmann::ordered_json solves = nlohmann::ordered_json::array();
  for (const BudgetSolve &b : outcome.solves)
    solves.push_back({{"budget", b.name}, {"budget_bytes", b.budget_bytes}, {"used_bytes", b.used_bytes},
                      {"error", b.error}, {"lower_bound", b.lower_bound}, {"proven_optimal", b.proven_optimal},
                      {"nodes", b.nodes}, {"greedy_error", number_or_null(b.greedy_error)}});
  j["solves"] = solves;
  j["knee_rules"] = outcome.knee_rules;
  if (!outcome.knees.empty()) {
    nlohmann::ordered_json knees = nlohmann::ordered_json::object();
    for (const auto &k : outcome.knees) {
      const auto type_at = [&](size_t i) { return k.curve[i].type; };
      nlohmann::ordered_json frontier = nlohmann::ordered_json::array();
      for (size_t f = 0; f < k.choice.frontier.size(); ++f) {
        const CurvePoint &p = k.curve[k.choice.frontier[f]];
        frontier.push_back({{"type", p.type}, {"bits", p.bits}, {"error", p.error},
                            {"slope_below", f < k.choice.slopes.size() ? nlohmann::ordered_json(k.choice.slopes[f])
                                                                       : nlohmann::ordered_json()}});
      }
      knees[k.tensor] = {{"chosen", type_at(k.choice.chosen)},
                         {"rule", knee_rule_name(k.choice.rule)},
                         {"knee", k.choice.knee ? nlohmann::ordered_json(type_at(*k.choice.knee)) : nlohmann::ordered_json()},
                         {"raised_for_importance", k.choice.raised_for_importance},
                         {"frontier", frontier}};
    }
    j["knees"] = knees;
  }
  j["raised_for_importance"] = outcome.raised_for_importance;
  j["below_bin_minimum"] = outcome.below_bin_minimum;
  j["pinned"] = outcome.n_pinned;
  if (with_pareto) j["pareto"] = pareto_json(outcome.pareto);
  return j;
}

}  // namespace qs
