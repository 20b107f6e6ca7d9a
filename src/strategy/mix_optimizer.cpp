// The multiple-choice knapsack behind the budget step (mix_optimizer.h). The exact method:
// 1. per group, the non-dominated options and their lower convex hull;
// 2. the LP relaxation, solved by taking hull steps in order of error saved per byte: it gives the
//    dual price lambda, the LP lower bound, and (taking every later step that still fits) a first mix;
// 3. reduced-cost fixing: for any mix x, error(x) >= L(lambda) + sum over groups of the reduced cost
//    of x's option, so an option whose reduced cost exceeds error(incumbent) - L(lambda) is in no
//    better mix; on realistic instances (bench/strategy_optimizer_bench.cpp) 65-97 % of the groups
//    keep a single option and are fixed;
// 4. dynamic programming over the groups left with several options: states (bytes, error) of the
//    groups decided so far, dominated states dropped, each state pruned by its error plus the LP
//    bound of the groups still open.
// Why DP rather than depth-first branch and bound: tensors share shapes, so many partial mixes reach
// the same byte total; the DP keeps the best one where a tree search would explore each again, and
// its work is bounded by the number of distinct byte totals rather than by 2^groups.
#include "strategy/mix_optimizer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <queue>

#include "core/error.h"

namespace qs {
namespace {

// Bounds, prices and running sums: x86's 64-bit mantissa keeps price * bytes exact enough for byte
// counts near 2^64, and the sums of thousands of errors accurate to well under the tolerance below.
using Real = long double;

// Mixes whose errors differ by less than this fraction of the problem's error magnitude count as
// equal: the bounds are sums of thousands of rounded terms, so a strict comparison would either
// prune the optimum or chase rounding noise.
constexpr Real kRelativeTolerance = 1e-11L;

void check_groups(const std::vector<MixGroup> &groups) {
  uint64_t largest_total = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].empty()) fail("mix optimizer: tensor group ", g, " has no candidate types");
    if (groups[g].size() > static_cast<size_t>(std::numeric_limits<int>::max()))
      fail("mix optimizer: tensor group ", g, " has ", groups[g].size(), " candidate types");
    uint64_t group_largest = 0;
    for (size_t j = 0; j < groups[g].size(); ++j) {
      if (!std::isfinite(groups[g][j].error))
        fail("mix optimizer: tensor group ", g, " option ", j, " has a non-finite error (", groups[g][j].error, ")");
      group_largest = std::max(group_largest, groups[g][j].bytes);
    }
    if (__builtin_add_overflow(largest_total, group_largest, &largest_total))
      fail("mix optimizer: the largest mix of ", groups.size(), " tensor groups overflows 64-bit byte counts");
  }
}

// Error saved per byte spent moving from `from` to `to` (more bytes, less error).
Real saving_per_byte(const MixOption &from, const MixOption &to) {
  return (static_cast<Real>(from.error) - static_cast<Real>(to.error)) / static_cast<Real>(to.bytes - from.bytes);
}

// The options no other option beats: bytes strictly ascending, error strictly descending. Among
// equal bytes the least error survives, among equal errors the fewest bytes, then the lowest index.
std::vector<int> nondominated_options(const MixGroup &group) {
  std::vector<int> order(group.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    if (group[a].bytes != group[b].bytes) return group[a].bytes < group[b].bytes;
    if (group[a].error != group[b].error) return group[a].error < group[b].error;
    return a < b;
  });
  std::vector<int> kept;
  for (const int j : order)
    if (kept.empty() || group[j].error < group[kept.back()].error) kept.push_back(j);
  return kept;
}

// The lower convex hull of `options` (non-dominated, bytes ascending). Collinear points stay: each
// is a Lagrangian point too. The test compares consecutive savings exactly as the LP later sorts
// them, so a group's steps come out in order whatever rounding does.
std::vector<int> lower_hull(const MixGroup &group, const std::vector<int> &options) {
  std::vector<int> hull;
  for (const int j : options) {
    while (hull.size() >= 2 && saving_per_byte(group[hull[hull.size() - 2]], group[hull.back()]) <
                                   saving_per_byte(group[hull.back()], group[j]))
      hull.pop_back();
    hull.push_back(j);
  }
  return hull;
}

// One move along a group's hull, from hull[step] to hull[step + 1].
struct HullStep {
  int group = 0;
  int step = 0;
  int to_option = 0;   // hull[step + 1], as an index into the group
  uint64_t bytes = 0;  // bytes added (> 0)
  Real error = 0;      // error added (< 0)
  Real saving = 0;     // -error / bytes
};

