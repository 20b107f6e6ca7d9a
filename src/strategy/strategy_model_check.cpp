// Matching a strategy against the model it is applied to (strategy_model_check.h).
#include "strategy/strategy_model_check.h"

#include <unordered_map>
#include <unordered_set>

#include "core/error.h"

namespace qs {

namespace {

std::string shape_text(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += cat(i ? ", " : "", shape[i]);
  return text + "]";
}

}  // namespace

void check_strategy_matches_model(const Strategy &strategy,
                                  const std::vector<TensorShape> &quantizable_tensors,
                                  std::string_view architecture, std::string_view strategy_name) {
  if (strategy.architecture != architecture) {
    fail(strategy_name, ": made for a ", strategy.architecture, " model (", strategy.model_source, "), this is ",
         architecture);
  }
  std::unordered_map<std::string_view, const std::vector<int64_t> *> model_shapes;
  for (const auto &t : quantizable_tensors) model_shapes.emplace(t.name, &t.shape);

  std::vector<std::string> mismatches;
  std::unordered_set<std::string_view> listed;
  for (const auto &t : strategy.tensors) {
    listed.insert(t.name);
    const auto found = model_shapes.find(t.name);
    if (found == model_shapes.end()) {
      mismatches.push_back(cat("unknown tensor '", t.name, "': the model has no quantizable tensor of that name"));
    } else if (*found->second != t.shape) {
      mismatches.push_back(cat("tensor '", t.name, "' has shape ", shape_text(t.shape), " in the strategy but ",
                               shape_text(*found->second), " in the model"));
    }
  }
  for (const auto &[name, shape] : quantizable_tensors) {
    if (!listed.count(name))
      mismatches.push_back(cat("missing tensor '", name, "': the model quantizes it, the strategy does not list it"));
  }
  if (mismatches.empty()) return;
  const size_t more = mismatches.size() - 1;
  fail(strategy_name, ": does not match the model (it was made for ", strategy.model_source, "): ", mismatches.front(),
       more ? cat(" (and ", more, " more mismatched tensor", more == 1 ? "" : "s", ")") : "");
}

}  // namespace qs
