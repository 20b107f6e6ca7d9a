// Building quantization plans and sizing them.
#include "convert/quant_plan.h"

#include "convert/tensor_policy.h"
#include "core/error.h"
#include "formats/gguf.h"

namespace qs {

const PlannedTensor *QuantPlan::find(const std::string &name) const {
  for (const auto &t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

int QuantPlan::n_fallbacks() const {
  int n = 0;
  for (const auto &t : tensors) n += t.fell_back ? 1 : 0;
  return n;
}

QuantPlan uniform_plan(const ModelSource &model, GgmlType type) {
  QuantPlan plan;
  for (const auto &t : model.tensors()) {
    if (!tensor_allows_quantization(t.name, t.shape)) {
      plan.tensors.push_back({t.name, GgmlType::F32, GgmlType::F32, false});
      continue;
    }
    const TypeChoice choice = fallback_type(type, t.row_length());
    plan.tensors.push_back({t.name, type, choice.type, choice.fell_back});
  }
  return plan;
}

PlanSize plan_size(const ModelSource &model, const QuantPlan &plan) {
  PlanSize size;
  for (const auto &t : model.tensors()) {
    const PlannedTensor *p = plan.find(t.name);
    if (!p) fail("quantization plan has no entry for tensor '", t.name, "'");
    size.bytes += gguf::tensor_bytes(p->type, t.shape);
    size.params += t.n_elements();
  }
  return size;
}

}  // namespace qs