// The steps of the listed groups' hulls, most error saved per byte first. Ties go to the lower group
// and then the lower step, so each group's steps stay in hull order and the order is total.
std::vector<HullStep> sorted_steps(const std::vector<MixGroup> &groups, const std::vector<std::vector<int>> &hulls,
                                   const std::vector<int> &group_ids) {
  std::vector<HullStep> steps;
  for (const int g : group_ids) {
    const auto &hull = hulls[g];
    for (size_t k = 0; k + 1 < hull.size(); ++k) {
      const MixOption &from = groups[g][hull[k]], &to = groups[g][hull[k + 1]];
      steps.push_back({g, static_cast<int>(k), hull[k + 1], to.bytes - from.bytes,
                       static_cast<Real>(to.error) - static_cast<Real>(from.error), saving_per_byte(from, to)});
    }
  }
  std::sort(steps.begin(), steps.end(), [](const HullStep &a, const HullStep &b) {
    if (a.saving != b.saving) return a.saving > b.saving;
    if (a.group != b.group) return a.group < b.group;
    return a.step < b.step;
  });
  return steps;
}

// Everything the LP relaxation needs, independent of the budget.
struct Relaxation {
  std::vector<std::vector<int>> options;  // per group: non-dominated options, bytes ascending
  std::vector<std::vector<int>> hulls;    // per group: their lower convex hull
  std::vector<HullStep> steps;            // all hull steps, most error saved per byte first
};

Relaxation relax(const std::vector<MixGroup> &groups) {
  Relaxation r;
  std::vector<int> all(groups.size());
  std::iota(all.begin(), all.end(), 0);
  for (const auto &group : groups) {
    r.options.push_back(nondominated_options(group));
    r.hulls.push_back(lower_hull(group, r.options.back()));
  }
  r.steps = sorted_steps(groups, r.hulls, all);
  return r;
}

uint64_t mix_bytes(const std::vector<MixGroup> &groups, const std::vector<int> &choice) {
  uint64_t bytes = 0;
  for (size_t g = 0; g < groups.size(); ++g) bytes += groups[g][choice[g]].bytes;
  return bytes;
}

Real mix_error(const std::vector<MixGroup> &groups, const std::vector<int> &choice) {
  Real error = 0;
  for (size_t g = 0; g < groups.size(); ++g) error += groups[g][choice[g]].error;
  return error;
}

MixSolution make_solution(const std::vector<MixGroup> &groups, std::vector<int> choice) {
  MixSolution s;
  s.bytes = mix_bytes(groups, choice);
  s.error = static_cast<double>(mix_error(groups, choice));
  s.choice = std::move(choice);
  return s;
}

// The LP relaxation at one budget (which is at least the smallest mix).
struct LpSolution {
  std::vector<int> choice;  // a feasible mix: every step taken, in order, that still fitted
  Real bound = 0;           // the LP optimum: a lower bound on every mix's error
  Real price = 0;           // lambda: the saving per byte of the first step that did not fit; 0 if all fit
  bool all_fit = false;     // the least-error mix fits: it is the optimum
};

LpSolution solve_lp(const std::vector<MixGroup> &groups, const Relaxation &r, uint64_t budget_bytes) {
  std::vector<int> position(groups.size(), 0);
  uint64_t bytes = 0;
  Real error = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    bytes += groups[g][r.hulls[g][0]].bytes;
    error += groups[g][r.hulls[g][0]].error;
  }
  LpSolution lp;
  bool blocked = false;
  for (const HullStep &s : r.steps) {
    if (position[s.group] != s.step) continue;  // an earlier step of this group did not fit
    if (s.bytes <= budget_bytes - bytes) {
      bytes += s.bytes;
      error += s.error;
      position[s.group] = s.step + 1;
    } else if (!blocked) {
      // The LP takes this step fractionally; everything before it was taken whole.
      blocked = true;
      lp.price = s.saving;
      lp.bound = error + s.error * static_cast<Real>(budget_bytes - bytes) / static_cast<Real>(s.bytes);
    }
  }
  lp.all_fit = !blocked;
  if (!blocked) lp.bound = error;
  lp.choice.resize(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) lp.choice[g] = r.hulls[g][position[g]];
  return lp;
}

