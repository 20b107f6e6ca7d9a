// Transformer::load: a ModelSource (HF directory or GGUF) read tensor by tensor into f32, each
// converted once straight into the buffer the forward pass uses.
#include <memory>

#include "core/progress.h"
#include "infer/transformer.h"
#include "model/model_source.h"

namespace qs {

std::unique_ptr<Transformer> Transformer::load(const ModelSource &source, int n_threads, ProgressSink *progress) {
  NullProgress no_progress;
  if (!progress) progress = &no_progress;
  TransformerConfig config = transformer_config_from(source.config(), source.architecture().rope_style);
  WeightMap weights;
  const auto &tensors = source.tensors();
  progress->begin("loading " + source.path().filename().string(), static_cast<int64_t>(tensors.size()));
  for (size_t i = 0; i < tensors.size(); ++i) {
    const SourceTensor &t = tensors[i];
    WeightTensor w;
    w.shape = t.shape;
    w.values.resize(static_cast<size_t>(t.n_elements()));
    source.read_f32(t, w.values.data());
    weights.emplace(t.name, std::move(w));
    progress->advance(static_cast<int64_t>(i + 1));
  }
  progress->end();
  return std::make_unique<Transformer>(std::move(config), std::move(weights), n_threads);
}

}  // namespace qs
