// Sizing a GGUF from its plan: the writer lays out header and offsets without writing anything.
#include "convert/gguf_file_size.h"

#include "convert/model_metadata.h"
#include "core/error.h"
#include "model/quantizable_tensors.h"

namespace qs {

uint64_t planned_gguf_bytes(const ModelSource &model, const QuantPlan &plan, const std::vector<gguf::KeyValue> &metadata) {
  // Never written: the writer only creates its file when the first tensor's data arrives.
  gguf::GgufWriter layout("/dev/null/never-written.gguf");
  for (const auto &kv : metadata) layout.set(kv.key, kv.value);
  for (const auto &t : model.tensors()) {
    const PlannedTensor *p = plan.find(t.name);
    if (!p) fail("quantization plan has no entry for tensor '", t.name, "'");
    layout.add_tensor(t.name, t.shape, p->type);
  }
  return layout.file_bytes();
}

uint64_t fixed_gguf_bytes(const ModelSource &model) {
  // Q8_0 has a llama.cpp file type, so general.file_type is in this header.
  const QuantPlan plan = uniform_plan(model, GgmlType::Q8_0);
  uint64_t total = planned_gguf_bytes(model, plan, gguf_model_metadata(model, GgmlType::Q8_0));
  for (const auto &t : model.tensors()) {
    if (!tensor_allows_quantization(t.name, t.shape)) continue;
    total -= gguf::padded_bytes(gguf::tensor_bytes(plan.find(t.name)->type, t.shape));
  }
  return total;
}

}  // namespace qs
