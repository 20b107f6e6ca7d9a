// Knee, budget and bins over the constrained candidate table, and the strategy they make.
#include "strategy/strategy_builder.h"

#include <algorithm>
#include <regex>

#include "core/error.h"
#include "core/progress.h"
#include "formats/gguf.h"

namespace qs {

const char *strategy_method_name(StrategyMethod method) {
  switch (method) {
    case StrategyMethod::knee: return "knee";
    case StrategyMethod::budget: return "budget";
    case StrategyMethod::greedy: return "greedy";
    case StrategyMethod::bins: return "bins";
  }
  return "unknown";
}

namespace {

struct Decision {
  Candidate candidate;
  ChoiceReason reason = ChoiceReason::budget;
  bool measured = true;  // false: a pin to a type the table has no value for
};

// Importance percentiles in [0, 100], in table order. Tensors the imatrix lacks rank with the
// least important (0 is below every mean squared activation).
std::vector<double> table_percentiles(const std::vector<ConstrainedTensor> &tensors,
                                      const std::map<std::string, double> &importance) {
  std::vector<double> values;
  for (const auto &t : tensors) {
    const auto it = importance.find(t.tensor->tensor);
    values.push_back(it == importance.end() ? 0.0 : it->second);
  }
  if (importance.empty()) return std::vector<double>(values.size(), 0.0);
  return importance_percentiles(values);
}

void decide_by_knee(const std::vector<ConstrainedTensor> &tensors, const StrategyRequest &request,
                    std::vector<Decision> &decisions, StrategyOutcome &outcome) {
  const std::vector<double> percentile = table_percentiles(tensors, request.importance);
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].pinned) continue;
    const auto &allowed = tensors[i].allowed;
    std::vector<CurvePoint> curve;
    for (const Candidate &c : allowed) curve.push_back({c.type->name, c.bits, c.error});
    const KneeChoice choice = choose_knee(tensors[i].tensor->tensor, curve, percentile[i] / 100.0, request.knee);
    decisions[i] = {allowed[choice.chosen], ChoiceReason::knee, true};
    ++outcome.knee_rules[knee_rule_name(choice.rule)];
    outcome.raised_for_importance += choice.raised_for_importance ? 1 : 0;
    outcome.knees.push_back({tensors[i].tensor->tensor, std::move(curve), choice});
  }
}

void decide_by_bins(const std::vector<ConstrainedTensor> &tensors, const StrategyRequest &request,
                    std::vector<Decision> &decisions, StrategyOutcome &outcome) {
  if (request.importance.empty())
    fail("--bins ranks tensors by imatrix importance: the job has no imatrix; pass --imatrix");
  const std::vector<ImportanceBin> bins = parse_importance_bins(request.bins);
  const std::vector<double> percentile = table_percentiles(tensors, request.importance);
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].pinned) continue;
    std::vector<TypeCandidate> candidates;
    for (const Candidate &c : tensors[i].allowed) candidates.push_back({c.type->name, c.bits});
    const BinTypeChoice choice = choose_bin_type(candidates, bin_for_percentile(bins, percentile[i]));
    decisions[i] = {tensors[i].allowed[choice.index], ChoiceReason::bin, true};
    outcome.below_bin_minimum += choice.below_minimum ? 1 : 0;
  }
}

// One knapsack: a set of free tensors sharing a budget.
struct BudgetPart {
  std::string name;
  std::vector<size_t> tensors;   // free tensors (indices into the constrained list)
  uint64_t pinned_weight = 0;    // what the part's pinned tensors take of the budget
  uint64_t fixed_weight = 0;     // the file's fixed bytes, for the part that holds them
  uint64_t budget = 0;           // for the whole part
};

// A tensor's weight against the budget: file budgets count the padding each tensor gets in the
// file; a bits-per-weight target counts the data, as llama.cpp's bpw does.
uint64_t budget_weight(const Candidate &c, bool file_budget) {
  return file_budget ? gguf::padded_bytes(c.bytes) : c.bytes;
}

std::string describe_weight(uint64_t bytes, bool file_budget, int64_t params) {
  if (file_budget) return cat(bytes, " bytes (", format_bytes(bytes), ")");
  return cat(8.0 * static_cast<double>(bytes) / static_cast<double>(params), " bits per weight");
}

