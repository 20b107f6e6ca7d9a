// Building quantization plans and sizing them.
#include "convert/quant_plan.h"

#include <regex>

#include "quant/type_fallback.h"
#include "core/error.h"
#include "formats/gguf.h"
#include "model/quantizable_tensors.h"
#include "strategy/strategy_model_check.h"

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

QuantPlan strategy_plan(const ModelSource &model, const Strategy &strategy, std::string_view strategy_name) {
  check_strategy_matches_model(strategy, quantizable_tensor_shapes(model), model.architecture().gguf_arch, strategy_name);
  QuantPlan plan;
  for (const auto &t : model.tensors()) {
    const StrategyTensor *chosen = strategy.find(t.name);
    const GgmlType type = chosen ? quant_type_by_name(chosen->type).id : GgmlType::F32;
    plan.tensors.push_back({t.name, type, type, false});
  }
  return plan;
}

GgmlType dominant_type(const ModelSource &model, const QuantPlan &plan) {
  std::map<GgmlType, int64_t> params;
  for (const auto &t : model.tensors()) {
    const PlannedTensor *p = plan.find(t.name);
    if (p && quant_type(p->type).is_quantized()) params[p->type] += t.n_elements();
  }
  GgmlType best = GgmlType::F32;
  int64_t most = 0;
  for (const auto &[type, n] : params)
    if (n > most) best = type, most = n;
  return best;
}

TensorTypeOverride parse_tensor_type_override(const std::string &text) {
  const size_t eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    fail("--tensor-type: '", text, "' is not PATTERN=TYPE (e.g. 'ffn_down=Q6_K')");
  const std::string pattern = text.substr(0, eq);
  try {
    std::regex check(pattern);
  } catch (const std::regex_error &e) {
    fail("--tensor-type: bad regular expression '", pattern, "': ", e.what());
  }
  return {pattern, quant_type_by_name(text.substr(eq + 1)).id};
}

int apply_tensor_type_overrides(QuantPlan &plan, const ModelSource &model,
                                const std::vector<TensorTypeOverride> &overrides) {
  std::vector<std::regex> patterns;
  for (const auto &o : overrides) patterns.emplace_back(o.pattern);
  std::vector<bool> used(overrides.size(), false);
  int changed = 0;
  for (auto &planned : plan.tensors) {
    const SourceTensor &t = model.get(planned.name);
    if (!tensor_allows_quantization(t.name, t.shape)) continue;
    for (size_t k = 0; k < overrides.size(); ++k) {
      if (!std::regex_search(t.name, patterns[k])) continue;
      used[k] = true;
      const TypeChoice choice = fallback_type(overrides[k].type, t.row_length());
      planned = {t.name, overrides[k].type, choice.type, choice.fell_back};
      ++changed;
      break;
    }
  }
  for (size_t k = 0; k < overrides.size(); ++k)
    if (!used[k]) fail("--tensor-type: '", overrides[k].pattern, "' matches no quantizable tensor of ", model.path().string());
  return changed;
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
