// The strategy API handlers: each reads its request, makes one library call (make_strategy, the
// strategy file functions, the recipe writer) and answers its JSON.
#include "server/api_strategy.h"

#include <regex>

#include "core/byte_size.h"
#include "measure/tensor_position.h"
#include "pipeline/make_strategy.h"
#include "pipeline/strategy_outcome_json.h"
#include "strategy/strategy_file.h"
#include "strategy/strategy_recipe.h"
#include "server/api_jobs.h"
#include "server/request_json.h"

namespace qs::server {
namespace {

std::optional<Metric> metric_named(const std::string &name, const std::string &field) {
  if (name.empty()) return std::nullopt;
  const MetricInfo *info = find_metric(name);
  if (!info) throw bad_request(field + ": '" + name + "' is not a measured column", field);
  return info->metric;
}

StrategySource job_source(const ServerContext &context, int64_t job) {
  StrategySource source;
  source.source = std::to_string(job);
  source.db = context.db_path.string();
  return source;
}

// "blk.3.attn_v.weight" -> "attn_v"; "token_embd.weight" -> "token_embd".
std::string tensor_kind(const std::string &name) {
  static const std::regex kBlock(R"(^blk\.\d+\.)");
  std::string kind = std::regex_replace(name, kBlock, "");
  if (kind.size() > 7 && kind.ends_with(".weight")) kind.resize(kind.size() - 7);
  return kind;
}

// min_type / max_type: a type name for every tensor, or {regex: type}.
std::vector<TypeRule> type_rules(const nlohmann::json &body, const std::string &field) {
  std::vector<TypeRule> rules;
  if (!body.contains(field) || body[field].is_null()) return rules;
  const nlohmann::json &value = body[field];
  if (value.is_string()) {
    rules.push_back(parse_type_rule(".*=" + value.get<std::string>(), field));
  } else if (value.is_object()) {
    for (const auto &[pattern, type] : value.items()) {
      if (!type.is_string()) throw bad_request(field + "." + pattern + " must be a type name", field);
      rules.push_back(parse_type_rule(pattern + "=" + type.get<std::string>(), field));
    }
  } else {
    throw bad_request(field + " must be a type name or an object {regex: type}", field);
  }
  return rules;
}

StrategyRequest strategy_request(const nlohmann::json &body) {
  StrategyRequest request;
  const auto budget = required_field<nlohmann::json>(body, "budget");
  if (!budget.is_object() || budget.size() != 1)
    throw bad_request("budget must be one of {target_bpw: X}, {size: \"4.2GiB\"}, {knee: true}", "budget");
  if (budget.contains("knee")) {
    request.method = StrategyMethod::knee;
  } else if (budget.contains("target_bpw")) {
    request.budget.target_bpw = required_field<double>(budget, "target_bpw");
  } else if (budget.contains("size")) {
    request.budget.size_bytes = parse_byte_size(required_field<std::string>(budget, "size"), "budget.size");
  } else {
    throw bad_request("budget must be one of {target_bpw: X}, {size: \"4.2GiB\"}, {knee: true}", "budget");
  }
  const auto pins = optional_field(body, "pins", nlohmann::json::object());
  if (!pins.is_object()) throw bad_request("pins must be an object {tensor: type}", "pins");
  for (const auto &[tensor, type] : pins.items()) {
    if (!type.is_string()) throw bad_request("pins." + tensor + " must be a type name", "pins");
    request.constraints.pins.push_back(exact_tensor_rule(tensor, quant_type_by_name(type.get<std::string>()), "pins"));
  }
  request.constraints.min_types = type_rules(body, "min_type");
  request.constraints.max_types = type_rules(body, "max_type");
  return request;
}

Strategy strategy_of_body(const nlohmann::json &body) {
  if (!body.contains("strategy") || !body["strategy"].is_object())
    throw bad_request("missing field 'strategy' (the strategy file's JSON)", "strategy");
  return strategy_from_json(nlohmann::ordered_json::parse(body["strategy"].dump()), "strategy");
}

}  // namespace

HttpResponse api_candidates(ServerContext &context, const HttpRequest &request) {
  const JobInfo job = job_of_route(context, request);
  StrategyRequest knee;
  knee.method = StrategyMethod::knee;
  const MadeStrategy made = make_strategy(job_source(context, job.id), knee, metric_named(request.query_param("metric"), "metric"));
  const int n_layer = static_cast<int>(made.inputs.model->config().num_hidden_layers);
  nlohmann::json tensors = nlohmann::json::array();
  for (const TensorCandidates &t : made.table.tensors) {
    nlohmann::json points = nlohmann::json::array();
    for (const Candidate &c : t.candidates)
      points.push_back({{"type", c.type->name}, {"bpw", c.bits}, {"bytes", c.bytes}, {"error", c.error},
                        {"measured", !c.predicted}});
    const StrategyTensor *chosen = made.outcome.strategy.find(t.tensor);
    tensors.push_back({{"name", t.tensor},
                       {"shape", t.shape},
                       {"params", t.params},
                       {"layer", tensor_first_layer(t.tensor, n_layer)},
                       {"kind", tensor_kind(t.tensor)},
                       {"points", points},
                       {"knee_type", chosen ? nlohmann::json(chosen->type) : nlohmann::json()}});
  }
  return HttpResponse::json({{"metric", metric_info(made.table.metric.metric).column}, {"tensors", tensors}});
}

HttpResponse api_pareto(ServerContext &context, const HttpRequest &request) {
  const JobInfo job = job_of_route(context, request);
  const MadeStrategy made = make_strategy(job_source(context, job.id), StrategyRequest{},
                                          metric_named(request.query_param("metric"), "metric"), false);
  nlohmann::json points = nlohmann::json::array();
  for (const ParetoPoint &p : made.outcome.pareto)
    points.push_back({{"bytes", p.tensor_bytes},
                      {"file_bytes", p.file_bytes ? nlohmann::json(*p.file_bytes) : nlohmann::json()},
                      {"bpw", p.bpw},
                      {"error", p.error}});
  return HttpResponse::json({{"metric", metric_info(made.table.metric.metric).column}, {"points", points}});
}

HttpResponse api_make_strategy(ServerContext &context, const HttpRequest &request) {
  const nlohmann::json body = parse_json_body(request);
  const auto job = required_field<int64_t>(body, "job");
  const StrategyRequest decide = strategy_request(body);
  const auto metric = metric_named(optional_field<std::string>(body, "metric", ""), "metric");
  if (!context.store.find_job(job)) throw not_found("no job " + std::to_string(job), "job");
  const MadeStrategy made = make_strategy(job_source(context, job), decide, metric);
  nlohmann::ordered_json summary = strategy_outcome_json(made.outcome, false);
  summary.erase("strategy");  // answered beside it
  return HttpResponse::ordered_json(
      nlohmann::ordered_json{{"strategy", strategy_to_json(made.outcome.strategy)}, {"summary", summary}});
}

HttpResponse api_strategy_totals(ServerContext &, const HttpRequest &request) {
  Strategy strategy = strategy_of_body(parse_json_body(request));
  recompute_totals(strategy);
  return HttpResponse::ordered_json(strategy_to_json(strategy));
}

HttpResponse api_save_strategy(ServerContext &context, const HttpRequest &request) {
  const nlohmann::json body = parse_json_body(request);
  const Strategy strategy = strategy_of_body(body);
  const auto path = context.guard.output(required_field<std::string>(body, "path"), "path",
                                         {strategy.model_source, strategy.source_path, context.db_path});
  strategy_format_for(path);  // .yaml, .yml or .json, before anything is written
  write_strategy(strategy, path);
  return HttpResponse::json({{"path", path.string()}});
}

HttpResponse api_read_strategy(ServerContext &context, const HttpRequest &request) {
  const auto path = context.guard.inside(request.query_param("path"), "path");
  if (!std::filesystem::is_regular_file(path)) throw not_found("path: no such file: " + path.string(), "path");
  return HttpResponse::ordered_json(strategy_to_json(read_strategy(path)));
}

HttpResponse api_strategy_recipe(ServerContext &, const HttpRequest &request) {
  const nlohmann::json body = parse_json_body(request);
  const Strategy strategy = strategy_of_body(body);
  const auto tool = required_field<std::string>(body, "tool");
  if (tool != "llama" && tool != "ik") throw bad_request("tool: '" + tool + "' is not llama or ik", "tool");
  return HttpResponse::json({{"text", strategy_recipe_text(strategy, tool == "llama" ? RecipeTool::llama : RecipeTool::ik)}});
}

}  // namespace qs::server
