// Loading a strategy's inputs from a job or a CSV.
#include "strategy/strategy_inputs.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/error.h"
#include "formats/imatrix.h"
#include "jobs/job_store.h"
#include "jobs/measurements_csv.h"
#include "model/quantizable_tensors.h"
#include "strategy/tensor_importance.h"

namespace qs {

namespace {

bool is_job_id(const std::string &text) {
  return !text.empty() && text.size() < 19 &&
         std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

StrategyInputs load_strategy_inputs(const StrategySource &source) {
  StrategyInputs in;
  std::string job_model, job_imatrix;
  if (is_job_id(source.source) && !std::filesystem::exists(source.source)) {
    const auto db_path = resolve_job_database_path(source.db);
    if (!std::filesystem::exists(db_path)) fail("no job database at ", db_path.string(), " (job ", source.source, ")");
    JobStore store(db_path);
    in.job = std::stoll(source.source);
    const JobInfo job = store.job(*in.job);
    in.rows = store.measurements(*in.job);
    if (in.rows.empty()) fail("job ", *in.job, " (", job.kind, ", ", job_state_name(job.state), ") has no measurements yet");
    if (job.params.contains("model") && job.params["model"].is_string()) job_model = job.params["model"];
    if (job.params.contains("imatrix") && job.params["imatrix"].is_string()) job_imatrix = job.params["imatrix"];
    in.source_path = std::filesystem::absolute(db_path).string();
  } else {
    if (!std::filesystem::exists(source.source))
      fail("'", source.source, "' is neither a job id nor a measurements CSV file");
    for (auto &sourced : read_measurements_csv(source.source)) in.rows.push_back(std::move(sourced.row));
    if (in.rows.empty()) fail(source.source, ": no measurement rows");
    in.source_path = std::filesystem::absolute(source.source).string();
  }

  in.model_source = source.model.empty() ? job_model : source.model;
  if (in.model_source.empty())
    fail("the strategy needs the model the measurements were made on (its tensor shapes and file size): pass --model");
  in.model = ModelSource::open(in.model_source);
  in.tensors = quantizable_tensor_shapes(*in.model);

  const std::string imatrix_path = source.imatrix.empty() ? job_imatrix : source.imatrix;
  if (!imatrix_path.empty()) {
    std::vector<std::string> names;
    for (const auto &t : in.tensors) names.push_back(t.name);
    in.importance = imatrix_tensor_importance(read_imatrix(imatrix_path), names);
  }
  return in;
}

}  // namespace qs
