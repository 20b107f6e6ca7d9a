// Measuring a whole mix: every tensor swapped in at once, a full pass per chunk, weights restored.
#include "measure/mix_kld.h"

#include <utility>

#include "core/error.h"
#include "infer/text_input.h"
#include "measure/tensor_measurer.h"

namespace qs {
namespace {

// Holds the original values of every tensor swapped so far and puts them back, last swapped
// first, when it goes out of scope: a throw halfway through a mix (a bad name, a wrong size, a
// failed pass) never leaves the model half quantized.
class WeightSwaps {
 public:
  explicit WeightSwaps(Transformer &model) : model_(model) {}
  WeightSwaps(const WeightSwaps &) = delete;
  WeightSwaps &operator=(const WeightSwaps &) = delete;
  ~WeightSwaps() {
    for (auto it = originals_.rbegin(); it != originals_.rend(); ++it) model_.set_weight(it->first, std::move(it->second));
  }
  void swap_in(const std::string &name, std::vector<float> values) {
    std::vector<float> original = model_.set_weight(name, std::move(values));
    originals_.emplace_back(name, std::move(original));
  }

 private:
  Transformer &model_;
  std::vector<std::pair<std::string, std::vector<float>>> originals_;
};

}  // namespace

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
  const TokenizedText text = tokenize_text_file(*source_, request.text, request.n_ctx);
  chunks_ = std::make_unique<CalibrationChunks>(text.tokens, request.n_ctx, request.max_chunks, text.bos);
  reference_ = std::make_unique<ReferenceRun>(*model_, *chunks_, progress);
}

MixKld MixKldMeasurer::measure(const MixTypes &mix) {
  return measure_mix_kld(*model_, imatrix_ ? &*imatrix_ : nullptr, *reference_, mix);
}

}  // namespace qs
