// The true cost of a whole mix: several tensors quantized at once, the model run from the token
// embeddings over every calibration chunk, and its next-token distributions compared with the
// cached reference run, exactly as a single tensor's KLD is measured (tensor_measurer.h) but with
// every tensor of the mix swapped in. This is what a mix prediction (kld_predictor.h) is checked
// and calibrated against.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/imatrix.h"
#include "infer/transformer.h"
#include "measure/calibration.h"
#include "measure/measure_plan.h"
#include "measure/reference_run.h"
#include "model/model_source.h"
#include "quant/types.h"

namespace qs {

class ProgressSink;

using MixKld = KldResult;  // of the whole mix

// A mix as types: tensor name -> the type it is stored in.
using MixTypes = std::map<std::string, const QuantType *>;
// A mix as values: tensor name -> its quantized-then-dequantized values.
using MixValues = std::map<std::string, std::vector<float>>;

// Swaps every tensor of the mix in, runs all chunks, and puts every original back before
// returning, also when a swap or the forward pass throws. The reference must be of this model
// with its original weights.
MixKld measure_mix_kld(Transformer &model, ReferenceRun &reference, MixValues values);

// The same, each tensor quantized as the GGUF writer stores it (TensorMeasurer::quantized_values:
// per-matrix imatrix importance when the imatrix has the tensor). imatrix may be null.
MixKld measure_mix_kld(Transformer &model, const Imatrix *imatrix, ReferenceRun &reference,
                       const MixTypes &mix);

// The model, text and reference run of a measure job, rebuilt from its request so that whole mixes
// can be measured on exactly the chunks its single-tensor KLDs were.
class MixKldMeasurer {
 public:
  // Throws qs::Error when the request has no calibration text. progress: the reference run.
  MixKldMeasurer(const MeasureRequest &request, int n_threads = 0, ProgressSink *progress = nullptr);
  MixKld measure(const MixTypes &mix);

 private:
  std::unique_ptr<ModelSource> source_;
  std::optional<Imatrix> imatrix_;
  std::unique_ptr<Transformer> model_;
  std::unique_ptr<CalibrationChunks> chunks_;
  std::unique_ptr<ReferenceRun> reference_;
};

}  // namespace qs