// The LP bound of a set of open groups as a function of the bytes left for them.
struct OpenBound {
  uint64_t base_bytes = 0;              // every open group at its smallest remaining option
  Real base_error = 0;
  std::vector<const HullStep *> steps;  // their hull steps, in LP order
  std::vector<uint64_t> prefix_bytes;   // prefix_bytes[k]: bytes of the first k steps
  std::vector<Real> prefix_error;

  // Index of the last prefix that fits in bytes_left (>= base_bytes).
  size_t whole_steps(uint64_t bytes_left) const {
    const uint64_t room = bytes_left - base_bytes;
    return static_cast<size_t>(std::upper_bound(prefix_bytes.begin(), prefix_bytes.end(), room) - prefix_bytes.begin()) - 1;
  }
  // Least error of the open groups' LP relaxation with bytes_left (>= base_bytes).
  Real lp(uint64_t bytes_left) const {
    const size_t k = whole_steps(bytes_left);
    Real error = base_error + prefix_error[k];
    if (k < steps.size())
      error += steps[k]->error * static_cast<Real>(bytes_left - base_bytes - prefix_bytes[k]) / static_cast<Real>(steps[k]->bytes);
    return error;
  }
  // Error of the mix that takes the first whole_steps(bytes_left) steps: feasible, so an upper bound.
  Real integer_error(uint64_t bytes_left) const { return base_error + prefix_error[whole_steps(bytes_left)]; }
};

// The exact search (steps 3 and 4 of the file comment), started from the LP's mix.
class ExactSearch {
 public:
  ExactSearch(const std::vector<MixGroup> &groups, const Relaxation &r, uint64_t budget_bytes, const LpSolution &lp,
              int64_t max_nodes)
      : groups_(groups), budget_bytes_(budget_bytes), max_nodes_(max_nodes), incumbent_(lp.choice),
        incumbent_error_(mix_error(groups, lp.choice)) {
    fix_options(r, lp);
  }

  MixSolution run(Real lp_bound) {
    const bool finished = search();
    MixSolution s = make_solution(groups_, incumbent_);
    const Real bound = finished ? lp_bound : std::max(lp_bound, search_bound_);
    s.lower_bound = std::min(static_cast<double>(bound), s.error);
    s.proven_optimal = finished;
    s.nodes = nodes_;
    return s;
  }

 private:
  // Step 3: keeps in survivors_ only the options whose reduced cost at the LP price leaves room to beat
  // the incumbent; groups left with one are fixed, the rest are searched.
  void fix_options(const Relaxation &r, const LpSolution &lp) {
    const size_t n = groups_.size();
    Real lagrangian = -lp.price * static_cast<Real>(budget_bytes_), scale = lp.price * static_cast<Real>(budget_bytes_);
    std::vector<Real> least_priced(n);
    for (size_t g = 0; g < n; ++g) {
      least_priced[g] = std::numeric_limits<Real>::infinity();
      Real largest_error = 0;
      for (const int j : r.options[g]) {
        least_priced[g] = std::min(least_priced[g], priced(g, j, lp.price));
        largest_error = std::max(largest_error, std::fabs(static_cast<Real>(groups_[g][j].error)));
      }
      lagrangian += least_priced[g];
      scale += largest_error;
    }
    tolerance_ = kRelativeTolerance * scale;
    const Real room = incumbent_error_ - lagrangian + tolerance_;
    survivors_.resize(n);
    choice_base_.resize(n);
    for (size_t g = 0; g < n; ++g) {
      for (const int j : r.options[g])
        if (priced(g, j, lp.price) - least_priced[g] <= room || j == incumbent_[g]) survivors_[g].push_back(j);
      choice_base_[g] = survivors_[g][0];
      if (survivors_[g].size() == 1) {
        fixed_bytes_ += groups_[g][survivors_[g][0]].bytes;
        fixed_error_ += groups_[g][survivors_[g][0]].error;
      } else {
        open_.push_back(static_cast<int>(g));
      }
    }
    // Stage order: the dearest cheapest deviation from the Lagrangian choice first. Those groups
    // rarely survive the bound in more than one option, so the state list stays short while they are
    // decided; the near-ties, which make it grow, come last, where the open LP bound is tightest.
    // (Against group order this cut the nodes of 760 realistic instances by 2-3x.)
    std::vector<Real> dearest(n, 0);
    for (const int g : open_) {
      dearest[g] = std::numeric_limits<Real>::infinity();
      for (const int j : survivors_[g]) {
        const Real reduced_cost = priced(g, j, lp.price) - least_priced[g];
        if (reduced_cost > 0) dearest[g] = std::min(dearest[g], reduced_cost);
      }
    }
    std::stable_sort(open_.begin(), open_.end(), [&](int a, int b) { return dearest[a] > dearest[b]; });
    std::vector<std::vector<int>> hulls(n);
    for (const int g : open_) hulls[g] = lower_hull(groups_[g], survivors_[g]);
    open_steps_ = sorted_steps(groups_, hulls, open_);
    stage_of_.assign(n, -1);
    for (size_t s = 0; s < open_.size(); ++s) stage_of_[open_[s]] = static_cast<int>(s);
  }