void decide_by_budget(const std::vector<ConstrainedTensor> &tensors, const StrategyRequest &request,
                      const StrategyContext &context, std::vector<Decision> &decisions, StrategyOutcome &outcome) {
  const ByteBudget &b = request.budget;
  const bool two_budgets = b.gpu_bytes || b.cpu_bytes;
  const int n_given = (b.target_bpw ? 1 : 0) + (b.size_bytes ? 1 : 0) + (two_budgets ? 1 : 0);
  if (n_given != 1) fail("a budget needs exactly one of --target-bpw, --size, or --gpu with --cpu");
  if (two_budgets && (!b.gpu_bytes || !b.cpu_bytes || b.cpu_tensors.empty()))
    fail("two budgets need --gpu, --cpu and --cpu-tensors together");
  const bool file_budget = !b.target_bpw;
  if (file_budget && !context.fixed_bytes)
    fail("a file-size budget needs the model (to count metadata and unquantized tensors): pass --model");

  int64_t params = 0;
  for (const auto &t : tensors) params += t.tensor->params;

  std::vector<BudgetPart> parts;
  if (b.target_bpw) {
    if (!(*b.target_bpw > 0)) fail("--target-bpw must be positive");
    parts.push_back({"target-bpw", {}, 0, 0,
                     static_cast<uint64_t>(*b.target_bpw * static_cast<double>(params) / 8.0)});
  } else if (b.size_bytes) {
    parts.push_back({"size", {}, 0, *context.fixed_bytes, *b.size_bytes});
  } else {
    parts.push_back({"gpu", {}, 0, *context.fixed_bytes, *b.gpu_bytes});
    parts.push_back({"cpu", {}, 0, 0, *b.cpu_bytes});
  }
  std::optional<std::regex> cpu_regex;
  if (two_budgets) {
    try {
      cpu_regex.emplace(b.cpu_tensors);
    } catch (const std::regex_error &e) {
      fail("--cpu-tensors: bad regular expression '", b.cpu_tensors, "': ", e.what());
    }
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    BudgetPart &part = cpu_regex && std::regex_search(tensors[i].tensor->tensor, *cpu_regex) ? parts[1] : parts[0];
    if (tensors[i].pinned) part.pinned_weight += budget_weight(*tensors[i].pinned, file_budget);
    else part.tensors.push_back(i);
  }
  if (two_budgets && parts[1].tensors.empty() && parts[1].pinned_weight == 0)
    fail("--cpu-tensors '", b.cpu_tensors, "' matches no quantizable tensor");

  for (const BudgetPart &part : parts) {
    std::vector<MixGroup> groups;
    for (size_t i : part.tensors) {
      MixGroup g;
      for (const Candidate &c : tensors[i].allowed) g.push_back({budget_weight(c, file_budget), c.error});
      groups.push_back(std::move(g));
    }
    const uint64_t committed = part.fixed_weight + part.pinned_weight;
    const uint64_t smallest = committed + smallest_mix_bytes(groups);
    if (part.budget < smallest) {
      fail("the ", part.name, " budget of ", describe_weight(part.budget, file_budget, params),
           " is below the smallest mix this table allows: ", describe_weight(smallest, file_budget, params),
           file_budget ? " (metadata, unquantized tensors, pins, and every other tensor at its smallest measured type)"
                       : " (pins, and every other tensor at its smallest measured type)");
    }
    const uint64_t free_budget = part.budget - committed;
    std::optional<MixSolution> solution;
    std::optional<MixSolution> greedy = greedy_mix(groups, free_budget);
    if (request.method == StrategyMethod::greedy) solution = greedy;
    else solution = optimize_mix(groups, free_budget, request.optimizer);

    BudgetSolve solve;
    solve.name = part.name;
    solve.budget_bytes = free_budget;
    solve.used_bytes = solution->bytes;
    solve.error = solution->error;
    solve.lower_bound = solution->lower_bound;
    solve.proven_optimal = request.method == StrategyMethod::budget && solution->proven_optimal;
    solve.nodes = solution->nodes;
    if (greedy) solve.greedy_error = greedy->error;
    outcome.solves.push_back(solve);
    for (size_t k = 0; k < part.tensors.size(); ++k) {
      const size_t i = part.tensors[k];
      decisions[i] = {tensors[i].allowed[static_cast<size_t>(solution->choice[k])], ChoiceReason::budget, true};
    }
  }
}

