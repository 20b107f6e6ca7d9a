// `quantscope strategy <job-id|measurements.csv> (--knee | --target-bpw X | --size S | --gpu S --cpu S
// --cpu-tensors R | --bins SPEC) [--metric COLUMN] [--pareto] [--recipe llama|ik] -o s.yaml|s.json`:
// a type for every tensor from a measurement table, a summary, the strategy file; or a recipe of
// llama-quantize / ik_llama.cpp read back into a strategy (--import-recipe).
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "cli/db_option.h"
#include "convert/gguf_file_size.h"
#include "core/byte_size.h"
#include "core/error.h"
#include "core/output_path.h"
#include "core/progress.h"
#include "core/text_file.h"
#include "strategy/recipe.h"
#include "strategy/strategy_builder.h"
#include "strategy/strategy_file.h"
#include "pipeline/make_strategy.h"
#include "pipeline/strategy_outcome_json.h"
#include "strategy/strategy_recipe.h"

namespace qs::cli::strategy_command {
namespace {

struct Options {
  StrategySource source;
  std::string metric;
  bool knee = false;
  std::optional<double> target_bpw;
  std::string size, gpu, cpu, cpu_tensors;
  std::string bins;
  std::string method = "exact";
  KneeThresholds knee_thresholds;
  std::vector<std::string> pins, min_types, max_types;
  std::string output_type, token_embd_type;
  bool pareto = false;
  std::string recipe;           // llama | ik: print the recipe
  std::string recipe_out;
  std::string import_recipe;    // a recipe file to read back
  std::string precedence = "first";
  std::string default_type;
  std::string output;
  bool json = false;
};

std::optional<uint64_t> size_option(const std::string &text, const char *flag) {
  if (text.empty()) return std::nullopt;
  return parse_byte_size(text, flag);
}

RecipeTool recipe_tool(const std::string &name) {
  if (name == "llama") return RecipeTool::llama;
  if (name == "ik") return RecipeTool::ik;
  fail("--recipe: '", name, "' is not llama or ik");
}

int n_methods(const Options &o) {
  return (o.knee ? 1 : 0) + (o.bins.empty() ? 0 : 1) +
         (o.target_bpw || !o.size.empty() || !o.gpu.empty() || !o.cpu.empty() ? 1 : 0);
}

StrategyRequest request_from(const Options &o) {
  StrategyRequest r;
  if (n_methods(o) > 1) fail("choose one of --knee, --bins, or a budget (--target-bpw, --size, --gpu/--cpu)");
  if (n_methods(o) == 0 && !o.pareto)
    fail("choose how to decide: --knee, --target-bpw X, --size S, --gpu S --cpu S --cpu-tensors R, or --bins SPEC");
  if (o.method != "exact" && o.method != "greedy") fail("--method: '", o.method, "' is not exact or greedy");
  if (o.knee) r.method = StrategyMethod::knee;
  else if (!o.bins.empty()) r.method = StrategyMethod::bins;
  else r.method = o.method == "greedy" ? StrategyMethod::greedy : StrategyMethod::budget;
  r.budget.target_bpw = o.target_bpw;
  r.budget.size_bytes = size_option(o.size, "--size");
  r.budget.gpu_bytes = size_option(o.gpu, "--gpu");
  r.budget.cpu_bytes = size_option(o.cpu, "--cpu");
  r.budget.cpu_tensors = o.cpu_tensors;
  r.knee = o.knee_thresholds;
  r.bins = o.bins;
  for (const auto &p : o.pins) r.constraints.pins.push_back(parse_type_rule(p, "--pin"));
  if (!o.output_type.empty())
    r.constraints.pins.insert(r.constraints.pins.begin(),
                              exact_tensor_rule("output.weight", quant_type_by_name(o.output_type), "--output-type"));
  if (!o.token_embd_type.empty())
    r.constraints.pins.insert(r.constraints.pins.begin(), exact_tensor_rule("token_embd.weight",
                                                                            quant_type_by_name(o.token_embd_type),
                                                                            "--token-embd-type"));
  for (const auto &p : o.min_types) r.constraints.min_types.push_back(parse_type_rule(p, "--min-type"));
  for (const auto &p : o.max_types) r.constraints.max_types.push_back(parse_type_rule(p, "--max-type"));
  r.pareto = o.pareto;
  return r;
}

nlohmann::ordered_json outcome_json(const StrategyOutcome &outcome, const Options &o) {
  nlohmann::ordered_json j = strategy_outcome_json(outcome, o.pareto);
  if (!o.output.empty()) j["output"] = o.output;
  return j;
}

void print_pareto(const std::vector<ParetoPoint> &points) {
  std::printf("\nPareto curve: %zu points, each the least summed error for its size (every %zu-th shown):\n",
              points.size(), std::max<size_t>(1, points.size() / 20));
  std::printf("%14s %14s %8s %14s\n", "tensor bytes", "file bytes", "bpw", "error");
  const size_t stride = std::max<size_t>(1, points.size() / 20);
  for (size_t i = 0; i < points.size(); i += stride) {
    const ParetoPoint &p = points[i];
    std::printf("%14llu %14s %8.4f %14.6e\n", static_cast<unsigned long long>(p.tensor_bytes),
                p.file_bytes ? std::to_string(*p.file_bytes).c_str() : "-", p.bpw, p.error);
  }
}

void print_summary(const StrategyOutcome &outcome, const StrategyInputs &inputs) {
  const Strategy &s = outcome.strategy;
  const MetricSelection &m = outcome.metric;
  std::printf("strategy for %s from %s (%zu rows), metric %s%s: %lld measured, %lld predicted by the job's KLD "
              "predictor%s\n",
              s.model_source.c_str(),
              inputs.job ? cat("job ", *inputs.job).c_str() : inputs.source_path.c_str(), inputs.rows.size(),
              metric_info(m.metric).column, m.explicit_choice ? "" : " (default)",
              static_cast<long long>(m.n_measured), static_cast<long long>(m.n_predicted),
              m.n_without_value ? cat("; ", m.n_without_value, " rows without a value left out").c_str() : "");
  if (s.tensors.size() <= 120) {
    std::printf("\n%-32s %-8s %-7s %7s %12s\n", "tensor", "type", "reason", "bpw", "error");
    for (const StrategyTensor &t : s.tensors)
      std::printf("%-32s %-8s %-7s %7.4f %12s\n", t.name.c_str(), t.type.c_str(), choice_reason_name(t.reason),
                  t.bits, t.predicted ? cat(std::scientific, *t.predicted).c_str() : "-");
  }
  std::printf("\nmethod %s: %zu tensors, %s of tensor data, %.4f bits per weight", s.objective.method.c_str(),
              s.tensors.size(), format_bytes(s.totals.tensor_bytes).c_str(), s.totals.bpw);
  if (s.totals.file_bytes)
    std::printf(", file %llu bytes (%s)", static_cast<unsigned long long>(*s.totals.file_bytes),
                format_bytes(*s.totals.file_bytes).c_str());
  std::printf("\npredicted %s (sum over tensors): %s\n", s.objective.metric.c_str(),
              s.totals.predicted ? cat(std::scientific, *s.totals.predicted).c_str() : "- (a pin to an unmeasured type)");
  std::string counts;
  for (const auto &[type, n] : s.totals.count_per_type) counts += cat(counts.empty() ? "" : ", ", type, " x", n);
  std::printf("types: %s\n", counts.c_str());
  if (outcome.n_pinned) std::printf("pinned: %lld tensors\n", static_cast<long long>(outcome.n_pinned));
  for (const BudgetSolve &b : outcome.solves) {
    const double gap = b.error - b.lower_bound;
    std::printf("%s budget: %llu of %llu bytes used; error %.6e, Lagrangian bound %.6e (gap %.3g, %.4f %%)%s, %lld nodes",
                b.name.c_str(), static_cast<unsigned long long>(b.used_bytes),
                static_cast<unsigned long long>(b.budget_bytes), b.error, b.lower_bound, gap,
                b.error > 0 ? 100.0 * gap / b.error : 0.0, b.proven_optimal ? ", proven optimal" : "",
                static_cast<long long>(b.nodes));
    if (b.greedy_error && s.objective.method == "budget")
      std::printf("; greedy method: %.6e (%+.2f %%)", *b.greedy_error,
                  b.error > 0 ? 100.0 * (*b.greedy_error - b.error) / b.error : 0.0);
    std::printf("\n");
  }
  for (const auto &[rule, n] : outcome.knee_rules) std::printf("knee rule %s: %lld tensors\n", rule.c_str(), static_cast<long long>(n));
  if (outcome.raised_for_importance)
    std::printf("raised one step for importance: %lld tensors\n", static_cast<long long>(outcome.raised_for_importance));
  if (outcome.below_bin_minimum)
    std::printf("no measured type reached the bin's minimum (given the most bits measured): %lld tensors\n",
                static_cast<long long>(outcome.below_bin_minimum));
}

void print_or_write_recipe(const Strategy &strategy, const Options &o) {
  if (o.recipe.empty()) return;
  if (o.recipe_out.empty()) {
    if (!o.json) std::printf("\n%s", strategy_recipe_text(strategy, recipe_tool(o.recipe)).c_str());
    return;
  }
  write_file_atomically(o.recipe_out, strategy_recipe_file(strategy, recipe_tool(o.recipe)));
  if (!o.json) std::printf("wrote %s\n", o.recipe_out.c_str());
}

void run_import(const Options &o) {
  if (o.recipe.empty()) fail("--import-recipe needs --recipe llama|ik: which tool's rules the file holds");
  if (o.source.model.empty()) fail("--import-recipe needs --model: the model whose tensors the rules select");
  if (o.precedence != "first" && o.precedence != "last")
    fail("--recipe-precedence: '", o.precedence, "' is not first or last");
  for (const auto &[path, flag] : {std::pair{o.output, "-o"}, std::pair{o.recipe_out, "--recipe-out"}})
    refuse_output_over_inputs(path, flag, {o.import_recipe, o.source.model});
  const std::string text = read_text_file(o.import_recipe, 64u << 20, "a recipe");
  const auto model = ModelSource::open(o.source.model);
  RecipeStrategyRequest request;
  request.tool = recipe_tool(o.recipe);
  request.precedence = o.precedence == "last" ? RulePrecedence::last_match : RulePrecedence::first_match;
  request.default_type = o.default_type;
  request.recipe_path = std::filesystem::absolute(o.import_recipe).string();
  Strategy strategy = strategy_from_recipe(*model, o.source.model, text, request);
  strategy.fixed_bytes = fixed_gguf_bytes(*model);
  recompute_totals(strategy);
  if (!o.output.empty()) write_strategy(strategy, o.output);
  if (o.json) {
    nlohmann::ordered_json j = {{"strategy", strategy_to_json(strategy)}};
    if (!o.output.empty()) j["output"] = o.output;
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::string counts;
  for (const auto &[type, n] : strategy.totals.count_per_type) counts += cat(counts.empty() ? "" : ", ", type, " x", n);
  std::printf("recipe %s: %zu tensors, %.4f bits per weight, file %llu bytes; types: %s\n", o.import_recipe.c_str(),
              strategy.tensors.size(), strategy.totals.bpw,
              static_cast<unsigned long long>(strategy.totals.file_bytes.value_or(0)), counts.c_str());
  if (!o.output.empty()) std::printf("wrote %s\n", o.output.c_str());
}

void run_strategy(const Options &o) {
  if (!o.import_recipe.empty()) return run_import(o);
  if (o.source.source.empty()) fail("a job id or a measurements CSV is required (or --import-recipe)");
  std::optional<Metric> metric;
  if (!o.metric.empty()) {
    const MetricInfo *info = find_metric(o.metric);
    if (!info) {
      std::string known;
      for (const auto &mi : all_metrics()) known += cat(known.empty() ? "" : ", ", mi.column);
      fail("--metric: '", o.metric, "' is not a measured column (", known, ")");
    }
    metric = info->metric;
  }
  // Everything the flags say is checked before the model and the table are read.
  const StrategyRequest request = request_from(o);
  const bool decide = n_methods(o) > 0;  // --pareto alone: the curve, no strategy
  const MadeStrategy made = make_strategy(o.source, request, metric, decide);
  const StrategyInputs &inputs = made.inputs;
  const StrategyOutcome &outcome = made.outcome;
  for (const auto &[path, flag] : {std::pair{o.output, "-o"}, std::pair{o.recipe_out, "--recipe-out"}})
    refuse_output_over_inputs(path, flag, {inputs.source_path, inputs.model_source, o.source.imatrix});
  if (!decide) {
    if (o.json) std::printf("%s\n", nlohmann::ordered_json{{"pareto", pareto_json(outcome.pareto)}}.dump(2).c_str());
    else print_pareto(outcome.pareto);
    return;
  }

  if (!o.output.empty()) write_strategy(outcome.strategy, o.output);
  if (o.json) {
    std::printf("%s\n", outcome_json(outcome, o).dump(2).c_str());
  } else {
    print_summary(outcome, inputs);
    if (o.pareto) print_pareto(outcome.pareto);
    if (!o.output.empty()) std::printf("wrote %s\n", o.output.c_str());
  }
  print_or_write_recipe(outcome.strategy, o);
}

const CommandRegistration registration{48, [](CLI::App &app) {
  auto *cmd = app.add_subcommand(
      "strategy",
      "Choose a type for every tensor from a measurement table: the knee of each tensor's error curve, the least "
      "summed error for a size budget (exact), or importance bins; write it as YAML/JSON, or as a llama-quantize / "
      "ik_llama.cpp recipe");
  auto o = std::make_shared<Options>();
  auto db = std::make_shared<std::string>();
  cmd->add_option("source", o->source.source, "A measure/import job id, or a measurements CSV (`jobs export`)");
  cmd->add_option("--model", o->source.model, "The model the table measured (default: the job's); needed for a CSV");
  cmd->add_option("--imatrix", o->source.imatrix, "Importance matrix for --bins and the knee's importance step "
                                                  "(default: the job's)");
  cmd->add_option("--metric", o->metric, "The metric column to minimise (default: kld, measured or predicted by "
                                         "the job's predictor; else layer_error, weighted_relative_mse, relative_mse)");
  cmd->add_flag("--knee", o->knee, "Per tensor, the type just above where its error curve bends most");
  cmd->add_option("--target-bpw", o->target_bpw, "Budget: average bits per weight over the table's tensors");
  cmd->add_option("--size", o->size, "Budget: the whole output GGUF file (4718592000, 4500MB, 4.2GiB)");
  cmd->add_option("--gpu", o->gpu, "Two budgets: bytes for the file minus --cpu-tensors");
  cmd->add_option("--cpu", o->cpu, "Two budgets: bytes for the tensors matching --cpu-tensors");
  cmd->add_option("--cpu-tensors", o->cpu_tensors, "Regex of the tensors kept in system memory (e.g. 'ffn_.*_exps')");
  cmd->add_option("--bins", o->bins, "Importance bins: 'PERCENTILE:MIN_TYPE,...' e.g. '90:Q6_K,50:Q5_K,0:Q4_K'");
  cmd->add_option("--method", o->method, "Budget solver: exact (multiple-choice knapsack, proven optimal) or greedy "
                                         "(the seed's method, for comparison)")
      ->capture_default_str();
  cmd->add_option("--knee-relative", o->knee_thresholds.relative, "Knee: least growth factor of the log-error slope "
                                                                  "that counts as a bend")
      ->capture_default_str();
  cmd->add_option("--knee-absolute", o->knee_thresholds.absolute, "Knee: errors at or below this are free (the "
                                                                  "cheapest such type wins; scaled down for important "
                                                                  "tensors; 0: off)")
      ->capture_default_str();
  cmd->add_option("--knee-flat", o->knee_thresholds.flat_factor, "Knee: without a bend, the cheapest type within "
                                                                 "this factor of the best error")
      ->capture_default_str();
  cmd->add_option("--knee-important", o->knee_thresholds.important_cut,
                  "Knee: tensors at or above this importance percentile (0..1) get one step more bits (>1: off)")
      ->capture_default_str();
  cmd->add_option("--pin", o->pins, "REGEX=TYPE: matching tensors get TYPE (repeatable; the first match wins)");
  cmd->add_option("--min-type", o->min_types, "REGEX=TYPE: matching tensors get at least TYPE's bits (repeatable)");
  cmd->add_option("--max-type", o->max_types, "REGEX=TYPE: matching tensors get at most TYPE's bits (repeatable)");
  cmd->add_option("--output-type", o->output_type, "Pin output.weight to this type");
  cmd->add_option("--token-embd-type", o->token_embd_type, "Pin token_embd.weight to this type");
  cmd->add_flag("--pareto", o->pareto, "Also give the Pareto curve: the least error for every size, from the "
                                       "smallest mix to the largest");
  cmd->add_option("--recipe", o->recipe, "Print the strategy as a recipe of llama.cpp's llama-quantize (llama) or "
                                         "ik_llama.cpp's (ik); with --import-recipe: the tool the file is for");
  cmd->add_option("--recipe-out", o->recipe_out, "Write the recipe to this file instead of printing it");
  cmd->add_option("--import-recipe", o->import_recipe, "Read a recipe (--recipe llama|ik) back into a strategy, "
                                                       "as the tool would apply it to --model");
  cmd->add_option("--recipe-precedence", o->precedence, "llama recipes: first (llama.cpp since 2026) or last "
                                                        "(2025 releases) matching rule wins")
      ->capture_default_str();
  cmd->add_option("--default-type", o->default_type, "With --import-recipe: the type of tensors no rule matches "
                                                     "(default: an error naming them)");
  cmd->add_option("-o,--output", o->output, "Write the strategy (.yaml, .yml or .json)");
  cmd->add_flag("--json", o->json, "Print the outcome as JSON");
  add_db_option(cmd, db);
  cmd->callback([o, db] {
    o->source.db = *db;
    run_strategy(*o);
  });
}};

}  // namespace
}  // namespace qs::cli::strategy_command