  Real priced(size_t g, int j, Real price) const {
    return static_cast<Real>(groups_[g][j].error) + price * static_cast<Real>(groups_[g][j].bytes);
  }

  // The LP bound of the groups decided at stage `first` or later.
  OpenBound open_bound_from(size_t first) const {
    OpenBound b;
    for (size_t s = first; s < open_.size(); ++s) {
      b.base_bytes += groups_[open_[s]][survivors_[open_[s]][0]].bytes;
      b.base_error += groups_[open_[s]][survivors_[open_[s]][0]].error;
    }
    b.prefix_bytes.push_back(0);
    b.prefix_error.push_back(0);
    for (const HullStep &step : open_steps_) {
      if (static_cast<size_t>(stage_of_[step.group]) < first) continue;
      b.steps.push_back(&step);
      b.prefix_bytes.push_back(b.prefix_bytes.back() + step.bytes);
      b.prefix_error.push_back(b.prefix_error.back() + step.error);
    }
    return b;
  }

  // A partial mix: the open groups of the stages done so far. States of a stage are kept with bytes
  // strictly ascending and error strictly descending (the others are dominated).
  struct State {
    uint64_t bytes = 0;  // of the open groups decided so far
    double error = 0;
  };
  // How a state was reached: its state in the previous stage and the option (index into survivors_).
  struct Trace {
    uint32_t parent = 0;
    uint32_t option = 0;
  };

  // The states of one stage, with how each was reached and its bound.
  struct Stage {
    std::vector<State> states;
    std::vector<Trace> trace;
    std::vector<Real> bounds;  // the state's error + the fixed groups' + the LP bound of the open rest
  };

  // Step 4. Returns false when max_nodes stopped it (search_bound_ then holds what it proved).
  bool search() {
    const uint64_t open_budget = budget_bytes_ - fixed_bytes_;
    Stage current{{State{}}, {}, {fixed_error_ + open_bound_from(0).lp(open_budget)}};
    std::vector<std::vector<Trace>> traces;  // per stage done, for the way back to a full mix
    for (size_t stage = 0; stage < open_.size() && !current.states.empty(); ++stage) {
      const size_t work = current.states.size() * survivors_[open_[stage]].size();
      if (static_cast<uint64_t>(nodes_) + work > static_cast<uint64_t>(max_nodes_)) {
        // Every pruned state was bounded by the incumbent; the live ones by their bounds.
        search_bound_ = std::min(incumbent_error_ - tolerance_, *std::min_element(current.bounds.begin(), current.bounds.end()));
        return false;
      }
      const OpenBound rest = open_bound_from(stage + 1);
      Stage next = expand(stage, current.states, rest, open_budget);
      improve_incumbent(stage, next, traces, rest, open_budget);
      drop_ruled_out(next);
      traces.push_back(std::move(next.trace));
      current = std::move(next);
    }
    return true;
  }

  // Decides open group open_[stage] for every state. Merges the states shifted by each option (each
  // shift is sorted by bytes) in (bytes, error, option) order, so that a new state is dominated
  // exactly when its error is no lower than the least error merged before it.
  Stage expand(size_t stage, const std::vector<State> &states, const OpenBound &rest, uint64_t open_budget) {
    const int g = open_[stage];
    const auto &options = survivors_[g];
    Stage next;
    std::vector<size_t> cursor(options.size(), 0);
    double least_error = std::numeric_limits<double>::infinity();
    for (;;) {
      int pick = -1;
      uint64_t pick_bytes = 0;
      double pick_error = 0;
      for (size_t j = 0; j < options.size(); ++j) {
        if (cursor[j] == states.size()) continue;
        const MixOption &o = groups_[g][options[j]];
        const uint64_t bytes = states[cursor[j]].bytes + o.bytes;
        if (bytes > open_budget || open_budget - bytes < rest.base_bytes) {
          cursor[j] = states.size();  // the rest of this shift is larger still
          continue;
        }
        const double error = states[cursor[j]].error + o.error;
        if (pick < 0 || bytes < pick_bytes || (bytes == pick_bytes && error < pick_error)) {
          pick = static_cast<int>(j);
          pick_bytes = bytes;
          pick_error = error;
        }
      }
      if (pick < 0) break;
      const uint32_t parent = static_cast<uint32_t>(cursor[pick]++);
      ++nodes_;
      if (pick_error >= least_error) continue;  // dominated
      least_error = pick_error;
      const Real bound = fixed_error_ + pick_error + rest.lp(open_budget - pick_bytes);
      if (bound >= incumbent_error_ - tolerance_) continue;
      next.states.push_back({pick_bytes, pick_error});
      next.trace.push_back({parent, static_cast<uint32_t>(pick)});
      next.bounds.push_back(bound);
    }
    return next;
  }

