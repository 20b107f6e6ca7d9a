// Creating and running measurement jobs.
#include "measure/measure_job.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "infer/compute_device.h"
#include "measure/tensor_measurer.h"
#include "measure/unit_cost.h"

namespace qs {
namespace {

std::optional<Imatrix> read_optional_imatrix(const MeasureRequest &request) {
  if (request.imatrix.empty()) return std::nullopt;
  return read_imatrix(request.imatrix);
}

}  // namespace

MeasureJob create_measure_job(JobStore &store, MeasureRequest request) {
  request.validate_and_resolve();
  const auto model = ModelSource::open(request.model);
  const auto imatrix = read_optional_imatrix(request);
  const auto units = plan_measurement_units(request, *model, imatrix ? &*imatrix : nullptr);
  if (!request.text.empty()) read_calibration_chunks(*model, request);  // fails now, not at the first unit
  const nlohmann::json params = request.to_json();
  if (const auto unfinished = find_unfinished_job(store, "measure", params)) {
    store.resume_job(*unfinished);
    return {*unfinished, static_cast<int64_t>(units.size()), true};
  }
  const int64_t id = store.create_job("measure", params, static_cast<int64_t>(units.size()));
  return {id, static_cast<int64_t>(units.size()), false};
}

RunOutcome run_measure_job(JobStore &store, int64_t job_id, const RunOptions &options, int n_threads) {
  const JobInfo job = store.job(job_id);
  if (job.kind != "measure") fail("job ", job_id, " is a ", job.kind, " job, not a measurement");
  const MeasureRequest request = MeasureRequest::from_json(job.params);
  const auto model = ModelSource::open(request.model);
  const auto imatrix = read_optional_imatrix(request);
  const auto units = plan_measurement_units(request, *model, imatrix ? &*imatrix : nullptr);
  std::vector<std::string> keys;
  std::map<std::string, const MeasurementUnit *, std::less<>> by_key;
  for (const auto &unit : units) {
    keys.push_back(unit.key);
    by_key[unit.key] = &unit;
  }

  // The model, the text and the reference run are loaded only when a unit is left, so a finished
  // job costs nothing to resume; the reference run shows its own progress before the units'.
  // Only the CPU's passes need the model loaded in host memory: the proxy level and the GPU's
  // read each tensor from the files when its units start.
  std::unique_ptr<Transformer> transformer;
  std::unique_ptr<CalibrationChunks> chunks;
  std::unique_ptr<TensorMeasurer> measurer;
  RunOptions run_options = options;
  run_options.unit_cost = [costs = measurement_unit_costs(units, *model)](const std::string &key) { return costs.at(key); };
  run_options.prepare = [&](ProgressSink &progress) {
    const ComputeDevice device = parse_compute_device(request.device);
    const ProductPrecision precision = parse_product_precision(request.precision, device);
    const Imatrix *importance = imatrix ? &*imatrix : nullptr;
    if (request.metric != MetricLevel::proxy)
      chunks = std::make_unique<CalibrationChunks>(read_calibration_chunks(*model, request));
    if (request.metric == MetricLevel::proxy || device == ComputeDevice::cuda) {
      measurer = std::make_unique<TensorMeasurer>(*model, n_threads, importance, request.metric, chunks.get(), &progress,
                                                  device, precision);
    } else {
      transformer = Transformer::load(*model, n_threads, &progress);
      measurer = std::make_unique<TensorMeasurer>(*transformer, importance, request.metric, chunks.get(), &progress);
    }
  };
  auto measure_unit = [&](const std::string &key) {
    const MeasurementUnit &unit = *by_key.at(key);
    // The unit after this one in the plan, quantized ahead while the GPU runs this one.
    const auto next = std::find(keys.begin(), keys.end(), key);
    if (next != keys.end() && next + 1 != keys.end()) {
      const MeasurementUnit &after = *by_key.at(*(next + 1));
      measurer->set_next_unit(after.tensor, *after.type);
    }
    UnitResult result;
    result.measurements.push_back(measurer->measure(unit.tensor, *unit.type, unit.level));
    return result;
  };
  return run_job(store, job_id, keys, measure_unit, run_options);
}

}  // namespace qs
