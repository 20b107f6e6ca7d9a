// Turning a candidate table into a strategy: the knee per tensor, the least-error mix for a size
// budget (exact, or the greedy method for comparison), or importance bins, always after the user's
// pins, floors and ceilings. `quantscope strategy` and the server call this; they only parse and
// print.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "strategy/candidate_table.h"
#include "strategy/importance_bins.h"
#include "strategy/knee.h"
#include "strategy/mix_optimizer.h"
#include "strategy/strategy.h"
#include "strategy/type_constraints.h"

namespace qs {

enum class StrategyMethod { knee, budget, greedy, bins };
const char *strategy_method_name(StrategyMethod method);

// One budget: the bytes its tensors may take.
struct ByteBudget {
  std::optional<double> target_bpw;    // average bits per weight over the table's tensors
  std::optional<uint64_t> size_bytes;  // the whole output file (needs StrategyContext::fixed_bytes)
  // Two budgets at once: tensors matching cpu_tensors live in system memory (cpu_bytes), the rest,
  // with the fixed part of the file, on the GPU (gpu_bytes).
  std::optional<uint64_t> gpu_bytes, cpu_bytes;
  std::string cpu_tensors;
};

struct StrategyRequest {
  StrategyMethod method = StrategyMethod::budget;
  ByteBudget budget;               // budget and greedy
  KneeThresholds knee;             // knee
  std::string bins;                // bins: "90:Q6_K,50:Q5_K,0:Q4_K"
  TypeConstraints constraints;
  // Per tensor its imatrix importance (strategy/tensor_importance.h); tensors without one rank
  // lowest. The knee's importance step and the bins use it; empty: every tensor ranks equal.
  std::map<std::string, double> importance;
  bool pareto = false;             // also compute the Pareto curve of the free tensors
  MixOptimizerOptions optimizer;
};

// What the strategy file records about where it came from.
struct StrategyContext {
  std::string model_source;
  std::string architecture;
  std::optional<int64_t> source_job;
  std::string source_path;
  std::optional<uint64_t> fixed_bytes;  // the file's bytes no choice changes (convert/gguf_file_size.h)
};

// One point of the Pareto curve, for the whole table (pinned tensors included).
struct ParetoPoint {
  uint64_t tensor_bytes = 0;             // every listed tensor
  std::optional<uint64_t> file_bytes;    // with fixed_bytes and padding, when known
  double bpw = 0;
  double error = 0;                      // summed metric
};

// How a budget solve went (one per budget: two with --gpu/--cpu).
struct BudgetSolve {
  std::string name;                 // "size", "target-bpw", "gpu", "cpu"
  uint64_t budget_bytes = 0;        // what the free tensors of this part could take
  uint64_t used_bytes = 0;
  double error = 0;                 // of the free tensors
  double lower_bound = 0;           // Lagrangian bound on that error (exact method)
  bool proven_optimal = false;
  int64_t nodes = 0;
  std::optional<double> greedy_error;  // the greedy method at the same budget, for comparison
};

struct StrategyOutcome {
  Strategy strategy;
  MetricSelection metric;
  std::vector<BudgetSolve> solves;
  std::vector<ParetoPoint> pareto;
  std::map<std::string, int64_t> knee_rules;  // knee: how many tensors each rule decided
  // knee: per free tensor its curve (the allowed candidates, most bits first) and the choice, so a
  // reader can see the frontier, the slopes and where the knee is.
  struct KneeDetail {
    std::string tensor;
    std::vector<CurvePoint> curve;
    KneeChoice choice;
  };
  std::vector<KneeDetail> knees;
  int64_t raised_for_importance = 0;
  int64_t below_bin_minimum = 0;              // bins: tensors whose candidates all lay below their bin
  int64_t n_pinned = 0;
};

// The Pareto curve of the table under the constraints alone (no method): every size from the
// smallest mix to the least-error one, each point optimal for its size.
std::vector<ParetoPoint> strategy_pareto(const CandidateTable &table, const TypeConstraints &constraints,
                                         const StrategyContext &context);

// Throws qs::Error for what the request cannot do: an infeasible budget (naming the smallest size
// the table allows), --size without the fixed bytes, a budget method without a budget.
StrategyOutcome build_strategy(const CandidateTable &table, const StrategyRequest &request,
                               const StrategyContext &context);

}  // namespace qs