  // Drops the states that a better incumbent, found after they were made, now rules out.
  void drop_ruled_out(Stage &stage) const {
    size_t kept = 0;
    for (size_t i = 0; i < stage.states.size(); ++i) {
      if (stage.bounds[i] >= incumbent_error_ - tolerance_) continue;
      stage.states[kept] = stage.states[i];
      stage.trace[kept] = stage.trace[i];
      stage.bounds[kept] = stage.bounds[i];
      ++kept;
    }
    stage.states.resize(kept);
    stage.trace.resize(kept);
    stage.bounds.resize(kept);
  }

  // Completes each state with the LP's whole steps of the open groups left; the best completion
  // becomes the incumbent if it beats it. At the last stage the completion is the state itself.
  // `earlier` holds the traces of the stages before `stage`.
  void improve_incumbent(size_t stage, const Stage &next, const std::vector<std::vector<Trace>> &earlier,
                         const OpenBound &rest, uint64_t open_budget) {
    const auto &states = next.states;
    size_t best = states.size();
    Real best_error = incumbent_error_ - tolerance_;
    for (size_t i = 0; i < states.size(); ++i) {
      const Real error = fixed_error_ + states[i].error + rest.integer_error(open_budget - states[i].bytes);
      if (error < best_error) {
        best = i;
        best_error = error;
      }
    }
    if (best == states.size()) return;
    std::vector<int> choice = choice_base_;
    Trace t = next.trace[best];
    for (size_t s = stage + 1; s-- > 0;) {
      choice[open_[s]] = survivors_[open_[s]][t.option];
      if (s > 0) t = earlier[s - 1][t.parent];
    }
    const size_t whole = rest.whole_steps(open_budget - states[best].bytes);
    for (size_t k = 0; k < whole; ++k) choice[rest.steps[k]->group] = rest.steps[k]->to_option;
    // Judged by its own sum, not the estimate, so that rounding can never make the incumbent worse.
    const Real error = mix_error(groups_, choice);
    if (error < incumbent_error_) {
      incumbent_ = std::move(choice);
      incumbent_error_ = error;
    }
  }

  const std::vector<MixGroup> &groups_;
  uint64_t budget_bytes_;
  int64_t max_nodes_;
  std::vector<int> incumbent_;  // the best mix so far
  Real incumbent_error_;
  Real tolerance_ = 0;
  Real search_bound_ = 0;  // when stopped early: the least bound of any state still open
  int64_t nodes_ = 0;

  std::vector<std::vector<int>> survivors_;  // per group: options that may beat the incumbent, bytes ascending
  std::vector<int> choice_base_;             // per group: its smallest survivor
  uint64_t fixed_bytes_ = 0;                 // the groups with one survivor
  Real fixed_error_ = 0;
  std::vector<int> open_;                    // the groups with several survivors, in stage order
  std::vector<int> stage_of_;                // per group: its stage, -1 if fixed
  std::vector<HullStep> open_steps_;         // the open groups' survivor hull steps, in LP order
};

}  // namespace

uint64_t smallest_mix_bytes(const std::vector<MixGroup> &groups) {
  check_groups(groups);
  uint64_t bytes = 0;
  for (const auto &group : groups)
    bytes += std::min_element(group.begin(), group.end(), [](auto &a, auto &b) { return a.bytes < b.bytes; })->bytes;
  return bytes;
}

uint64_t largest_mix_bytes(const std::vector<MixGroup> &groups) {
  check_groups(groups);
  uint64_t bytes = 0;
  for (const auto &group : groups)
    bytes += std::max_element(group.begin(), group.end(), [](auto &a, auto &b) { return a.bytes < b.bytes; })->bytes;
  return bytes;
}

