// A strategy as a recipe of llama-quantize or ik_llama.cpp, and a recipe read back into a
// strategy exactly as the tool would apply it to the model (strategy/recipe.h has the rules).
#pragma once

#include <string>
#include <string_view>

#include "model/model_source.h"
#include "strategy/recipe.h"
#include "strategy/strategy.h"

namespace qs {

// llama: the llama-quantize command line, then the --tensor-type-file it names; ik: the recipe
// lines with the command in a comment. Every tensor of the strategy is matched by exactly one rule.
std::string strategy_recipe_text(const Strategy &strategy, RecipeTool tool, const RecipeCommandPaths &paths = {});
// Only the rules file (llama: --tensor-type-file content; ik: recipe lines), for --recipe-out.
std::string strategy_recipe_file(const Strategy &strategy, RecipeTool tool);

struct RecipeStrategyRequest {
  RecipeTool tool = RecipeTool::llama;
  RulePrecedence precedence = RulePrecedence::first_match;  // llama only; ik is always first_match
  std::string default_type;  // tensors no rule matches; empty: an error naming them
  std::string recipe_path;   // recorded as the strategy's source
};

// Each quantizable tensor of the model gets the type the tool would give it: the deciding rule's
// type, with llama.cpp's row-length fallback (quant/type_fallback.h) when the row does not fit;
// reason "manual". Errors name the unmatched tensors (without a default type) and anything the
// recipe parser refuses.
Strategy strategy_from_recipe(const ModelSource &model, const std::string &model_source, std::string_view text,
                              const RecipeStrategyRequest &request);

}  // namespace qs
