// The creatable job kinds: download, measure, quantize and auto.
#include "server/job_creation.h"

#include "measure/measure_job.h"
#include "pipeline/auto_job.h"
#include "pipeline/download_job.h"
#include "pipeline/quantize_job.h"
#include "jobs/job_json.h"
#include "server/http_error.h"

namespace qs::server {
namespace {

// A path field of the params, confined to the roots and made absolute; empty stays empty when
// optional.
void confine_input(const PathGuard &guard, nlohmann::json &params, const char *name, bool required) {
  const std::string field = std::string("params.") + name;
  if (!params[name].is_string()) throw bad_request(field + " must be a string", field);
  const auto path = params[name].get<std::string>();
  if (path.empty() && !required) return;
  const auto resolved = guard.inside(path, field);
  if (!std::filesystem::exists(resolved)) throw bad_request(field + ": no such file: " + path, field);
  params[name] = resolved.string();
}

// An output path field: under a root, made absolute, and none of `inputs` (the params' input fields).
void confine_output(const PathGuard &guard, nlohmann::json &params, const char *name,
                    std::initializer_list<const char *> inputs) {
  const std::string field = std::string("params.") + name;
  if (!params[name].is_string()) throw bad_request(field + " must be a string", field);
  std::vector<std::filesystem::path> input_paths;
  for (const char *input : inputs) input_paths.emplace_back(params[input].get<std::string>());
  params[name] = guard.output(params[name].get<std::string>(), field, input_paths).string();
}

// A download lists the repo on the Hub now (401/403/404 come back as a 400 saying which).
CreatedJob create_download(JobStore &store, const PathGuard &, const nlohmann::json &given,
                           const std::string &hub_token) {
  const nlohmann::json defaults = {{"repo_id", ""}, {"revision", "main"}, {"include", nlohmann::json::array()},
                                   {"exclude", nlohmann::json::array()}};
  const nlohmann::json params = params_over_defaults(defaults, given);
  DownloadRequest request;
  request.repo_id = job_param<std::string>(params, "download", "repo_id");
  request.revision = job_param<std::string>(params, "download", "revision");
  request.include = job_param<std::vector<std::string>>(params, "download", "include");
  request.exclude = job_param<std::vector<std::string>>(params, "download", "exclude");
  if (request.repo_id.empty()) throw bad_request("params.repo_id: give the repo, e.g. Qwen/Qwen3-0.6B", "params.repo_id");
  request.validate();
  const DownloadJob job = create_download_job(store, request, hub_token);
  return {job.id, job.resumed};
}

CreatedJob create_measure(JobStore &store, const PathGuard &guard, const nlohmann::json &given, const std::string &) {
  nlohmann::json defaults = MeasureRequest().to_json();
  defaults["device"] = "auto";  // the layer and kld levels on the GPU when there is one, as on the CLI
  defaults["precision"] = "fp32";  // written by to_json only when tf32
  nlohmann::json params = params_over_defaults(defaults, given);
  confine_input(guard, params, "model", true);
  confine_input(guard, params, "text", false);
  confine_input(guard, params, "imatrix", false);
  const MeasureJob job = create_measure_job(store, MeasureRequest::from_json(params));
  return {job.id, job.resumed};
}

CreatedJob create_quantize(JobStore &store, const PathGuard &guard, const nlohmann::json &given, const std::string &) {
  nlohmann::json params = params_over_defaults(QuantizeRequest().to_json(), given);
  confine_input(guard, params, "model", true);
  confine_input(guard, params, "strategy", false);
  confine_input(guard, params, "imatrix", false);
  confine_output(guard, params, "output", {"model", "strategy", "imatrix"});
  const QuantizeJob job = create_quantize_job(store, QuantizeRequest::from_json(params));
  return {job.id, job.resumed};
}

CreatedJob create_auto(JobStore &store, const PathGuard &guard, const nlohmann::json &given, const std::string &) {
  nlohmann::json params = params_over_defaults(AutoRequest().to_json(), given);
  confine_input(guard, params, "model", true);
  confine_input(guard, params, "text", true);
  confine_input(guard, params, "eval_text", true);
  confine_output(guard, params, "out_dir", {"model", "text", "eval_text"});
  const AutoJob job = create_auto_job(store, AutoRequest::from_json(params));
  return {job.id, job.resumed};
}

constexpr CreatableJobKind kCreatableKinds[] = {
    {"download", create_download},
    {"measure", create_measure},
    {"auto", create_auto},
    {"quantize", create_quantize},
};

}  // namespace

std::span<const CreatableJobKind> creatable_job_kinds() { return kCreatableKinds; }

const CreatableJobKind *find_creatable_job_kind(std::string_view kind) {
  for (const auto &entry : kCreatableKinds)
    if (entry.kind == kind) return &entry;
  return nullptr;
}

nlohmann::json params_over_defaults(const nlohmann::json &defaults, const nlohmann::json &params) {
  if (!params.is_object()) throw bad_request("params must be a JSON object", "params");
  nlohmann::json merged = defaults;
  for (const auto &[key, value] : params.items()) {
    if (!defaults.contains(key)) throw bad_request("params." + key + ": not a parameter of this job kind", "params." + key);
    merged[key] = value;
  }
  return merged;
}

}  // namespace qs::server
