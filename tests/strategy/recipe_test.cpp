// Recipes for llama-quantize / ik_llama.cpp: the expected matches come from hand-written names and
// regexes run through std::regex_search (what both tools call), the expected spellings from ggml's
// type_traits table, the expected precedence from the tools' loops (recipe.h).
#include "strategy/recipe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <random>
#include <regex>
#include <set>

#include "test_support.h"

namespace qs::recipe_test {
namespace {

using test::expect_error_containing;

std::vector<std::string> llama_like_names() {
  std::vector<std::string> names = {"token_embd.weight"};
  for (int layer = 0; layer < 16; ++layer)
    for (const char *kind : {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"})
      names.push_back("blk." + std::to_string(layer) + "." + kind + ".weight");
  names.push_back("output.weight");
  return names;
}

// A mix a Q4_K_M-like strategy could give: 12 (kind, type) groups, counted by hand below.
std::vector<TypeAssignment> llama_like_assignment() {
  std::vector<TypeAssignment> out;
  for (const auto &name : llama_like_names()) {
    std::string type = "Q4_K";
    if (name == "token_embd.weight") type = "Q6_K";
    if (name == "output.weight") type = "Q8_0";
    const int layer = name.starts_with("blk.") ? std::stoi(name.substr(4)) : -1;
    if (name.ends_with(".attn_v.weight")) type = layer < 4 ? "Q6_K" : "Q5_K";
    if (name.ends_with(".ffn_down.weight") && (layer <= 1 || layer >= 14)) type = "Q6_K";
    if (name.ends_with(".attn_k.weight") && layer == 7) type = "IQ4_XS";
    out.push_back({name, type});
  }
  return out;
}

// Every name is matched by exactly one rule, and that rule carries the name's type.
void expect_each_name_matched_once(const std::vector<RecipeRule> &rules, const std::vector<TypeAssignment> &assignment,
                                   bool lower_case_patterns) {
  for (const auto &item : assignment) {
    int n_matching = 0;
    for (const auto &rule : rules) {
      std::string pattern = rule.pattern;
      if (lower_case_patterns)
        std::transform(pattern.begin(), pattern.end(), pattern.begin(), [](unsigned char c) { return std::tolower(c); });
      if (!std::regex_search(item.tensor, std::regex(pattern))) continue;
      ++n_matching;
      EXPECT_EQ(rule.type, item.type) << item.tensor << " matched by " << rule.pattern;
    }
    EXPECT_EQ(n_matching, 1) << item.tensor;
  }
}

std::map<std::string, std::string> as_map(const std::vector<TypeAssignment> &assignment) {
  std::map<std::string, std::string> out;
  for (const auto &item : assignment) out[item.tensor] = item.type;
  return out;
}

std::map<std::string, std::string> imported_types(const RecipeImport &result) {
  std::map<std::string, std::string> out;
  for (const auto &tensor : result.tensors) out[tensor.tensor] = tensor.type.value_or("(none)");
  return out;
}

std::vector<std::string> names_of(const std::vector<TypeAssignment> &assignment) {
  std::vector<std::string> names;
  for (const auto &item : assignment) names.push_back(item.tensor);
  return names;
}

TEST(Recipe, GgmlSpellingFollowsGgmlTypeTraits) {
  // ggml.c type_traits[...].type_name
  const std::map<std::string, std::string> expected = {
      {"F32", "f32"},         {"F16", "f16"},       {"BF16", "bf16"},     {"Q4_0", "q4_0"},     {"Q8_0", "q8_0"},
      {"Q2_K", "q2_K"},       {"Q3_K", "q3_K"},     {"Q4_K", "q4_K"},     {"Q5_K", "q5_K"},     {"Q6_K", "q6_K"},
      {"IQ2_XXS", "iq2_xxs"}, {"IQ4_XS", "iq4_xs"}, {"IQ4_NL", "iq4_nl"}, {"TQ1_0", "tq1_0"},   {"MXFP4", "mxfp4"},
      {"IQ1_M", "iq1_m"},     {"IQ3_S", "iq3_s"},   {"Q5_1", "q5_1"},
  };
  for (const auto &[ours, ggml] : expected) EXPECT_EQ(ggml_type_spelling(quant_type_by_name(ours)), ggml) << ours;
}

TEST(Recipe, LayerSetRegexesAreTheShortForms) {
  EXPECT_EQ(layer_set_regex({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}), "([0-9]|1[0-5])");
  EXPECT_EQ(layer_set_regex({5, 3, 4}), "[3-5]");
  EXPECT_EQ(layer_set_regex({7}), "7");
  EXPECT_EQ(layer_set_regex({0, 1, 14, 15}), "([0-1]|1[4-5])");
  expect_error_containing([] { layer_set_regex({}); }, {"no layers"});
}

TEST(Recipe, LayerSetRegexMatchesExactlyItsLayers) {
  // Brute force: every decimal string 0..1099 and the leading-zero spellings of 0..99.
  std::mt19937 random(1234);
  for (int trial = 0; trial < 60; ++trial) {
    std::set<int64_t> layers;
    const int64_t limit = trial % 3 == 0 ? 20 : (trial % 3 == 1 ? 130 : 1100);
    const int count = 1 + static_cast<int>(random() % 19);  // fewer than the smallest limit
    while (static_cast<int>(layers.size()) < count) layers.insert(static_cast<int64_t>(random() % limit));
    const std::regex regex("^" + layer_set_regex({layers.begin(), layers.end()}) + "$");
    for (int64_t n = 0; n < 1100; ++n)
      ASSERT_EQ(std::regex_search(std::to_string(n), regex), layers.count(n) == 1) << "layer " << n << " trial " << trial;
    for (int n = 0; n < 100; ++n) {
      const std::string padded = (n < 10 ? "0" : "00") + std::to_string(n);
      ASSERT_FALSE(std::regex_search(padded, regex)) << padded;
    }
  }
}

TEST(Recipe, ExportCoversEveryTensorOnceWithFewRules) {
  const auto assignment = llama_like_assignment();
  const auto rules = export_recipe_rules(assignment);
  expect_each_name_matched_once(rules, assignment, false);
  // token_embd, output, attn_q, attn_k x2 (Q4_K, IQ4_XS), attn_v x2, attn_output, ffn_gate, ffn_up,
  // ffn_down x2.
  EXPECT_EQ(rules.size(), 12u);
  // A few written out by hand.
  const std::set<std::pair<std::string, std::string>> some_expected = {
      {"^token_embd\\.weight$", "Q6_K"},
      {"^output\\.weight$", "Q8_0"},
      {"^blk\\.([0-9]|1[0-5])\\.attn_q\\.weight$", "Q4_K"},
      {"^blk\\.7\\.attn_k\\.weight$", "IQ4_XS"},
      {"^blk\\.([0-6]|[8-9]|1[0-5])\\.attn_k\\.weight$", "Q4_K"},
      {"^blk\\.[0-3]\\.attn_v\\.weight$", "Q6_K"},
      {"^blk\\.([0-1]|1[4-5])\\.ffn_down\\.weight$", "Q6_K"},
  };
  std::set<std::pair<std::string, std::string>> got;
  for (const auto &rule : rules) got.insert({rule.pattern, rule.type});
  for (const auto &expected : some_expected) EXPECT_TRUE(got.count(expected)) << expected.first << "=" << expected.second;
  // "output\.weight" unanchored would also match blk.N.attn_output.weight.
  EXPECT_FALSE(std::regex_search("blk.0.attn_output.weight", std::regex("^output\\.weight$")));
}

TEST(Recipe, ExportedPatternsSurviveLlamaLowerCasingAndTheSplitCharacters) {
  auto assignment = llama_like_assignment();
  assignment.push_back({"Embed.Extra weight,1=x", "Q8_0"});  // upper case, space, ',' and '=' in a name
  const auto rules = export_recipe_rules(assignment);
  for (const auto &rule : rules) {
    std::string lowered = rule.pattern;
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), [](unsigned char c) { return std::tolower(c); });
    EXPECT_EQ(lowered, rule.pattern);
    EXPECT_EQ(rule.pattern.find_first_of(" \t\n,='\""), std::string::npos) << rule.pattern;
  }
  expect_each_name_matched_once(rules, assignment, true);
}

TEST(Recipe, ExportKeepsMoeNamesApart) {
  std::vector<TypeAssignment> assignment;
  for (int layer = 0; layer < 12; ++layer) {
    const std::string blk = "blk." + std::to_string(layer) + ".";
    assignment.push_back({blk + "ffn_down.weight", layer < 3 ? "Q8_0" : "Q6_K"});
    assignment.push_back({blk + "ffn_down_exps.weight", layer % 2 ? "IQ2_XXS" : "Q3_K"});
    assignment.push_back({blk + "ffn_down_shexp.weight", "Q8_0"});
    assignment.push_back({blk + "ffn_gate_exps.weight", "IQ2_XXS"});
  }
  assignment.push_back({"v.blk.0.attn_q.weight", "Q8_0"});  // a vision tower's layer 0 is not blk.0
  assignment.push_back({"blk.0.attn_q.weight", "Q4_K"});
  const auto rules = export_recipe_rules(assignment);
  expect_each_name_matched_once(rules, assignment, false);
  expect_each_name_matched_once(rules, assignment, true);
  // down: 2 types; down_exps: 2; down_shexp: 1; gate_exps: 1; the two attn_q.
  EXPECT_EQ(rules.size(), 8u);
}

TEST(Recipe, ExportRefusesBadAssignments) {
  expect_error_containing([] { export_recipe_rules({{"a.weight", "Q4_K"}, {"a.weight", "Q8_0"}}); },
                          {"a.weight", "twice"});
  expect_error_containing([] { export_recipe_rules({{"a.weight", "Q4_K_M"}}); }, {"a.weight", "Q4_K_M"});
  expect_error_containing([] { export_recipe_rules({{"", "Q4_K"}}); }, {"empty name"});
}

TEST(Recipe, TextsUseGgmlSpellingAndNoPure) {
  const std::vector<RecipeRule> rules = {{"^blk\\.[0-3]\\.attn_v\\.weight$", "Q6_K", 0},
                                         {"^output\\.weight$", "Q8_0", 0}};
  EXPECT_EQ(llama_tensor_type_file(rules), "^blk\\.[0-3]\\.attn_v\\.weight$=q6_K\n^output\\.weight$=q8_0\n");
  EXPECT_EQ(ik_custom_q_argument(rules), "^blk\\.[0-3]\\.attn_v\\.weight$=q6_K,^output\\.weight$=q8_0");
  RecipeCommandPaths paths;
  paths.input_gguf = "in.gguf";
  paths.output_gguf = "out.gguf";
  paths.imatrix = "my imatrix.gguf";
  paths.tensor_type_file = "recipe.txt";
  // Q8_0 is a rule's type, so the base is the next one on the list (Q5_1).
  EXPECT_EQ(llama_quantize_command(rules, paths),
            "llama-quantize --tensor-type-file recipe.txt --imatrix 'my imatrix.gguf' in.gguf out.gguf Q5_1");
  EXPECT_EQ(ik_quantize_command(rules, paths),
            "llama-quantize --imatrix 'my imatrix.gguf' --custom-q "
            "'^blk\\.[0-3]\\.attn_v\\.weight$=q6_K,^output\\.weight$=q8_0' in.gguf out.gguf Q5_1");
  EXPECT_EQ(recipe_base_type({{"x", "Q4_K", 0}}), "Q8_0");
  // ik_llama.cpp has no ternary tq types.
  expect_error_containing([] { ik_custom_q_argument({{"^a$", "TQ1_0", 0}}); }, {"ik_llama.cpp has no type tq1_0"});
}

TEST(Recipe, RoundTripsThroughEveryTextAndPrecedence) {
  auto assignment = llama_like_assignment();
  for (int layer = 0; layer < 4; ++layer)
    assignment.push_back({"blk." + std::to_string(layer) + ".ffn_down_exps.weight", layer == 2 ? "IQ2_XXS" : "Q3_K"});
  assignment.push_back({"Odd.Name", "BF16"});
  const auto names = names_of(assignment);
  const auto expected = as_map(assignment);
  const auto rules = export_recipe_rules(assignment);
  RecipeCommandPaths paths;
  for (const auto precedence : {RulePrecedence::first_match, RulePrecedence::last_match}) {
    const auto from_file = import_recipe(RecipeTool::llama, llama_tensor_type_file(rules), names, precedence);
    EXPECT_EQ(imported_types(from_file), expected);
    EXPECT_TRUE(from_file.unused_rules.empty());
    std::vector<std::string> args = {"llama-quantize"};
    for (const auto &rule : rules) {
      args.push_back("--tensor-type");
      args.push_back(rule.pattern + "=" + ggml_type_spelling(quant_type_by_name(rule.type)));
    }
    args.insert(args.end(), {"in.gguf", "out.gguf", "Q8_0"});
    EXPECT_EQ(imported_types(resolve_recipe(parse_llama_recipe_args(args), names, precedence)), expected);
  }
  for (const std::string &text : {ik_recipe_lines(rules), ik_custom_q_argument(rules), ik_quantize_command(rules, paths)}) {
    const auto result = import_recipe(RecipeTool::ik, text, names);
    EXPECT_EQ(imported_types(result), expected) << text;
    EXPECT_TRUE(result.unused_rules.empty());
  }
}

TEST(Recipe, PrecedenceOnOverlappingRules) {
  const std::vector<std::string> names = {"blk.0.ffn_down.weight", "blk.1.ffn_down.weight", "blk.1.ffn_up.weight"};
  const std::string text = "ffn_down=q6_K\nblk\\.1\\.ffn_down=q4_K\n";
  const auto first = import_recipe(RecipeTool::llama, text, names, RulePrecedence::first_match);
  EXPECT_EQ(imported_types(first), (std::map<std::string, std::string>{{"blk.0.ffn_down.weight", "Q6_K"},
                                                                       {"blk.1.ffn_down.weight", "Q6_K"},
                                                                       {"blk.1.ffn_up.weight", "(none)"}}));
  ASSERT_EQ(first.unused_rules.size(), 1u);  // the second rule only ever matches what the first decides
  EXPECT_EQ(first.unused_rules[0].line, 2);
  EXPECT_EQ(first.shadowed_rules.size(), 1u);
  EXPECT_EQ(first.tensors[1].decided_by, "line 1: ffn_down=q6_K");

  const auto last = import_recipe(RecipeTool::llama, text, names, RulePrecedence::last_match);
  EXPECT_EQ(last.tensors[0].type, "Q6_K");
  EXPECT_EQ(last.tensors[1].type, "Q4_K");
  EXPECT_TRUE(last.unused_rules.empty());

  // ik_llama.cpp: always the first, whatever precedence is asked for.
  const auto ik = import_recipe(RecipeTool::ik, "ffn_down=q6_K,blk\\.1\\.ffn_down=q4_K", names, RulePrecedence::last_match);
  EXPECT_EQ(ik.tensors[1].type, "Q6_K");
}

TEST(Recipe, LlamaLowerCasesPatternsIkDoesNot) {
  const std::vector<std::string> names = {"blk.0.attn_v.weight", "blk.1.attn_v.weight"};
  const auto llama = import_recipe(RecipeTool::llama, "BLK\\.0\\.ATTN_V=Q8_0", names);
  EXPECT_EQ(llama.tensors[0].type, "Q8_0");  // type matched case-insensitively too
  EXPECT_EQ(llama.tensors[1].type, std::nullopt);
  const auto ik = import_recipe(RecipeTool::ik, "BLK\\.0\\.ATTN_V=q8_0", names);
  EXPECT_EQ(ik.tensors[0].type, std::nullopt);
  ASSERT_EQ(ik.unused_rules.size(), 1u);
  EXPECT_TRUE(ik.shadowed_rules.empty());
  // \D lower-cased is \d: "x\D" matches "xa" for ik, "x1" for llama.
  const std::vector<std::string> xs = {"xa", "x1"};
  EXPECT_EQ(import_recipe(RecipeTool::llama, "x\\D=q8_0", xs).tensors[1].type, "Q8_0");
  EXPECT_EQ(import_recipe(RecipeTool::llama, "x\\D=q8_0", xs).tensors[0].type, std::nullopt);
  EXPECT_EQ(import_recipe(RecipeTool::ik, "x\\D=q8_0", xs).tensors[0].type, "Q8_0");
}

TEST(Recipe, ReadsCommandLinesAsAShellWould) {
  const std::vector<std::string> names = {"token_embd.weight", "blk.0.attn_v.weight", "blk.1.attn_v.weight",
                                          "blk.0.ffn_down.weight", "output.weight"};
  // Double quotes keep "\." (a backslash before '.' is literal); unquoted "\." becomes "."; the
  // --x=value form; a comment; a continued line; the named options win over every rule.
  const std::string llama_command =
      "# quantize\n"
      "llama-quantize --tensor-type \"blk\\.0\\.attn_v=q8_0\" \\\n"
      "  --tensor-type=blk\\.1\\.attn_v=iq4_xs --tensor-type '.*=q4_K' \\\n"
      "  --output-tensor-type q6_K --token-embedding-type Q5_K in.gguf out.gguf Q4_K_M\n";
  const auto llama = import_recipe(RecipeTool::llama, llama_command, names);
  EXPECT_EQ(imported_types(llama), (std::map<std::string, std::string>{{"token_embd.weight", "Q5_K"},
                                                                       {"blk.0.attn_v.weight", "Q8_0"},
                                                                       {"blk.1.attn_v.weight", "IQ4_XS"},
                                                                       {"blk.0.ffn_down.weight", "Q4_K"},
                                                                       {"output.weight", "Q6_K"}}));
  EXPECT_EQ(llama.tensors[4].decided_by, "--output-tensor-type (line 4)");
  // Unquoted, the shell turned blk\.1\.attn_v into blk.1.attn_v; that still matches only layer 1 here.
  const auto parsed = parse_llama_recipe(llama_command);
  ASSERT_EQ(parsed.rules.size(), 3u);
  EXPECT_EQ(parsed.rules[0].pattern, "blk\\.0\\.attn_v");
  EXPECT_EQ(parsed.rules[0].line, 2);
  EXPECT_EQ(parsed.rules[1].pattern, "blk.1.attn_v");
  EXPECT_EQ(parsed.rules[1].line, 3);

  const std::string ik_command =
      "./build/bin/llama-quantize --custom-q \"blk\\.0\\.attn_v=q8_0,attn_v=iq4_xs\" \\\n"
      "  --custom-q '.*=q4_K' in.gguf out.gguf IQ4_KS";
  EXPECT_EQ(imported_types(import_recipe(RecipeTool::ik, ik_command, names)),
            (std::map<std::string, std::string>{{"token_embd.weight", "Q4_K"},
                                                {"blk.0.attn_v.weight", "Q8_0"},
                                                {"blk.1.attn_v.weight", "IQ4_XS"},
                                                {"blk.0.ffn_down.weight", "Q4_K"},
                                                {"output.weight", "Q4_K"}}));
}

TEST(Recipe, ReadsSharedIkRecipeLines) {
  const std::string text =
      "# attention\n"
      "blk\\.(3|4|5)\\.ffn_down_exps\\.weight=iq4_xs\n"
      "\n"
      "   # indented comment\n"
      "ffn_down_exps=q3_K,ffn_.*=q4_0\r\n";
  const std::vector<std::string> names = {"blk.4.ffn_down_exps.weight", "blk.6.ffn_down_exps.weight",
                                          "blk.6.ffn_up_exps.weight", "blk.6.attn_q.weight"};
  const auto parsed = parse_ik_recipe(text);
  ASSERT_EQ(parsed.rules.size(), 3u);
  EXPECT_EQ(parsed.rules[2].line, 5);
  EXPECT_EQ(imported_types(resolve_recipe(parsed, names)),
            (std::map<std::string, std::string>{{"blk.4.ffn_down_exps.weight", "IQ4_XS"},
                                                {"blk.6.ffn_down_exps.weight", "Q3_K"},
                                                {"blk.6.ffn_up_exps.weight", "Q4_0"},
                                                {"blk.6.attn_q.weight", "(none)"}}));
}

TEST(Recipe, MalformedRulesNameTheRuleAndLine) {
  const auto llama = [](const std::string &text) { return [text] { parse_llama_recipe(text); }; };
  const auto ik = [](const std::string &text) { return [text] { parse_ik_recipe(text); }; };
  expect_error_containing(llama("a=q8_0\nattn_v\n"), {"line 2", "'attn_v'", "no '='"});
  expect_error_containing(llama("=q8_0"), {"line 1", "'=q8_0'", "empty pattern"});
  expect_error_containing(ik("x=q8_0\n=q8_0"), {"line 2", "empty pattern", ".*"});
  expect_error_containing(llama("attn_v="), {"line 1", "'attn_v='", "no type"});
  expect_error_containing(llama("\n\nblk\\.(0=q8_0"), {"line 3", "blk\\.(0=q8_0", "not a regex"});
  expect_error_containing(llama("attn_v=q4_k_m"), {"line 1", "attn_v=q4_k_m", "unknown type 'q4_k_m'", "file type"});
  expect_error_containing(llama("attn_v=i32"), {"'i32'", "quantscope does not support"});
  expect_error_containing(ik("attn_v=Q4_K"), {"line 1", "attn_v=Q4_K", "exactly", "write 'q4_K'"});
  expect_error_containing(ik("#c\nattn_v=iq3_k"), {"line 2", "attn_v=iq3_k", "ik_llama.cpp type", "does not support"});
  expect_error_containing(ik("attn_v=tq1_0"), {"ik_llama.cpp has no type 'tq1_0'"});
  expect_error_containing(ik("blk\\.[0-9]{1,2}\\.ffn=q8_0"), {"'blk\\.[0-9]{1'", "no '='", "{m,n}"});
  expect_error_containing(ik("a=q8_0,,b=q4_K"), {"line 1", "rule ''", "no '='"});
  expect_error_containing(ik("a=q8_0 ,b=q4_K"), {"line 1", "'q8_0 '", "blanks"});
  expect_error_containing(ik("llama-quantize --custom-q \"$custom\" in.gguf out.gguf IQ2_KS"),
                          {"line 1", "$custom", "shell variable"});
  expect_error_containing(llama("llama-quantize --pure \\\n --tensor-type-file recipe.txt in out Q8_0"),
                          {"line 2", "--tensor-type-file recipe.txt", "import the file"});
  expect_error_containing(llama("llama-quantize --tensor-type 'a=q8_0"), {"line 1", "never closed"});
  expect_error_containing(llama("llama-quantize --output-tensor-type q4_k_m in out Q8_0"),
                          {"--output-tensor-type q4_k_m", "unknown type"});
  expect_error_containing([] { parse_llama_recipe_args({"--tensor-type", "x=q8_0", "--tensor-type", "y"}); },
                          {"argument 4", "'y'", "no '='"});
  expect_error_containing([] { parse_ik_recipe_args({"in.gguf", "--custom-q"}); }, {"argument 2", "no value"});
}

}  // namespace
}  // namespace qs::recipe_test
