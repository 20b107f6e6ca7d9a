// From measurement rows to a strategy: the metric chosen for the table, the user's constraints,
// and each method's choice, checked against hand-computed values and an exhaustive search.
#include <gtest/gtest.h>

#include <cmath>

#include "formats/gguf.h"
#include "strategy/candidate_table.h"
#include "strategy/strategy_builder.h"
#include "strategy/type_constraints.h"
#include "test_support.h"

namespace qs::strategy_builder_test {
namespace {

MeasurementRow row(const std::string &tensor, const std::string &type, std::optional<double> kld,
                   std::optional<double> layer) {
  MeasurementRow r;
  r.tensor = tensor;
  r.type = type;
  r.bits = quant_type_by_name(type).bits_per_weight();
  r.set(Metric::kld, kld).set(Metric::layer_error, layer);
  return r;
}

// Two 256-wide tensors and a 96-wide one (only 32-value blocks fit its rows).
std::vector<TensorShape> shapes() {
  return {{"blk.0.attn_q.weight", {256, 64}}, {"blk.0.ffn_down.weight", {256, 128}}, {"output.weight", {96, 32}}};
}

std::vector<MeasurementRow> measured_rows() {
  return {
      row("blk.0.attn_q.weight", "Q8_0", 1e-5, 1e-4),  row("blk.0.attn_q.weight", "Q4_K", 2e-4, 2e-3),
      row("blk.0.attn_q.weight", "Q2_K", 3e-3, 3e-2),  row("blk.0.ffn_down.weight", "Q8_0", 2e-5, 1e-4),
      row("blk.0.ffn_down.weight", "Q4_K", 1e-3, 2e-3), row("blk.0.ffn_down.weight", "Q2_K", 9e-3, 3e-2),
      row("output.weight", "Q8_0", 4e-5, 1e-4),        row("output.weight", "Q4_0", 5e-4, 2e-3),
  };
}

TEST(CandidateTable, KldIsTheDefaultAndMissingValuesArePredictedFromTheTensorsOwnFit) {
  auto rows = measured_rows();
  // A row with only a layer_error: its KLD comes from the fit through the tensor's two measured rows.
  rows.push_back(row("output.weight", "Q5_0", std::nullopt, 1e-3));
  const CandidateTable table = build_candidate_table(rows, shapes(), std::nullopt);
  EXPECT_EQ(table.metric.metric, Metric::kld);
  EXPECT_FALSE(table.metric.explicit_choice);
  EXPECT_EQ(table.metric.n_measured, 8);
  EXPECT_EQ(table.metric.n_predicted, 1);
  const TensorCandidates *out = table.find("output.weight");
  ASSERT_NE(out, nullptr);
  ASSERT_EQ(out->candidates.size(), 3u);
  // Most bits first: Q8_0 (8.5), Q5_0 (5.5), Q4_0 (4.5).
  EXPECT_STREQ(out->candidates[1].type->name, "Q5_0");
  EXPECT_TRUE(out->candidates[1].predicted);
  // Least squares of ln kld on ln x through (1e-4, 4e-5) and (2e-3, 5e-4): b = ln(12.5)/ln(20) = 0.8431,
  // inside [0.5, 2]; at x = 1e-3: kld = 4e-5 * 10^b.
  const double b = std::log(12.5) / std::log(20.0);
  EXPECT_NEAR(out->candidates[1].error, 4e-5 * std::pow(10.0, b), 1e-12);
  // Bytes from the shape: 32 rows x 3 blocks of 32 x 22 bytes (Q5_0).
  EXPECT_EQ(out->candidates[1].bytes, 32u * 3u * 22u);
}

TEST(CandidateTable, AnotherMetricOnRequestOrWhenNoRowHasKld) {
  const CandidateTable layer = build_candidate_table(measured_rows(), shapes(), Metric::layer_error);
  EXPECT_EQ(layer.metric.metric, Metric::layer_error);
  EXPECT_TRUE(layer.metric.explicit_choice);
  EXPECT_DOUBLE_EQ(layer.find("blk.0.attn_q.weight")->candidates[2].error, 3e-2);

  auto rows = measured_rows();
  for (auto &r : rows) r.set(Metric::kld, std::nullopt);
  EXPECT_EQ(default_strategy_metric(rows), Metric::layer_error);
  rows.push_back(row("blk.0.attn_q.weight", "Q6_K", std::nullopt, std::nullopt));
  const CandidateTable t = build_candidate_table(rows, shapes(), std::nullopt);
  EXPECT_EQ(t.metric.n_without_value, 1);  // the Q6_K row has no layer_error: not a candidate
  EXPECT_EQ(t.find("blk.0.attn_q.weight")->candidates.size(), 3u);
}

TEST(CandidateTable, RefusesRowsThatCannotBelongToTheModel) {
  auto rows = measured_rows();
  rows.push_back(row("output.weight", "Q4_K", 1e-3, 1e-2));
  test::expect_error_containing([&] { build_candidate_table(rows, shapes(), std::nullopt); },
                                {"output.weight", "Q4_K", "96 values long"});
  rows = measured_rows();
  rows.push_back(row("blk.9.attn_q.weight", "Q4_K", 1e-3, 1e-2));
  test::expect_error_containing([&] { build_candidate_table(rows, shapes(), std::nullopt); },
                                {"blk.9.attn_q.weight", "no quantizable tensor"});
  auto missing_shapes = shapes();
  missing_shapes.push_back({"blk.0.attn_k.weight", {256, 32}});
  test::expect_error_containing([&] { build_candidate_table(measured_rows(), missing_shapes, std::nullopt); },
                                {"blk.0.attn_k.weight", "at least one measured type"});
  rows = measured_rows();
  rows.push_back(rows.front());
  test::expect_error_containing([&] { build_candidate_table(rows, shapes(), std::nullopt); },
                                {"two rows", "blk.0.attn_q.weight", "Q8_0"});
}

TEST(TypeConstraints, PinsFloorsAndCeilings) {
  const CandidateTable table = build_candidate_table(measured_rows(), shapes(), std::nullopt);
  TypeConstraints c;
  c.pins.push_back(parse_type_rule("attn_q=Q6_K", "--pin"));     // not measured: bytes from the shape
  c.pins.push_back(parse_type_rule("blk\\.0\\.=Q2_K", "--pin"));  // the first matching pin wins
  c.min_types.push_back(parse_type_rule("output=Q5_0", "--min-type"));
  const auto constrained = apply_type_constraints(table, c);
  ASSERT_TRUE(constrained[0].pinned);
  EXPECT_STREQ(constrained[0].pinned->type->name, "Q6_K");
  EXPECT_FALSE(constrained[0].pinned_measured);
  EXPECT_EQ(constrained[0].pinned->bytes, 64u * 210u);  // 64 rows x one 256-block of 210 bytes
  EXPECT_STREQ(constrained[1].pinned->type->name, "Q2_K");
  EXPECT_TRUE(constrained[1].pinned_measured);
  ASSERT_FALSE(constrained[2].pinned);
  ASSERT_EQ(constrained[2].allowed.size(), 1u);  // Q4_0 (4.5 bits) is under the Q5_0 floor (5.5)
  EXPECT_STREQ(constrained[2].allowed[0].type->name, "Q8_0");

  TypeConstraints ceiling;
  ceiling.max_types.push_back(parse_type_rule("output=Q4_0", "--max-type"));
  EXPECT_STREQ(apply_type_constraints(table, ceiling)[2].allowed[0].type->name, "Q4_0");
}

TEST(TypeConstraints, ErrorsNameTheRule) {
  const CandidateTable table = build_candidate_table(measured_rows(), shapes(), std::nullopt);
  test::expect_error_containing([] { parse_type_rule("attn_q", "--pin"); }, {"--pin", "REGEX=TYPE"});
  test::expect_error_containing([] { parse_type_rule("attn_(q=Q4_K", "--pin"); }, {"--pin", "bad regular expression"});
  test::expect_error_containing([] { parse_type_rule("attn_q=Q9_K", "--min-type"); }, {"--min-type", "Q9_K"});
  TypeConstraints pin_not_allowed;
  pin_not_allowed.pins.push_back(parse_type_rule("output=Q4_K", "--pin"));
  test::expect_error_containing([&] { apply_type_constraints(table, pin_not_allowed); }, {"output.weight", "Q4_K"});
  TypeConstraints unused;
  unused.max_types.push_back(parse_type_rule("attn_k=Q4_K", "--max-type"));
  test::expect_error_containing([&] { apply_type_constraints(table, unused); }, {"attn_k", "matches no"});
  TypeConstraints empty;
  empty.min_types.push_back(parse_type_rule("ffn_down=F16", "--min-type"));
  test::expect_error_containing([&] { apply_type_constraints(table, empty); }, {"blk.0.ffn_down.weight", "no measured type"});
}

// Every mix of the table within `budget` (bytes as the solver counts them), by enumeration.
double brute_force_least_error(const CandidateTable &table, uint64_t budget, bool padded) {
  double best = INFINITY;
  const auto &t = table.tensors;
  for (const auto &a : t[0].candidates)
    for (const auto &b : t[1].candidates)
      for (const auto &c : t[2].candidates) {
        const auto w = [&](const Candidate &x) { return padded ? gguf::padded_bytes(x.bytes) : x.bytes; };
        if (w(a) + w(b) + w(c) <= budget) best = std::min(best, a.error + b.error + c.error);
      }
  return best;
}

TEST(StrategyBuilder, BudgetsMatchExhaustiveSearch) {
  const CandidateTable table = build_candidate_table(measured_rows(), shapes(), std::nullopt);
  StrategyContext context;
  context.model_source = "/models/m";
  context.architecture = "llama";
  context.fixed_bytes = 5000;
  const int64_t params = 256 * 64 + 256 * 128 + 96 * 32;
  for (double bpw : {3.0, 4.0, 4.6, 5.0, 6.0, 8.5}) {
    StrategyRequest request;
    request.budget.target_bpw = bpw;
    const StrategyOutcome out = build_strategy(table, request, context);
    const auto budget = static_cast<uint64_t>(bpw * params / 8.0);
    EXPECT_LE(out.strategy.totals.tensor_bytes, budget) << bpw;
    EXPECT_NEAR(*out.strategy.totals.predicted, brute_force_least_error(table, budget, false), 1e-15) << bpw;
    ASSERT_EQ(out.solves.size(), 1u);
    EXPECT_TRUE(out.solves[0].proven_optimal);
    EXPECT_LE(out.solves[0].lower_bound, out.solves[0].error + 1e-18);
    EXPECT_GE(*out.solves[0].greedy_error, out.solves[0].error - 1e-18);
    for (const auto &t : out.strategy.tensors) EXPECT_EQ(t.reason, ChoiceReason::budget);
  }
  for (uint64_t size : {23000ull, 30000ull, 40000ull, 70000ull}) {
    StrategyRequest request;
    request.budget.size_bytes = size;
    const StrategyOutcome out = build_strategy(table, request, context);
    ASSERT_TRUE(out.strategy.totals.file_bytes);
    EXPECT_LE(*out.strategy.totals.file_bytes, size);
    EXPECT_NEAR(*out.strategy.totals.predicted, brute_force_least_error(table, size - 5000, true), 1e-15) << size;
  }
}

TEST(StrategyBuilder, InfeasibleBudgetNamesTheSmallestSize) {
  const CandidateTable table = build_candidate_table(measured_rows(), shapes(), std::nullopt);
  StrategyContext context;
  context.fixed_bytes = 5000;
  StrategyRequest request;
  request.budget.size_bytes = 10000;
  // Smallest: 5000 + Q2_K 64 x 84 + Q2_K 128 x 84 + Q4_0 32 x 3 x 18 (all multiples of 32 once padded).
  const uint64_t smallest = 5000 + 5376 + 10752 + gguf::padded_bytes(1728);
  test::expect_error_containing([&] { build_strategy(table, request, context); },
                                {"size budget", "10000 bytes", cat(smallest, " bytes")});
  request.budget.size_bytes.reset();
  request.budget.target_bpw = 1.0;
  test::expect_error_containing([&] { build_strategy(table, request, context); }, {"below the smallest mix"});
  StrategyContext no_model;
  request.budget.target_bpw.reset();
  request.budget.size_bytes = 1'000'000;
  test::expect_error_containing([&] { build_strategy(table, request, no_model); }, {"--model"});
}

TEST(StrategyBuilder, TwoBudgetsEachHoldTheirTensors) {
  const CandidateTable table = build_candidate_table(measured_rows(), shapes(), std::nullopt);
  StrategyContext context;
  context.fixed_bytes = 1000;
  StrategyRequest request;
  request.budget.cpu_tensors = "ffn_down";
  request.budget.cpu_bytes = 128 * 144;          // ffn_down fits Q4_K, not Q8_0
  request.budget.gpu_bytes = 1000 + 64 * 272 + 32 * 3 * 34;  // the rest fits Q8_0 exactly
  const StrategyOutcome out = build_strategy(table, request, context);
  ASSERT_EQ(out.solves.size(), 2u);
  EXPECT_EQ(out.strategy.find("blk.0.ffn_down.weight")->type, "Q4_K");
  EXPECT_EQ(out.strategy.find("blk.0.attn_q.weight")->type, "Q8_0");
  EXPECT_EQ(out.strategy.find("output.weight")->type, "Q8_0");
  request.budget.cpu_tensors = "nothing_like_this";
  test::expect_error_containing([&] { build_strategy(table, request, context); }, {"--cpu-tensors", "matches no"});
}

TEST(StrategyBuilder, KneeBinsGreedyAndPareto) {
  // A curve with a clear knee at Q4_K: ln-slope 0.2/bit above, 2/bit below.
  std::vector<MeasurementRow> rows;
  for (const auto &[type, bits] : std::vector<std::pair<std::string, double>>{{"Q8_0", 8.5}, {"Q6_K", 6.5625},
                                                                            {"Q4_K", 4.5}, {"Q2_K", 2.625}}) {
    const double ln_error = bits >= 4.5 ? -10 - 0.2 * (bits - 4.5) : -10 + 2.0 * (4.5 - bits);
    rows.push_back(row("blk.0.attn_q.weight", type, std::exp(ln_error), 1.0));
    rows.push_back(row("blk.0.ffn_down.weight", type, std::exp(ln_error), 1.0));
  }
  rows.push_back(row("output.weight", "Q8_0", 1e-6, 1.0));
  rows.push_back(row("output.weight", "Q4_0", 1e-3, 1.0));
  const CandidateTable table = build_candidate_table(rows, shapes(), std::nullopt);
  StrategyContext context;
  context.fixed_bytes = 0;

  StrategyRequest knee;
  knee.method = StrategyMethod::knee;
  const StrategyOutcome k = build_strategy(table, knee, context);
  EXPECT_EQ(k.strategy.find("blk.0.attn_q.weight")->type, "Q4_K");
  EXPECT_EQ(k.strategy.find("blk.0.attn_q.weight")->reason, ChoiceReason::knee);
  EXPECT_EQ(k.knee_rules.at("knee"), 2);

  StrategyRequest bins;
  bins.method = StrategyMethod::bins;
  bins.bins = "50:Q6_K,0:Q2_K";
  bins.importance = {{"blk.0.attn_q.weight", 3.0}, {"blk.0.ffn_down.weight", 1.0}, {"output.weight", 2.0}};
  const StrategyOutcome b = build_strategy(table, bins, context);
  EXPECT_EQ(b.strategy.find("blk.0.attn_q.weight")->type, "Q6_K");   // percentile 100
  EXPECT_EQ(b.strategy.find("output.weight")->type, "Q8_0");          // 50: needs >= 6.5625 bits
  EXPECT_EQ(b.strategy.find("blk.0.ffn_down.weight")->type, "Q2_K");  // 0
  EXPECT_EQ(b.strategy.find("blk.0.ffn_down.weight")->reason, ChoiceReason::bin);
  bins.importance.clear();
  test::expect_error_containing([&] { build_strategy(table, bins, context); }, {"--bins", "imatrix"});

  StrategyRequest greedy;
  greedy.method = StrategyMethod::greedy;
  greedy.budget.target_bpw = 4.0;
  greedy.pareto = true;
  const StrategyOutcome g = build_strategy(table, greedy, context);
  EXPECT_FALSE(g.solves.at(0).proven_optimal);
  EXPECT_EQ(g.strategy.objective.method, "greedy");
  // The curve runs from the smallest mix to the least-error mix, bytes up and error down.
  ASSERT_GE(g.pareto.size(), 2u);
  for (size_t i = 1; i < g.pareto.size(); ++i) {
    EXPECT_GT(g.pareto[i].tensor_bytes, g.pareto[i - 1].tensor_bytes);
    EXPECT_LT(g.pareto[i].error, g.pareto[i - 1].error);
  }
  EXPECT_EQ(g.pareto.front().tensor_bytes, 64u * 84 + 128u * 84 + 32u * 3 * 18);
  EXPECT_NEAR(g.pareto.back().error, 2 * std::exp(-10 - 0.2 * 4.0) + 1e-6, 1e-15);
  ASSERT_TRUE(g.pareto.back().file_bytes);
  EXPECT_EQ(*g.pareto.back().file_bytes, 64u * 272 + 128u * 272 + gguf::padded_bytes(32u * 3 * 34));
}

}  // namespace
}  // namespace qs::strategy_builder_test
