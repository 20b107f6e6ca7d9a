// Measuring a whole mix: every tensor swapped in at once, a full pass per chunk, weights restored.
#include "measure/mix_kld.h"

#include <utility>

#include "core/error.h"
#include "infer/weight_swaps.h"
#include "measure/tensor_measurer.h"

namespace qs {
MixKld measure_mix_kld(Transformer &model, ReferenceRun &reference, MixValues values) {
  WeightSwaps swaps(model);
  for (auto &[name, tensor_values] : values) swaps.swap_in(name, std::move(tensor_values));
  // The same pass, comparison and sums as a single tensor's KLD (TensorMeasurer), so that a
  // one-tensor mix measures what the sweep stored up to rounding; only the starting point differs
  // (the embeddings, since a mix may touch any layer).
  return reference.compare_whole_model();
}

MixKld measure_mix_kld(Transformer &model, const Imatrix *imatrix, ReferenceRun &reference,
                       const MixTypes &mix) {
  // A proxy-level measurer quantizes without running the model: the same code path, importance
  // and thread split as the sweep's rows, so the mix holds the values the rows were measured on.
  TensorMeasurer quantizer(model, imatrix, MetricLevel::proxy, nullptr);
  MixValues values;
  for (const auto &[tensor, type] : mix) {
    if (!type) fail("mix: no type given for ", tensor);
    values[tensor] = quantizer.quantized_values(tensor, *type);
  }
  return measure_mix_kld(model, reference, std::move(values));
}

MixKldMeasurer::MixKldMeasurer(const MeasureRequest &request, int n_threads, ProgressSink *progress) {
  if (request.text.empty())
    fail("measuring a whole mix needs the calibration text of the job, and this job has none (metric ",
         metric_level_name(request.metric), ")");
  source_ = ModelSource::open(request.model);
  if (!request.imatrix.empty()) imatrix_ = read_imatrix(request.imatrix);
  model_ = Transformer::load(*source_, n_threads);
  chunks_ = std::make_unique<CalibrationChunks>(read_calibration_chunks(*source_, request));
  reference_ = std::make_unique<ReferenceRun>(*model_, *chunks_, progress);
}

MixKld MixKldMeasurer::measure(const MixTypes &mix) {
  return measure_mix_kld(*model_, imatrix_ ? &*imatrix_ : nullptr, *reference_, mix);
}

}  // namespace qs
