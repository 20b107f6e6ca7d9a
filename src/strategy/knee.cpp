// The knee rule: dominance filter, log-slope bends, then the flat, absolute and importance rules
// (the order and the reasons are in knee.h).
#include "strategy/knee.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace qs {
namespace {

void check_inputs(std::string_view tensor, std::span<const CurvePoint> curve, double importance,
                  const KneeThresholds &t) {
  if (curve.empty()) fail("knee of ", tensor, ": no measured types");
  for (const auto &p : curve) {
    if (!std::isfinite(p.bits) || p.bits <= 0)
      fail("knee of ", tensor, ": type ", p.type, " has ", p.bits, " bits per weight (expected > 0)");
    if (!std::isfinite(p.error) || p.error < 0)
      fail("knee of ", tensor, ": type ", p.type, " has error ", p.error, " (expected a finite value >= 0)");
  }
  if (!std::isfinite(importance) || importance < 0 || importance > 1)
    fail("knee of ", tensor, ": importance ", importance, " is outside [0, 1]");
  if (!std::isfinite(t.relative) || t.relative < 1)
    fail("knee: relative threshold ", t.relative, " must be >= 1");
  if (!std::isfinite(t.absolute) || t.absolute < 0)
    fail("knee: absolute threshold ", t.absolute, " must be >= 0");
  if (!std::isfinite(t.flat_factor) || t.flat_factor < 1)
    fail("knee: flat factor ", t.flat_factor, " must be >= 1");
  if (std::isnan(t.important_cut) || t.important_cut < 0)
    fail("knee: importance cut ", t.important_cut, " must be >= 0");
}

// Input indices of the non-dominated points, most bits first.
std::vector<size_t> pareto_frontier(std::span<const CurvePoint> curve) {
  std::vector<size_t> order(curve.size());
  std::iota(order.begin(), order.end(), size_t{0});
  // Stable, so that of two identical points the first listed survives.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (curve[a].bits != curve[b].bits) return curve[a].bits < curve[b].bits;
    return curve[a].error < curve[b].error;
  });
  std::vector<size_t> frontier;
  double least_error_so_far = std::numeric_limits<double>::infinity();
  for (size_t i : order) {
    if (curve[i].error < least_error_so_far) {
      frontier.push_back(i);
      least_error_so_far = curve[i].error;
    }
  }
  std::reverse(frontier.begin(), frontier.end());
  return frontier;
}

// Frontier position of the sharpest qualifying bend, if any.
std::optional<size_t> find_knee(const std::vector<double> &slopes, double relative) {
  std::optional<size_t> knee;
  double largest_growth = 0;
  for (size_t j = 1; j < slopes.size(); ++j) {
    const double above = slopes[j - 1], below = slopes[j];
    if (below < relative * above) continue;
    // Strictly greater: on a tie the earlier point (more bits) stays, the safer choice.
    if (below - above > largest_growth) {
      largest_growth = below - above;
      knee = j;
    }
  }
  return knee;
}

// The last (cheapest) frontier position whose error is <= limit; errors grow along the frontier.
std::optional<size_t> cheapest_within(const std::vector<double> &frontier_errors, double limit) {
  std::optional<size_t> found;
  for (size_t j = 0; j < frontier_errors.size() && frontier_errors[j] <= limit; ++j) found = j;
  return found;
}

}  // namespace

const char *knee_rule_name(KneeRule rule) {
  switch (rule) {
    case KneeRule::single: return "single";
    case KneeRule::dominant: return "dominant";
    case KneeRule::knee: return "knee";
    case KneeRule::flat: return "flat";
    case KneeRule::absolute: return "absolute";
  }
  return "?";
}

KneeChoice choose_knee(std::string_view tensor, std::span<const CurvePoint> curve, double importance,
                       const KneeThresholds &thresholds) {
  check_inputs(tensor, curve, importance, thresholds);
  KneeChoice choice;
  choice.frontier = pareto_frontier(curve);
  const std::vector<size_t> &frontier = choice.frontier;
  if (curve.size() == 1 || frontier.size() == 1) {
    choice.chosen = frontier.front();
    choice.rule = curve.size() == 1 ? KneeRule::single : KneeRule::dominant;
    return choice;
  }

  // Only the most accurate frontier point can be zero (errors strictly grow along it), so the
  // smallest positive error is the next one.
  std::vector<double> errors;  // raw, per frontier position
  for (size_t i : frontier) errors.push_back(curve[i].error);
  if (errors[0] == 0) choice.zero_error_as = errors[1] / 10;
  std::vector<double> floored_errors, log_errors;
  for (double e : errors) {
    floored_errors.push_back(e == 0 ? choice.zero_error_as : e);
    log_errors.push_back(std::log(floored_errors.back()));
  }
  for (size_t j = 0; j + 1 < frontier.size(); ++j) {
    const double bits_removed = curve[frontier[j]].bits - curve[frontier[j + 1]].bits;
    choice.slopes.push_back((log_errors[j + 1] - log_errors[j]) / bits_removed);
  }

  size_t position;
  if (const auto knee = find_knee(choice.slopes, thresholds.relative)) {
    position = *knee;
    choice.knee = frontier[*knee];
    choice.rule = KneeRule::knee;
  } else {
    // Floored errors, so that a zero best error does not make every other type infinitely worse.
    const double limit = thresholds.flat_factor * floored_errors[0];
    position = cheapest_within(floored_errors, limit).value_or(0);
    choice.rule = KneeRule::flat;
  }

  const double free_error = thresholds.absolute * (1 - importance);
  if (free_error > 0) {
    const auto free_position = cheapest_within(errors, free_error);
    if (free_position && *free_position > position) {
      position = *free_position;
      choice.rule = KneeRule::absolute;
    }
  }

  if (importance >= thresholds.important_cut && position > 0) {
    --position;
    choice.raised_for_importance = true;
  }
  choice.chosen = frontier[position];
  return choice;
}

}  // namespace qs
