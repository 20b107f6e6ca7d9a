// The quantize job: units "tensor:<name>" in the model's order, then "file".
#include "pipeline/quantize_job.h"

#include <memory>
#include <set>

#include "core/error.h"

namespace qs {
namespace {

constexpr const char *kFileUnit = "file";
constexpr std::string_view kTensorUnitPrefix = "tensor:";

std::string tensor_unit(const std::string &name) { return std::string(kTensorUnitPrefix) + name; }

std::vector<std::string> quantize_units(const ModelSource &model) {
  std::vector<std::string> units;
  for (const auto &t : model.tensors()) units.push_back(tensor_unit(t.name));
  units.push_back(kFileUnit);
  return units;
}

}  // namespace

QuantizeJob create_quantize_job(JobStore &store, QuantizeRequest request) {
  request.validate_and_resolve();
  const QuantizeSetup setup = prepare_quantize(request);  // fails now, not in the first unit
  QuantizeJob job;
  job.units_total = static_cast<int64_t>(quantize_units(*setup.model).size());
  job.dominant_type = setup.dominant_type;
  for (const auto &t : setup.plan.tensors)
    if (t.fell_back) job.fallbacks.push_back(t);
  const PlanSize size = plan_size(*setup.model, setup.plan);
  job.report = {size.bytes, size.params, setup.plan.n_fallbacks()};

  const nlohmann::json params = request.to_json();
  if (const auto unfinished = find_unfinished_job(store, "quantize", params)) {
    store.resume_job(*unfinished);
    job.id = *unfinished;
    job.resumed = true;
  } else {
    job.id = store.create_job("quantize", params, job.units_total);
  }
  return job;
}

RunOutcome run_quantize_job(JobStore &store, int64_t job_id, const RunOptions &options, int n_threads) {
  const JobInfo job = store.job(job_id);
  if (job.kind != "quantize") fail("job ", job_id, " is a ", job.kind, " job, not a quantize job");
  const QuantizeRequest request = QuantizeRequest::from_json(job.params);
  const QuantizeSetup setup = prepare_quantize(request);
  const std::vector<std::string> units = quantize_units(*setup.model);
  std::unique_ptr<GgufExport> out;

  RunOptions run_options = options;
  run_options.prepare = [&](ProgressSink &progress) {
    if (options.prepare) options.prepare(progress);
    ExportOptions export_options;
    export_options.metadata = setup.metadata;
    export_options.imatrix = setup.imatrix ? &*setup.imatrix : nullptr;
    export_options.n_threads = n_threads;
    // A new output folder is made, as `auto` and `compare` make theirs; if it cannot be, the
    // writer's error names the path.
    std::error_code no_folder;
    std::filesystem::create_directories(std::filesystem::path(request.output).parent_path(), no_folder);
    out = std::make_unique<GgufExport>(*setup.model, setup.plan, export_options, request.output);
    out->keep_partial_file();
    const std::set<std::string> finished = store.finished_units(job_id);
    std::vector<std::string> written;
    for (const auto &t : setup.model->tensors())
      if (finished.count(tensor_unit(t.name))) written.push_back(t.name);
    if (written.empty() || out->resume_partial(written)) return;
    // The partial file is gone or is another file's: the finished tensors are written again
    // (quantizing is deterministic, so they come out the same).
    for (const auto &t : setup.model->tensors())
      if (finished.count(tensor_unit(t.name))) out->write_tensor(t);
  };

  const RunOutcome outcome = run_job(
      store, job_id, units,
      [&](const std::string &unit) {
        UnitResult result;
        if (unit == kFileUnit) {
          out->finish();
          result.artifacts.push_back({"gguf", request.output});
        } else {
          out->write_tensor(setup.model->get(std::string_view(unit).substr(kTensorUnitPrefix.size())));
          out->sync();  // on disk before the unit says so
        }
        return result;
      },
      run_options);
  if (outcome.state == JobState::cancelled && out) {
    std::error_code ignored;
    std::filesystem::remove(out->partial_path(), ignored);
  }
  return outcome;
}

}  // namespace qs
