// Measuring a whole mix: every tensor swapped in at once, a full pass per chunk, weights restored.
#include "measure/mix_kld.h"

#include <cmath>
#include <utility>

#include "core/error.h"
#include "core/parallel.h"
#include "infer/kld.h"
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

MixKld measure_mix_kld(Transformer &model, const ReferenceRun &reference, MixValues values) {
  const CalibrationChunks &chunks = reference.chunks();
  const int64_t n_vocab = model.config().n_vocab;
  const int64_t n_scored = chunks.n_scored_per_chunk();

  WeightSwaps swaps(model);
  for (auto &[name, tensor_values] : values) swaps.swap_in(name, std::move(tensor_values));

  // The same pass, comparison and sums as a single tensor's KLD (TensorMeasurer::measure_kld), so
  // that a one-tensor mix measures exactly what the sweep stored; only the starting point differs
  // (the embeddings, since the mix may touch any layer).
  std::vector<float> logits(static_cast<size_t>((chunks.n_ctx() - chunks.first_scored()) * n_vocab));
  std::vector<double> kld(static_cast<size_t>(n_scored)), nll(static_cast<size_t>(n_scored));
  double sum_kld = 0, sum_nll = 0;
  for (int64_t c = 0; c < chunks.n_chunks(); ++c) {
    model.forward(chunks.input(c), logits.data(), nullptr, chunks.first_scored());
    const float *base = reference.logits(c);
    parallel_for(n_scored, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const TokenComparison t =
            compare_logits(logits.data() + i * n_vocab, base + i * n_vocab, n_vocab, chunks.target(c, i));
        kld[static_cast<size_t>(i)] = t.kld;
        nll[static_cast<size_t>(i)] = t.nll;
      }
    }, model.n_threads());
    for (int64_t i = 0; i < n_scored; ++i) {
      sum_kld += kld[static_cast<size_t>(i)];
      sum_nll += nll[static_cast<size_t>(i)];
    }
  }
  const auto count = static_cast<double>(chunks.n_scored());
  return {sum_kld / count, std::exp(sum_nll / count) - std::exp(reference.mean_nll())};
}

MixKld measure_mix_kld(Transformer &model, const Imatrix *imatrix, const ReferenceRun &reference,
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
