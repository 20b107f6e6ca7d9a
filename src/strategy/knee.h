// The knee rule of the strategy step ("per tensor, find where the error curve bends most and choose
// the type just above it"): a pure function from one tensor's measured error curve to one type.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qs {

// One measured type of one tensor.
struct CurvePoint {
  std::string type;   // quant type name, carried for display only
  double bits = 0;    // bits per weight, > 0
  double error = 0;   // the metric's value for the tensor in this type (KLD, MSE, ...), >= 0
};

// The thresholds of one run; the same for every tensor.
struct KneeThresholds {
  // A bend counts as a knee only if the slope of ln(error) at least grows by this factor
  // (slope below >= relative * slope above). >= 1.
  double relative = 2.0;
  // Errors at or below this are free: the choice drops to the cheapest frontier type under it
  // when that is cheaper. 0 turns the rule off. Scaled by (1 - importance) per tensor.
  double absolute = 0.0;
  // With no knee: the cheapest frontier type whose error is at most this factor times the
  // error of the most accurate measured type. >= 1.
  double flat_factor = 10.0;
  // Tensors whose importance is at or above this get one frontier step more bits (0.9: the
  // top tenth of the model's tensors). Above 1 turns the rule off.
  double important_cut = 0.9;
};

// What decided a choice (before the importance step, which KneeChoice flags on its own).
enum class KneeRule {
  single,    // one type was measured
  dominant,  // the cheapest measured type is also the most accurate: nothing to trade
  knee,      // the sharpest bend that reached the relative threshold
  flat,      // no bend reached it: the cheapest type within flat_factor of the best
  absolute,  // a cheaper type was within the absolute threshold
};
const char *knee_rule_name(KneeRule rule);  // "single", "dominant", "knee", "flat", "absolute"

struct KneeChoice {
  size_t chosen = 0;  // index into the input curve
  KneeRule rule = KneeRule::single;
  bool raised_for_importance = false;  // moved one frontier step up (more bits) for importance
  // The non-dominated points (input indices), most bits first: error strictly grows along it.
  std::vector<size_t> frontier;
  // slopes[i]: growth of ln(error) per bit removed between frontier[i] and frontier[i + 1].
  // Always > 0, since errors strictly grow along the frontier.
  std::vector<double> slopes;
  // The input index of the knee when a bend reached the relative threshold, even if the
  // absolute or importance rule then moved the choice (the GUI marks it on the curve).
  std::optional<size_t> knee;
  // What a zero error counts as on the log scale: a tenth of the frontier's smallest positive
  // error (0 when the frontier has no zero error).
  double zero_error_as = 0;
};

// Chooses the type of one tensor from its curve (any order, at least one point). importance is
// the tensor's imatrix importance percentile among the model's tensors, in [0, 1].
//
// 1. Sort by bits and drop dominated points: a point is dropped when another has no more bits
//    and no more error (ties on both keep the first listed). This drops measurement noise where
//    a bigger type measured worse, which would otherwise look like a sharp bend.
// 2. Work on ln(error): errors span decades (KLD 1e-6 at Q8_0, 1e-1 at IQ1_S), and what
//    matters is the relative growth per bit removed. A zero error (below what the metric
//    resolves) counts as a tenth of the smallest positive error of the frontier: one decade
//    better, not infinitely better, and still a multiple of the curve's own scale, so
//    multiplying every error by a constant changes nothing (an absolute floor would).
// 3. Stepping down from the most bits, slope s_i = (ln e_lower - ln e_upper) / (bits_upper -
//    bits_lower). A frontier point with slopes on both sides is a candidate when s_below >=
//    relative * s_above; the knee is the candidate whose slope grows most (largest s_below -
//    s_above; ties go to the one with more bits), and the choice is the knee point itself: the
//    cheapest type before the error starts to climb fast. The ratio only qualifies: it blows up
//    where the slope above is near zero (a plateau of noise), so a tiny wiggle would beat a real
//    bend; the difference is the change of direction the eye sees on the log plot. Both the
//    qualification and the ranking are unchanged when errors are scaled (ln shifts) or raised
//    to a power (RMSE vs MSE: every slope scales alike).
// 4. No candidate (a straight or noisy line in log space, or only two frontier points): the
//    cheapest frontier type whose error (zero counted as in 2) is within flat_factor of the
//    frontier's best.
// 5. Absolute: when the cheapest frontier type with error <= absolute * (1 - importance) is
//    cheaper than the choice so far, it wins. It can only lower the choice, never raise it.
// 6. Importance: when importance >= important_cut, the choice moves one frontier step up.
//    Together with the scaled absolute threshold this makes an important tensor's choice
//    never cheaper than the same curve's with lower importance.
//
// Throws qs::Error naming the tensor for an empty curve, a point with bits <= 0 or a negative
// or non-finite error, an importance outside [0, 1] or a threshold outside its range.
KneeChoice choose_knee(std::string_view tensor, std::span<const CurvePoint> curve, double importance,
                       const KneeThresholds &thresholds = {});

}  // namespace qs
