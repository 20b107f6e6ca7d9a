// The budget step of `quantscope strategy`: one storage type per tensor so that the summed error is
// least within a byte budget. That is the multiple-choice knapsack; optimize_mix solves it exactly,
// greedy_mix is the seed's heuristic kept for comparison, pareto_curve gives every Lagrangian point.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace qs {

// One candidate type of one tensor.
struct MixOption {
  uint64_t bytes = 0;  // the tensor's size in this type
  double error = 0;    // its measured error in this type (KLD, ...): smaller is better; finite
};

// One tensor's candidate types, in any order, at least one. Dominated options (no fewer bytes and no
// less error than another) and duplicates are allowed; they are never chosen over their betters.
using MixGroup = std::vector<MixOption>;

struct MixSolution {
  std::vector<int> choice;   // per group: the index of the chosen option in that group, as given
  uint64_t bytes = 0;        // sum of the chosen options' bytes (<= the budget)
  double error = 0;          // sum of the chosen options' errors, added in group order
  // A lower bound on the least error any mix within the budget can have. optimize_mix: the LP
  // relaxation's optimum, or, when the search stopped at max_nodes, the better bound the search had
  // proved by then (the caller states error - lower_bound as the gap). greedy_mix: the LP optimum.
  // Never above `error` (a bound that rounding put a hair above it is clamped).
  double lower_bound = 0;
  bool proven_optimal = false;  // optimize_mix finished its exact search (no node limit hit)
  // optimize_mix: states the exact search generated (0 when the relaxation's own mix was optimal).
  // greedy_mix: the moves it made.
  int64_t nodes = 0;
};

struct MixOptimizerOptions {
  // Most states the exact search may generate before it gives up and returns the best mix found
  // (proven_optimal = false). A kept state costs ~40 bytes while its stage is built and 8 bytes
  // for the trace back, so this also caps memory (below 1 GB at the default, far less in practice:
  // most generated states are pruned or dominated). Realistic instances (600 and 3000 tensors x
  // 24 types, 1.8 to 8.5 bpw) needed at most ~0.6M; see bench/strategy_optimizer_bench.cpp.
  int64_t max_nodes = 20'000'000;
};

// Bytes of the mix with every group at its smallest option: no mix is smaller.
uint64_t smallest_mix_bytes(const std::vector<MixGroup> &groups);
// Bytes of the mix with every group at its largest option: no mix is larger.
uint64_t largest_mix_bytes(const std::vector<MixGroup> &groups);

// The mix of least summed error with bytes <= budget_bytes; among mixes of equal error, the solver
// keeps the first it proves (deterministic, not necessarily the smallest). nullopt when budget_bytes <
// smallest_mix_bytes (the caller reports that size). Throws qs::Error for an empty group, a
// non-finite error or totals that overflow 64 bits.
// Optimal up to floating-point rounding: mixes whose errors differ by less than ~1e-11 of the
// summed error magnitude count as equal.
std::optional<MixSolution> optimize_mix(const std::vector<MixGroup> &groups, uint64_t budget_bytes,
                                        const MixOptimizerOptions &options = {});

// The seed's greedy method, kept for comparison: start every group at its least-error option (ties:
// fewest bytes), then repeatedly move the group whose step down to its next cheaper non-dominated
// option costs the least error per byte saved (ties: lowest group index), until the total fits.
// nullopt when budget_bytes < smallest_mix_bytes.
std::optional<MixSolution> greedy_mix(const std::vector<MixGroup> &groups, uint64_t budget_bytes);

// One point of a ParetoCurve after the first: one group moved to a larger option.
struct ParetoStep {
  int group = 0;       // the group that moved
  int option = 0;      // its new option (index into the group, as given)
  uint64_t bytes = 0;  // the mix's total bytes after the move
  double error = 0;    // the mix's total error after the move
};

// The lower convex hull of (total bytes, total error) over all mixes, from the smallest mix to the
// least-error mix (ties: fewest bytes). Every point is a Lagrangian point: it minimises
// error + lambda * bytes for some lambda >= 0, and so is exactly optimal at a budget of its own
// bytes. Stored as the first point's choice plus one step per further point, so 3000 groups x 24
// types cost at most 1.7 MB rather than 72k choice vectors. Bytes rise strictly and error falls
// from point to point (strictly, unless a step is below double resolution of the total); the error
// saved per byte never rises (convex).
struct ParetoCurve {
  std::vector<int> start_choice;  // point 0: per group its smallest option (least error among ties)
  uint64_t start_bytes = 0;
  double start_error = 0;
  std::vector<ParetoStep> steps;  // point i (i >= 1) is point i - 1 with steps[i - 1] applied

  size_t size() const { return steps.size() + 1; }
  uint64_t bytes_at(size_t point) const { return point == 0 ? start_bytes : steps.at(point - 1).bytes; }
  double error_at(size_t point) const { return point == 0 ? start_error : steps.at(point - 1).error; }
  // The full choice of a point (O(groups + point)).
  std::vector<int> choice_at(size_t point) const;
  // The last point with bytes <= budget_bytes; nullopt when even point 0 is larger.
  std::optional<size_t> last_point_within(uint64_t budget_bytes) const;
};

// Throws qs::Error as optimize_mix does.
ParetoCurve pareto_curve(const std::vector<MixGroup> &groups);

}  // namespace qs
