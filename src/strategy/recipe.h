// Recipes: a per-tensor type assignment written as the regex=type rules of llama.cpp's
// llama-quantize (--tensor-type, --tensor-type-file) and of ik_llama.cpp's llama-quantize
// (--custom-q), and such rules read back, meaning exactly what each tool makes of them.
//
// What the tools do (llama.cpp tools/quantize/quantize.cpp + src/llama-quant.cpp; ik_llama.cpp
// examples/quantize/quantize.cpp + src/llama-quantize.cpp):
// - Both split a rule at its first '=' and run the pattern as std::regex (ECMAScript) with
//   std::regex_search, i.e. unanchored, on the GGUF tensor name. We use the same std::regex, so a
//   pattern means here what it means there.
// - llama.cpp lower-cases the pattern before compiling it (so \D becomes \d) and matches the type
//   case-insensitively against ggml_type_name. ik_llama.cpp compares the type with strcmp, so only
//   ggml's exact spelling ("q4_K", "iq4_xs") is accepted, and it splits --custom-q at every ','.
// - Precedence: ik_llama.cpp and the current llama.cpp take the first rule that matches; llama.cpp
//   before PR #18952 (January 2026) applied every match, so the last one won.
// - --pure: ik_llama.cpp, and llama.cpp before PR #25716 (July 2026), ignore every rule when --pure
//   is given. The commands written here therefore leave --pure out: every quantizable tensor is
//   matched by a rule, so the tool's own mix rules decide nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quant/types.h"