// The curve over the free tensors, with the pinned ones added to every point.
std::vector<ParetoPoint> whole_table_pareto(const std::vector<ConstrainedTensor> &tensors, const StrategyContext &context) {
  std::vector<size_t> free;
  std::vector<MixGroup> groups;
  uint64_t pinned_bytes = 0, pinned_padded = 0;
  double pinned_error = 0;
  int64_t params = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    params += tensors[i].tensor->params;
    if (tensors[i].pinned) {
      pinned_bytes += tensors[i].pinned->bytes;
      pinned_padded += gguf::padded_bytes(tensors[i].pinned->bytes);
      pinned_error += tensors[i].pinned->error;
      continue;
    }
    free.push_back(i);
    MixGroup g;
    for (const Candidate &c : tensors[i].allowed) g.push_back({c.bytes, c.error});
    groups.push_back(std::move(g));
  }
  const ParetoCurve curve = pareto_curve(groups);
  // The padded total moves with each step; kept incrementally so the whole curve costs one pass.
  std::vector<int> choice = curve.start_choice;
  uint64_t padded = 0;
  for (size_t k = 0; k < free.size(); ++k)
    padded += gguf::padded_bytes(tensors[free[k]].allowed[static_cast<size_t>(choice[k])].bytes);
  std::vector<ParetoPoint> points;
  for (size_t p = 0; p < curve.size(); ++p) {
    if (p > 0) {
      const ParetoStep &step = curve.steps[p - 1];
      const auto &allowed = tensors[free[static_cast<size_t>(step.group)]].allowed;
      padded -= gguf::padded_bytes(allowed[static_cast<size_t>(choice[static_cast<size_t>(step.group)])].bytes);
      padded += gguf::padded_bytes(allowed[static_cast<size_t>(step.option)].bytes);
      choice[static_cast<size_t>(step.group)] = step.option;
    }
    ParetoPoint point;
    point.tensor_bytes = pinned_bytes + curve.bytes_at(p);
    if (context.fixed_bytes) point.file_bytes = *context.fixed_bytes + pinned_padded + padded;
    point.bpw = 8.0 * static_cast<double>(point.tensor_bytes) / static_cast<double>(params);
    point.error = pinned_error + curve.error_at(p);
    points.push_back(point);
  }
  return points;
}

}  // namespace

std::vector<ParetoPoint> strategy_pareto(const CandidateTable &table, const TypeConstraints &constraints,
                                         const StrategyContext &context) {
  return whole_table_pareto(apply_type_constraints(table, constraints), context);
}

StrategyOutcome build_strategy(const CandidateTable &table, const StrategyRequest &request,
                               const StrategyContext &context) {
  StrategyOutcome outcome;
  outcome.metric = table.metric;
  const std::vector<ConstrainedTensor> tensors = apply_type_constraints(table, request.constraints);

  std::vector<Decision> decisions(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].pinned) continue;
    decisions[i] = {*tensors[i].pinned, ChoiceReason::pin, tensors[i].pinned_measured};
    ++outcome.n_pinned;
  }
  switch (request.method) {
    case StrategyMethod::knee: decide_by_knee(tensors, request, decisions, outcome); break;
    case StrategyMethod::bins: decide_by_bins(tensors, request, decisions, outcome); break;
    case StrategyMethod::budget:
    case StrategyMethod::greedy: decide_by_budget(tensors, request, context, decisions, outcome); break;
  }
  if (request.pareto) outcome.pareto = whole_table_pareto(tensors, context);

  Strategy &s = outcome.strategy;
  s.model_source = context.model_source;
  s.architecture = context.architecture;
  s.source_job = context.source_job;
  s.source_path = context.source_path;
  s.fixed_bytes = context.fixed_bytes;
  s.objective.method = strategy_method_name(request.method);
  s.objective.metric = metric_info(table.metric.metric).column;
  s.objective.target_bpw = request.budget.target_bpw;
  s.objective.size_bytes = request.budget.size_bytes;
  s.objective.gpu_bytes = request.budget.gpu_bytes;
  s.objective.cpu_bytes = request.budget.cpu_bytes;
  s.objective.cpu_tensors = request.budget.cpu_tensors;
  for (size_t i = 0; i < tensors.size(); ++i) {
    StrategyTensor t;
    t.name = tensors[i].tensor->tensor;
    t.shape = tensors[i].tensor->shape;
    t.type = decisions[i].candidate.type->name;
    t.reason = decisions[i].reason;
    if (decisions[i].measured) t.predicted = decisions[i].candidate.error;
    s.tensors.push_back(std::move(t));
  }
  recompute_totals(s);
  return outcome;
}

}  // namespace qs