std::optional<MixSolution> optimize_mix(const std::vector<MixGroup> &groups, uint64_t budget_bytes,
                                        const MixOptimizerOptions &options) {
  if (budget_bytes < smallest_mix_bytes(groups)) return std::nullopt;
  const Relaxation r = relax(groups);
  const LpSolution lp = solve_lp(groups, r, budget_bytes);
  if (lp.all_fit) {
    MixSolution s = make_solution(groups, lp.choice);
    s.lower_bound = std::min(static_cast<double>(lp.bound), s.error);
    s.proven_optimal = true;
    return s;
  }
  // States are indexed with 32 bits.
  const int64_t max_nodes = std::clamp<int64_t>(options.max_nodes, 0, std::numeric_limits<uint32_t>::max());
  return ExactSearch(groups, r, budget_bytes, lp, max_nodes).run(lp.bound);
}

std::optional<MixSolution> greedy_mix(const std::vector<MixGroup> &groups, uint64_t budget_bytes) {
  if (budget_bytes < smallest_mix_bytes(groups)) return std::nullopt;
  const Relaxation r = relax(groups);
  std::vector<int> position(groups.size());
  std::vector<int> choice(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) {
    position[g] = static_cast<int>(r.options[g].size()) - 1;
    choice[g] = r.options[g].back();
  }
  // A step down: the group and the error it adds per byte it saves.
  struct Move {
    Real cost;
    int group;
  };
  auto later = [](const Move &a, const Move &b) { return a.cost != b.cost ? a.cost > b.cost : a.group > b.group; };
  std::priority_queue<Move, std::vector<Move>, decltype(later)> moves(later);
  auto push_move = [&](int g) {
    if (position[g] == 0) return;
    const MixOption &from = groups[g][r.options[g][position[g]]], &to = groups[g][r.options[g][position[g] - 1]];
    moves.push({saving_per_byte(to, from), g});
  };
  for (size_t g = 0; g < groups.size(); ++g) push_move(static_cast<int>(g));
  uint64_t bytes = mix_bytes(groups, choice);
  int64_t n_moves = 0;
  while (bytes > budget_bytes) {
    const int g = moves.top().group;  // never empty here: the smallest mix fits
    moves.pop();
    bytes -= groups[g][choice[g]].bytes;
    choice[g] = r.options[g][--position[g]];
    bytes += groups[g][choice[g]].bytes;
    ++n_moves;
    push_move(g);
  }
  MixSolution s = make_solution(groups, std::move(choice));
  s.lower_bound = std::min(static_cast<double>(solve_lp(groups, r, budget_bytes).bound), s.error);
  s.nodes = n_moves;
  return s;
}

std::vector<int> ParetoCurve::choice_at(size_t point) const {
  if (point >= size()) fail("pareto curve: point ", point, " of ", size());
  std::vector<int> choice = start_choice;
  for (size_t i = 0; i < point; ++i) choice[steps[i].group] = steps[i].option;
  return choice;
}

std::optional<size_t> ParetoCurve::last_point_within(uint64_t budget_bytes) const {
  if (start_bytes > budget_bytes) return std::nullopt;
  const auto it = std::upper_bound(steps.begin(), steps.end(), budget_bytes,
                                   [](uint64_t budget, const ParetoStep &s) { return budget < s.bytes; });
  return static_cast<size_t>(it - steps.begin());
}

ParetoCurve pareto_curve(const std::vector<MixGroup> &groups) {
  check_groups(groups);
  const Relaxation r = relax(groups);
  ParetoCurve curve;
  curve.start_choice.resize(groups.size());
  for (size_t g = 0; g < groups.size(); ++g) curve.start_choice[g] = r.hulls[g][0];
  curve.start_bytes = mix_bytes(groups, curve.start_choice);
  Real error = mix_error(groups, curve.start_choice);
  curve.start_error = static_cast<double>(error);
  uint64_t bytes = curve.start_bytes;
  curve.steps.reserve(r.steps.size());
  // Taking the steps in LP order visits every vertex of the hull (and the collinear points between):
  // after k steps the mix minimises error + lambda * bytes for lambda between the k-th and the
  // (k+1)-th step's saving.
  for (const HullStep &s : r.steps) {
    bytes += s.bytes;
    error += s.error;
    curve.steps.push_back({s.group, s.to_option, bytes, static_cast<double>(error)});
  }
  return curve;
}

}  // namespace qs
