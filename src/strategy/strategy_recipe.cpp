// Between strategies and recipes.
#include "strategy/strategy_recipe.h"

#include "core/error.h"
#include "model/quantizable_tensors.h"
#include "quant/type_fallback.h"

namespace qs {

namespace {

std::vector<RecipeRule> strategy_rules(const Strategy &strategy) {
  std::vector<TypeAssignment> assignment;
  for (const StrategyTensor &t : strategy.tensors) assignment.push_back({t.name, t.type});
  return export_recipe_rules(assignment);
}

}  // namespace

std::string strategy_recipe_file(const Strategy &strategy, RecipeTool tool) {
  const auto rules = strategy_rules(strategy);
  return tool == RecipeTool::llama ? llama_tensor_type_file(rules) : ik_recipe_lines(rules);
}

std::string strategy_recipe_text(const Strategy &strategy, RecipeTool tool, const RecipeCommandPaths &paths) {
  const auto rules = strategy_rules(strategy);
  if (tool == RecipeTool::llama)
    return cat("# ", llama_quantize_command(rules, paths), "\n# ", paths.tensor_type_file, ":\n",
               llama_tensor_type_file(rules));
  return cat("# ", ik_quantize_command(rules, paths), "\n", ik_recipe_lines(rules));
}

Strategy strategy_from_recipe(const ModelSource &model, const std::string &model_source, std::string_view text,
                              const RecipeStrategyRequest &request) {
  const std::vector<TensorShape> tensors = quantizable_tensor_shapes(model);
  std::vector<std::string> names;
  for (const auto &t : tensors) names.push_back(t.name);
  const RecipeImport imported = import_recipe(request.tool, text, names, request.precedence);
  const QuantType *default_type = request.default_type.empty() ? nullptr : &quant_type_by_name(request.default_type);

  Strategy strategy;
  strategy.model_source = model_source;
  strategy.architecture = model.architecture().gguf_arch;
  strategy.source_path = request.recipe_path;
  strategy.objective.method = "recipe";
  std::vector<std::string> unmatched;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const ImportedTensorType &it = imported.tensors[i];
    const QuantType *type = it.type ? &quant_type_by_name(*it.type) : default_type;
    if (!type) {
      unmatched.push_back(it.tensor);
      continue;
    }
    StrategyTensor t;
    t.name = tensors[i].name;
    t.shape = tensors[i].shape;
    t.type = quant_type(fallback_type(type->id, t.shape.at(0)).type).name;
    t.reason = ChoiceReason::manual;
    strategy.tensors.push_back(std::move(t));
  }
  if (!unmatched.empty()) {
    std::string list;
    for (size_t i = 0; i < unmatched.size() && i < 5; ++i) list += cat(i ? ", " : "", unmatched[i]);
    fail("the recipe gives no type to ", unmatched.size(), " tensor", unmatched.size() == 1 ? "" : "s", " (", list,
         unmatched.size() > 5 ? ", ..." : "", "): the tool's own mix rules would decide them; pass --default-type");
  }
  recompute_totals(strategy);
  return strategy;
}

}  // namespace qs