namespace qs {

enum class RecipeTool { llama, ik };  // llama.cpp's llama-quantize, ik_llama.cpp's llama-quantize
const char *recipe_tool_name(RecipeTool tool);  // "llama-quantize (llama.cpp)", "llama-quantize (ik_llama.cpp)"

// Which of several matching rules gives a tensor its type.
enum class RulePrecedence {
  first_match,  // ik_llama.cpp; llama.cpp since PR #18952 (January 2026)
  last_match,   // llama.cpp of 2025
};

struct RecipeRule {
  std::string pattern;  // the regex as the tool compiles it (for llama.cpp: already lower-cased)
  std::string type;     // our type name ("Q4_K"); the tool's spelling is ggml_type_spelling
  int64_t line = 0;     // 1-based line of the text it was read from (argument index when read from
                        // an argument list); 0 for rules made by export_recipe_rules
};

// One tensor's type, in model order. type is our name ("Q4_K"); any case is accepted.
struct TypeAssignment {
  std::string tensor;
  std::string type;
};

// ---- export ----

// ggml_type_name of a type: lower case but for the k-quant suffix ("q4_K", "iq4_xs", "bf16").
std::string ggml_type_spelling(const QuantType &type);

// Rules that give every assigned tensor its type: each tensor is matched by exactly one rule and no
// rule matches any other assigned tensor, so the recipe means the same under first-match and
// last-match precedence. Patterns are anchored (^...$, because regex_search is unanchored) and
// escaped; they hold no upper case (llama.cpp lower-cases them; upper-case letters of a name are
// written \xHH), no whitespace, no ',' (ik_llama.cpp splits on it), no '=', no quote. Tensors that
// differ only in the layer number of a "blk.N." component and share a type become one rule whose
// layers are a range regex: ^blk\.([0-9]|1[0-5])\.ffn_down\.weight$. Rules are in model order of
// their first tensor. Throws qs::Error for an empty or repeated tensor name or an unknown type.
std::vector<RecipeRule> export_recipe_rules(const std::vector<TypeAssignment> &assignment);

// A regex matching exactly the decimal spellings of the given non-negative layer numbers (no
// leading zeros): {0..15} -> "([0-9]|1[0-5])", {3,4,5} -> "[3-5]", {7} -> "7". Throws qs::Error
// for an empty or negative set.
std::string layer_set_regex(std::vector<int64_t> layers);

// The base type argument of the written commands: a file type both tools accept without an imatrix
// whose tensor type no rule uses (llama.cpp between PRs #19770 and #22572 ignored a rule whose type
// equalled the base type's), preferring 32-value blocks: Q8_0, Q5_1, ..., then "Q8_0" if all are used.
std::string recipe_base_type(const std::vector<RecipeRule> &rules);

struct RecipeCommandPaths {
  std::string input_gguf = "model-f16.gguf";
  std::string output_gguf = "model-quantscope.gguf";
  std::string imatrix;                             // empty: no --imatrix
  std::string tensor_type_file = "recipe.txt";     // llama.cpp only: where llama_tensor_type_file goes
};

// llama.cpp: the --tensor-type-file content, one PATTERN=type per line (the file has no comments:
// llama-quantize reads every whitespace-separated word as a rule).
std::string llama_tensor_type_file(const std::vector<RecipeRule> &rules);
// llama-quantize --tensor-type-file FILE [--imatrix IMATRIX] IN OUT BASE (shell-quoted).
std::string llama_quantize_command(const std::vector<RecipeRule> &rules, const RecipeCommandPaths &paths);

// ik_llama.cpp: the --custom-q argument ("p1=t1,p2=t2"), the recipe as shared (one rule per line,
// '#' comments), and llama-quantize [--imatrix IMATRIX] --custom-q '...' IN OUT BASE. Throw
// qs::Error naming the type for a type ik_llama.cpp does not have (tq1_0, tq2_0).
std::string ik_custom_q_argument(const std::vector<RecipeRule> &rules);
std::string ik_recipe_lines(const std::vector<RecipeRule> &rules);
std::string ik_quantize_command(const std::vector<RecipeRule> &rules, const RecipeCommandPaths &paths);

// ---- import ----

// A command-line option that names its tensors exactly and wins over every rule in both tools:
// --token-embedding-type, --output-tensor-type (and ik_llama.cpp's --per-layer-token-embedding-type).
struct NamedTensorType {
  std::string option;                 // "--output-tensor-type"
  std::vector<std::string> tensors;   // the exact names it sets
  std::string type;                   // our type name
  int64_t line = 0;
};

struct ParsedRecipe {
  RecipeTool tool = RecipeTool::llama;
  std::vector<RecipeRule> rules;              // in the order the tool reads them
  std::vector<NamedTensorType> named_types;   // later options of the same name win, as in the tools
  bool lines_are_arguments = false;           // read from an argument list: `line` is an argument index
};

// llama.cpp recipe text: either --tensor-type-file content (whitespace-separated PATTERN=TYPE words,
// no comments, as llama-quantize reads it) or, when a word starts with --tensor-type,
// --token-embedding-type or --output-tensor-type, a command line read with POSIX shell quoting,
// taking --tensor-type X, --tensor-type=X, --token-embedding-type T and --output-tensor-type T
// (other arguments are ignored).
ParsedRecipe parse_llama_recipe(std::string_view text);
// The same from an argument list (argv without the shell); a rule's line is its argument index.
ParsedRecipe parse_llama_recipe_args(const std::vector<std::string> &args);
// ik_llama.cpp recipe text: a command line (when a word is --custom-q) whose --custom-q arguments
// are split at ',', or recipe lines: blank lines and lines starting with '#' skipped, each other
// line trimmed and split at ',' like a --custom-q argument.
ParsedRecipe parse_ik_recipe(std::string_view text);
ParsedRecipe parse_ik_recipe_args(const std::vector<std::string> &args);
// parse_llama_recipe or parse_ik_recipe.
ParsedRecipe parse_recipe(RecipeTool tool, std::string_view text);
// Errors of all the parsers are qs::Error naming the line (or argument), the rule text and the
// fault: no '=', an empty pattern or type, a regex std::regex rejects, a type the tool would not
// accept (for ik_llama.cpp: not spelled exactly as ggml spells it, with the right spelling), a type
// quantscope does not support (e.g. ik_llama.cpp's iq3_k), a shell variable where a rule should be,
// or --tensor-type-file (whose file the text does not hold: import the file's text instead).

struct ImportedTensorType {
  std::string tensor;
  std::optional<std::string> type;  // our type name; none: nothing matched (the tool's mix decides)
  std::string decided_by;           // "line 3: blk\.1\.ffn_down=q4_K" or "--output-tensor-type (line 1)"
};

struct RecipeImport {
  std::vector<ImportedTensorType> tensors;   // one per given name, in the given order
  std::vector<RecipeRule> unused_rules;      // rules that decide no tensor's type
  std::vector<RecipeRule> shadowed_rules;    // of those, the ones that match some tensor that
                                             // another rule (or a named option) decides
};

// Resolves parsed rules against the model's quantizable tensor names. The named options come
// first; then, for llama.cpp, `precedence` (ik_llama.cpp is always first_match).
RecipeImport resolve_recipe(const ParsedRecipe &recipe, const std::vector<std::string> &tensor_names,
                            RulePrecedence precedence = RulePrecedence::first_match);
// parse_recipe then resolve_recipe.
RecipeImport import_recipe(RecipeTool tool, std::string_view text, const std::vector<std::string> &tensor_names,
                           RulePrecedence precedence = RulePrecedence::first_match);

}  // namespace qs
