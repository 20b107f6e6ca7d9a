// The strategy file: totals hand-computed from ggml's block sizes, YAML and JSON round trips that
// lose nothing, hand-written files as a person types them, every malformed file refused with its
// line (YAML) or field path (JSON), the model check, and writes that never leave a half file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "strategy/strategy.h"
#include "strategy/strategy_file.h"
#include "strategy/strategy_model_check.h"
#include "test_support.h"

namespace qs::strategy_file_test {
namespace {

namespace fs = std::filesystem;
using test::error_of;
using test::expect_error_containing;
using test::ScratchDir;

std::string read_text(const fs::path &path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

StrategyTensor tensor(std::string name, std::vector<int64_t> shape, std::string type, ChoiceReason reason,
                      std::optional<double> predicted = std::nullopt) {
  StrategyTensor t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.type = std::move(type);
  t.reason = reason;
  t.predicted = predicted;
  return t;
}

// Every optional field set, strings a YAML writer must quote, doubles without a short exact form.
Strategy full_strategy() {
  Strategy s;
  s.model_source = "/abs/models/kjv llama: #1 'q' \"d\" modèle";
  s.architecture = "llama";
  s.source_job = std::numeric_limits<int64_t>::max();
  s.source_path = "123";  // reads as a number unless quoted
  s.objective.method = "true";
  s.objective.metric = "null";
  s.objective.target_bpw = 4.123456789012345;
  s.objective.size_bytes = std::numeric_limits<uint64_t>::max();
  s.objective.gpu_bytes = 0;
  s.objective.cpu_bytes = 17179869184;
  s.objective.cpu_tensors = "^blk\\.[0-9]+\\.ffn_(up|down)_exps\\.weight$";
  s.fixed_bytes = uint64_t{1} << 40;
  s.tensors = {
      tensor("blk.0.attn_q.weight", {256, 64}, "Q4_K", ChoiceReason::knee, 0.1),
      tensor("blk.0.attn_v.weight", {256, 64}, "Q6_K", ChoiceReason::budget, 1.0 / 3.0),
      tensor("blk.0.ffn_down.weight", {96, 3}, "Q8_0", ChoiceReason::pin, 5e-324),
      tensor("blk.0.ffn_up.weight", {32, 2, 2}, "IQ4_NL", ChoiceReason::bin, -2.5e-10),
      tensor("output.weight", {256, 4}, "F16", ChoiceReason::manual, 1.7976931348623157e308),
      tensor("token_embd.weight", {256, 4}, "BF16", ChoiceReason::manual, 0.0),
  };
  recompute_totals(s);
  return s;
}

// Nothing optional: no source, no objective, no fixed bytes, no predictions.
Strategy minimal_strategy() {
  Strategy s;
  s.model_source = "/m";
  s.architecture = "qwen2";
  s.tensors = {tensor("blk.0.attn_q.weight", {256, 64}, "Q4_K", ChoiceReason::budget)};
  recompute_totals(s);
  return s;
}

// ---------------------------------------------------------------------------------------------
// The derived numbers

TEST(ChoiceReason, EveryNameParsesBackAndOthersDoNot) {
  ASSERT_EQ(all_choice_reasons().size(), 5u);
  for (ChoiceReason r : all_choice_reasons()) EXPECT_EQ(parse_choice_reason(choice_reason_name(r)), r);
  EXPECT_STREQ(choice_reason_name(ChoiceReason::knee), "knee");
  EXPECT_STREQ(choice_reason_name(ChoiceReason::manual), "manual");
  EXPECT_FALSE(parse_choice_reason("Knee"));
  EXPECT_FALSE(parse_choice_reason("elbow"));
  EXPECT_FALSE(parse_choice_reason(""));
}

TEST(StrategyTotals, HandComputedFromBlockSizes) {
  Strategy s;
  s.model_source = "/m";
  s.architecture = "llama";
  s.fixed_bytes = 1000;
  s.tensors = {
      // Q4_K: 256 values in 144 bytes. 64 rows x 1 block x 144 = 9216 (a multiple of 32).
      tensor("blk.0.attn_q.weight", {256, 64}, "Q4_K", ChoiceReason::budget, 0.25),
      // Q6_K: 256 values in 210 bytes. 64 x 210 = 13440 (a multiple of 32).
      tensor("blk.0.attn_v.weight", {256, 64}, "Q6_K", ChoiceReason::knee, 0.5),
      // Q4_0: 32 values in 18 bytes. 3 rows x 18 = 54, padded to 64 in the file.
      tensor("blk.0.ffn_down.weight", {32, 3}, "Q4_0", ChoiceReason::pin, 0.125),
  };
  recompute_totals(s);
  EXPECT_EQ(s.tensors[0].bytes, 9216u);
  EXPECT_EQ(s.tensors[1].bytes, 13440u);
  EXPECT_EQ(s.tensors[2].bytes, 54u);
  EXPECT_EQ(s.tensors[0].bits, 4.5);     // 144 * 8 / 256
  EXPECT_EQ(s.tensors[1].bits, 6.5625);  // 210 * 8 / 256
  EXPECT_EQ(s.tensors[2].bits, 4.5);     // 18 * 8 / 32
  EXPECT_EQ(s.tensors[2].n_elements(), 96);
  EXPECT_EQ(s.totals.tensor_bytes, 22710u);
  EXPECT_EQ(s.totals.params, 16384 + 16384 + 96);
  EXPECT_DOUBLE_EQ(s.totals.bpw, 8.0 * 22710 / 32864);
  ASSERT_TRUE(s.totals.file_bytes);
  EXPECT_EQ(*s.totals.file_bytes, 1000u + 9216 + 13440 + 64);
  ASSERT_TRUE(s.totals.predicted);
  EXPECT_EQ(*s.totals.predicted, 0.875);
  EXPECT_EQ(s.totals.count_per_type, (std::map<std::string, int64_t>{{"Q4_0", 1}, {"Q4_K", 1}, {"Q6_K", 1}}));

  // One tensor without a prediction: the sum is unknown. No fixed bytes: the file size is unknown.
  s.tensors[1].predicted.reset();
  s.fixed_bytes.reset();
  recompute_totals(s);
  EXPECT_FALSE(s.totals.predicted);
  EXPECT_FALSE(s.totals.file_bytes);
  EXPECT_EQ(s.find("blk.0.attn_v.weight"), &s.tensors[1]);
  EXPECT_EQ(s.find("blk.0.attn_k.weight"), nullptr);
}

TEST(StrategyTotals, UnknownTypeOrBadRowLengthNamesTheTensor) {
  Strategy s = minimal_strategy();
  s.tensors[0].type = "Q9_K";
  expect_error_containing([&] { recompute_totals(s); }, {"blk.0.attn_q.weight", "Q9_K", "Q4_K"});
  s.tensors[0].type = "Q4_K";
  s.tensors[0].shape = {96, 4};
  expect_error_containing([&] { recompute_totals(s); }, {"blk.0.attn_q.weight", "96", "256"});
}

// ---------------------------------------------------------------------------------------------
// Round trips

TEST(StrategyFile, YamlRoundTripIsLossless) {
  for (const Strategy &original : {full_strategy(), minimal_strategy()}) {
    const std::string text = strategy_to_yaml(original);
    SCOPED_TRACE(text);
    const Strategy back = strategy_from_yaml(text, "s.yaml");
    EXPECT_EQ(back, original);
  }
  // Absent stays absent: the minimal strategy's file has no source, objective or fixed bytes.
  const std::string minimal = strategy_to_yaml(minimal_strategy());
  EXPECT_EQ(minimal.find("source: {"), std::string::npos) << minimal;
  EXPECT_EQ(minimal.find("objective"), std::string::npos) << minimal;
  EXPECT_EQ(minimal.find("fixed_bytes"), std::string::npos) << minimal;
  EXPECT_EQ(minimal.find("predicted"), std::string::npos) << minimal;
  const Strategy back = strategy_from_yaml(minimal, "s.yaml");
  EXPECT_FALSE(back.source_job);
  EXPECT_FALSE(back.fixed_bytes);
  EXPECT_FALSE(back.totals.file_bytes);
  EXPECT_FALSE(back.tensors[0].predicted);
}

TEST(StrategyFile, YamlTextHasTheSchemaLayout) {
  // The layout DESIGN.md shows: one flow map per tensor, in model order.
  const std::string text = strategy_to_yaml(full_strategy());
  EXPECT_NE(text.find("\nquantscope_strategy: 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n  blk.0.attn_v.weight: {type: Q6_K, reason: budget, shape: [256, 64], bits: 6.5625, bytes: 13440, "
                      "predicted: 0.3333333333333333}\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("count_per_type: {BF16: 1, F16: 1, IQ4_NL: 1, Q4_K: 1, Q6_K: 1, Q8_0: 1}"), std::string::npos) << text;
  EXPECT_NE(text.find("path: \"123\""), std::string::npos) << text;  // a number-like string is quoted
  EXPECT_LT(text.find("blk.0.attn_q.weight"), text.find("token_embd.weight"));
}

TEST(StrategyFile, JsonRoundTripIsLossless) {
  for (const Strategy &original : {full_strategy(), minimal_strategy()}) {
    const std::string text = strategy_to_json_text(original);
    SCOPED_TRACE(text);
    EXPECT_EQ(strategy_from_json_text(text, "s.json"), original);
    EXPECT_EQ(strategy_from_json(strategy_to_json(original), "request"), original);
    // The text is plain JSON any parser reads, with the model's tensor order kept.
    const auto parsed = nlohmann::ordered_json::parse(text);
    EXPECT_EQ(parsed["quantscope_strategy"], 1);
    EXPECT_EQ(parsed["tensors"].begin().key(), "blk.0.attn_q.weight");
  }
  const auto minimal = strategy_to_json(minimal_strategy());
  EXPECT_FALSE(minimal.contains("source"));
  EXPECT_FALSE(minimal.contains("objective"));
  EXPECT_FALSE(minimal.contains("fixed_bytes"));
  EXPECT_FALSE(minimal["tensors"]["blk.0.attn_q.weight"].contains("predicted"));
}

TEST(StrategyFile, YamlToJsonToYamlIsTheSame) {
  const std::string yaml = strategy_to_yaml(full_strategy());
  const Strategy from_yaml = strategy_from_yaml(yaml, "a.yaml");
  const Strategy from_json = strategy_from_json_text(strategy_to_json_text(from_yaml), "b.json");
  EXPECT_EQ(from_json, from_yaml);
  EXPECT_EQ(strategy_to_yaml(from_json), yaml);
}

TEST(StrategyFile, WrittenStrategyIsRecomputedAndNormalised) {
  // Stale totals and a lower-case type name in memory: the file carries what a reader recomputes.
  Strategy s = minimal_strategy();
  s.tensors[0].type = "q4_k";
  s.tensors[0].bytes = 1;
  s.totals.tensor_bytes = 7;
  const std::string text = strategy_to_yaml(s);
  EXPECT_NE(text.find("{type: Q4_K, reason: budget, shape: [256, 64], bits: 4.5, bytes: 9216}"), std::string::npos) << text;
  EXPECT_NE(text.find("tensor_bytes: 9216\n"), std::string::npos) << text;
  const Strategy back = strategy_from_yaml(text, "s.yaml");
  EXPECT_EQ(back, minimal_strategy());
  EXPECT_EQ(strategy_to_json(s)["totals"]["tensor_bytes"], 9216);
  EXPECT_EQ(strategy_to_json(s)["tensors"]["blk.0.attn_q.weight"]["type"], "Q4_K");
}

TEST(StrategyFile, FilesRoundTripByExtension) {
  ScratchDir dir;
  const Strategy original = full_strategy();
  for (const char *name : {"s.yaml", "s.yml", "s.json", "S.YAML"}) {
    SCOPED_TRACE(name);
    write_strategy(original, dir / name);
    EXPECT_EQ(read_strategy(dir / name), original);
    EXPECT_FALSE(fs::exists(dir / (std::string(name) + ".tmp")));
  }
  EXPECT_EQ(read_text(dir / "s.json").front(), '{');
  EXPECT_EQ(strategy_format_for("x.yml"), StrategyFormat::yaml);
  EXPECT_EQ(strategy_format_for("x.Json"), StrategyFormat::json);
  expect_error_containing([&] { write_strategy(original, dir / "s.txt"); }, {"s.txt", ".yaml, .yml or .json"});
  expect_error_containing([&] { write_strategy(original, dir / "strategy"); }, {"strategy", ".yaml, .yml or .json", "no extension"});
  EXPECT_FALSE(fs::exists(dir / "s.txt"));
  expect_error_containing([&] { read_strategy(dir / "s.toml"); }, {"s.toml", ".yaml, .yml or .json"});
}

// ---------------------------------------------------------------------------------------------
// Hand-written files

// As a person would write it: block and flow style mixed, a lower-case type, no reason on one
// tensor, stale totals, bits and bytes that are plain wrong.
const char *const kHandWritten = R"(# made by hand
quantscope_strategy: 1
model:
  source: /abs/models/kjv-llama
  architecture: llama
source: {path: measurements.csv}
objective: {method: manual, metric: kld, target_bpw: 4.5}
fixed_bytes: 1000
totals: {tensor_bytes: 1, params: 2, bpw: 99, file_bytes: 3, count_per_type: {Q8_0: 7}}
tensors:
  blk.0.attn_q.weight: {type: Q4_K, reason: budget, shape: [256, 64], bits: 99, bytes: 1, predicted: 0.0031}
  blk.0.attn_v.weight:
    type: q6_k
    shape: [256, 64]
    predicted: 1.5e-3
  blk.0.ffn_down.weight: {type: Q8_0, reason: pin, shape: [96, 3]}
)";

TEST(StrategyFile, HandWrittenYamlLoadsWithTotalsRecomputed) {
  const Strategy s = strategy_from_yaml(kHandWritten, "hand.yaml");
  EXPECT_EQ(s.model_source, "/abs/models/kjv-llama");
  EXPECT_EQ(s.architecture, "llama");
  EXPECT_FALSE(s.source_job);
  EXPECT_EQ(s.source_path, "measurements.csv");
  EXPECT_EQ(s.objective.method, "manual");
  EXPECT_EQ(s.objective.metric, "kld");
  EXPECT_EQ(s.objective.target_bpw, 4.5);
  EXPECT_FALSE(s.objective.size_bytes);
  EXPECT_EQ(s.fixed_bytes, 1000u);
  ASSERT_EQ(s.tensors.size(), 3u);

  EXPECT_EQ(s.tensors[0].name, "blk.0.attn_q.weight");
  EXPECT_EQ(s.tensors[0].type, "Q4_K");
  EXPECT_EQ(s.tensors[0].reason, ChoiceReason::budget);
  EXPECT_EQ(s.tensors[0].shape, (std::vector<int64_t>{256, 64}));
  EXPECT_EQ(s.tensors[0].bits, 4.5);      // not the 99 written
  EXPECT_EQ(s.tensors[0].bytes, 9216u);   // 64 rows x 1 block x 144 bytes, not the 1 written
  EXPECT_EQ(s.tensors[0].predicted, 0.0031);

  EXPECT_EQ(s.tensors[1].type, "Q6_K");                 // as the type table spells it
  EXPECT_EQ(s.tensors[1].reason, ChoiceReason::manual);  // no reason given: chosen by hand
  EXPECT_EQ(s.tensors[1].bytes, 13440u);                // 64 x 210
  EXPECT_EQ(s.tensors[1].predicted, 0.0015);

  EXPECT_EQ(s.tensors[2].type, "Q8_0");
  EXPECT_EQ(s.tensors[2].reason, ChoiceReason::pin);
  EXPECT_EQ(s.tensors[2].bits, 8.5);     // 34 * 8 / 32
  EXPECT_EQ(s.tensors[2].bytes, 306u);   // 3 rows x 3 blocks x 34 bytes
  EXPECT_FALSE(s.tensors[2].predicted);

  EXPECT_EQ(s.totals.tensor_bytes, 9216u + 13440 + 306);
  EXPECT_EQ(s.totals.params, 16384 + 16384 + 288);
  EXPECT_DOUBLE_EQ(s.totals.bpw, 8.0 * 22962 / 33056);
  EXPECT_EQ(s.totals.file_bytes, 1000u + 9216 + 13440 + 320);  // 306 padded to 320
  EXPECT_FALSE(s.totals.predicted);                              // the Q8_0 tensor has none
  EXPECT_EQ(s.totals.count_per_type, (std::map<std::string, int64_t>{{"Q4_K", 1}, {"Q6_K", 1}, {"Q8_0", 1}}));
}

TEST(StrategyFile, HandEditOfOneTypeChangesTheTotals) {
  std::string edited = kHandWritten;
  const std::string from = "{type: Q4_K, reason: budget";
  ASSERT_NE(edited.find(from), std::string::npos);
  edited.replace(edited.find(from), from.size(), "{type: Q2_K, reason: budget");  // bits and bytes left stale
  const Strategy s = strategy_from_yaml(edited, "hand.yaml");
  EXPECT_EQ(s.tensors[0].type, "Q2_K");
  EXPECT_EQ(s.tensors[0].bits, 2.625);   // 84 * 8 / 256
  EXPECT_EQ(s.tensors[0].bytes, 5376u);  // 64 x 84
  EXPECT_EQ(s.totals.tensor_bytes, 5376u + 13440 + 306);
  EXPECT_EQ(s.totals.file_bytes, 1000u + 5376 + 13440 + 320);
  EXPECT_EQ(s.totals.count_per_type, (std::map<std::string, int64_t>{{"Q2_K", 1}, {"Q6_K", 1}, {"Q8_0", 1}}));
}

TEST(StrategyFile, HandWrittenJsonLoads) {
  const Strategy s = strategy_from_json_text(R"({
    "quantscope_strategy": 1,
    "model": {"architecture": "qwen2", "source": "Qwen/Qwen2-0.5B"},
    "source": {"path": "/db/quantscope.db", "job": 3},
    "tensors": {
      "blk.1.ffn_up.weight": {"type": "IQ4_XS", "shape": [512, 10], "reason": "knee", "predicted": 2e-5},
      "blk.0.ffn_up.weight": {"type": "Q5_K", "shape": [512, 10], "predicted": null}
    }
  })",
                                             "hand.json");
  EXPECT_EQ(s.architecture, "qwen2");
  EXPECT_EQ(s.source_job, 3);
  EXPECT_EQ(s.source_path, "/db/quantscope.db");
  ASSERT_EQ(s.tensors.size(), 2u);
  EXPECT_EQ(s.tensors[0].name, "blk.1.ffn_up.weight");  // the file's order, not sorted
  EXPECT_EQ(s.tensors[0].bytes, 10u * 2 * 136);          // IQ4_XS: 256 values in 136 bytes
  EXPECT_EQ(s.tensors[0].predicted, 2e-5);
  EXPECT_EQ(s.tensors[1].bytes, 10u * 2 * 176);          // Q5_K: 256 values in 176 bytes
  EXPECT_EQ(s.tensors[1].reason, ChoiceReason::manual);
  EXPECT_FALSE(s.tensors[1].predicted);                  // null: not known
  EXPECT_FALSE(s.totals.file_bytes);
}

// ---------------------------------------------------------------------------------------------
// Malformed files

struct BadFile {
  const char *what;
  std::string text;
  std::vector<std::string> message_parts;
};

// Line 4 is the tensor line; the cases below replace one piece of this text.
const std::string kYamlHead = "quantscope_strategy: 1\nmodel: {source: /m, architecture: llama}\ntensors:\n";

std::vector<BadFile> bad_yaml_files() {
  const std::string head = kYamlHead;
  const std::string q = "  blk.0.attn_q.weight: ";
  const std::string valid = head + q + "{type: Q4_K, shape: [256, 64]}\n";  // lines 1-4; line 5 is added
  return {
      {"empty file", "", {"s.yaml", "empty file", "quantscope_strategy"}},
      {"only a comment", "# nothing yet\n", {"s.yaml", "empty file"}},
      {"top level is a list", "- a\n- b\n", {"s.yaml:1", "top level", "a list"}},
      {"top level is a scalar", "hello\n", {"s.yaml:1", "top level", "'hello'"}},
      {"two documents", head + q + "{type: Q4_K, shape: [256, 64]}\n---\nquantscope_strategy: 1\n", {"s.yaml:6", "second YAML document"}},
      {"no version", "model: {source: /m, architecture: llama}\n", {"s.yaml:1", "missing 'quantscope_strategy: 1'", "supported versions: 1"}},
      {"version 2", "quantscope_strategy: 2\n", {"s.yaml:1", "quantscope_strategy", "version 2 is not supported", "supported versions: 1", "newer"}},
      {"version 0", "quantscope_strategy: 0\n", {"s.yaml:1", "version 0 is not supported", "supported versions: 1"}},
      {"version text", "quantscope_strategy: one\n", {"s.yaml:1", "expected a version number", "'one'", "supported versions: 1"}},
      {"no model", "quantscope_strategy: 1\ntensors:\n" + q + "{type: Q4_K, shape: [256, 64]}\n", {"s.yaml:1", "missing 'model'"}},
      {"model not a map", "quantscope_strategy: 1\nmodel: /m\n", {"s.yaml:2", "model", "expected {source, architecture}", "'/m'"}},
      {"no architecture", "quantscope_strategy: 1\nmodel: {source: /m}\n", {"s.yaml:2", "model", "missing 'architecture'"}},
      {"empty source", "quantscope_strategy: 1\nmodel: {source: '', architecture: llama}\n", {"s.yaml:2", "model.source", "empty string"}},
      {"unknown model key", "quantscope_strategy: 1\nmodel: {source: /m, architecture: llama, size: 7b}\n", {"s.yaml:2", "model.size", "unknown key 'size'"}},
      {"no tensors", "quantscope_strategy: 1\nmodel: {source: /m, architecture: llama}\n", {"s.yaml:1", "missing 'tensors'"}},
      {"tensors empty map", head.substr(0, head.size() - 1) + " {}\n", {"s.yaml:3", "tensors", "at least one tensor"}},
      {"tensors with nothing", head, {"s.yaml:3", "tensors", "found nothing"}},
      {"tensors a list", head + "  - blk.0.attn_q.weight\n", {"s.yaml:3", "tensors", "a list"}},
      {"unknown top-level key", head + q + "{type: Q4_K, shape: [256, 64]}\ndefault_type: Q4_K\n", {"s.yaml:5", "unknown key 'default_type'", "tensors"}},
      {"typo tpye", head + q + "{tpye: Q4_K, shape: [256, 64]}\n", {"s.yaml:4", "tensors['blk.0.attn_q.weight'].tpye", "unknown key 'tpye'", "type, reason, shape"}},
      {"no type", head + q + "{shape: [256, 64]}\n", {"s.yaml:4", "tensors['blk.0.attn_q.weight']", "missing 'type'"}},
      {"empty type", head + q + "{type:, shape: [256, 64]}\n", {"s.yaml:4", ".type", "found nothing"}},
      {"no shape", head + q + "{type: Q4_K}\n", {"s.yaml:4", "tensors['blk.0.attn_q.weight']", "missing 'shape'"}},
      {"tensor with nothing", head + q + "\n", {"s.yaml:4", "tensors['blk.0.attn_q.weight']", "found nothing"}},
      {"shape extent a string", head + q + "{type: Q4_K, shape: [256, \"64\"]}\n", {"s.yaml:4", ".shape[1]", "whole number", "the string \"64\""}},
      {"negative shape", head + q + "{type: Q4_K, shape: [256, -64]}\n", {"s.yaml:4", ".shape[1]", "above 0", "'-64'"}},
      {"fractional shape", head + q + "{type: Q4_K, shape: [256, 6.5]}\n", {"s.yaml:4", ".shape[1]", "'6.5'"}},
      {"shape not a list", head + q + "{type: Q4_K, shape: 256}\n", {"s.yaml:4", ".shape", "list of 1 to 4", "'256'"}},
      {"shape of five", head + q + "{type: Q4_K, shape: [256, 1, 1, 1, 1]}\n", {"s.yaml:4", ".shape", "a list of 5"}},
      {"shape on its own lines", head + "  blk.0.attn_q.weight:\n    type: Q4_K\n    shape:\n      - 256\n      - x\n", {"s.yaml:8", ".shape[1]", "'x'"}},
      {"predicted text", head + q + "{type: Q4_K, shape: [256, 64], predicted: abc}\n", {"s.yaml:4", ".predicted", "finite number", "'abc'"}},
      {"predicted infinite", head + q + "{type: Q4_K, shape: [256, 64], predicted: .inf}\n", {"s.yaml:4", ".predicted", "finite number"}},
      {"predicted nan", head + q + "{type: Q4_K, shape: [256, 64], predicted: nan}\n", {"s.yaml:4", ".predicted", "finite number", "'nan'"}},
      {"target bpw inf", valid + "objective: {target_bpw: inf}\n", {"s.yaml:5", "objective.target_bpw", "finite number", "'inf'"}},
      {"shape too large", head + q + "{type: F32, shape: [4294967296, 4294967296]}\n", {"s.yaml:4", ".shape", "more than 2^62 elements"}},
      {"fixed bytes negative", head + q + "{type: Q4_K, shape: [256, 64]}\nfixed_bytes: -5\n", {"s.yaml:5", "fixed_bytes", "whole number of bytes", "'-5'"}},
      {"target bpw quoted", valid + "objective: {target_bpw: \"4.5\"}\n", {"s.yaml:5", "objective.target_bpw", "the string \"4.5\""}},
      {"target bpw zero", valid + "objective: {target_bpw: 0}\n", {"s.yaml:5", "objective.target_bpw", "above 0"}},
      {"job not a number", valid + "source: {job: three, path: /db}\n", {"s.yaml:5", "source.job", "'three'"}},
      {"source without path", valid + "source: {job: 3}\n", {"s.yaml:5", "source", "missing 'path'"}},
      {"unknown objective key", valid + "objective: {metirc: kld}\n", {"s.yaml:5", "objective.metirc", "unknown key"}},
      {"unknown totals key", valid + "totals: {bytes: 3}\n", {"s.yaml:5", "totals.bytes", "unknown key"}},
      {"unknown type", head + q + "{type: Q9_K, shape: [256, 64]}\n", {"s.yaml:4", ".type", "unknown quant type 'Q9_K'", "Q4_K, Q5_K", "quantscope types"}},
      {"type a number", head + q + "{type: 4, shape: [256, 64]}\n", {"s.yaml:4", ".type", "unknown quant type '4'"}},
      {"row not whole blocks", head + q + "{type: Q4_K, shape: [96, 64]}\n", {"s.yaml:4", ".type", "Q4_K is not allowed", "256", "96", "Q8_0"}},
      {"quantized norm", head + "  blk.0.attn_norm.weight: {type: Q8_0, shape: [256]}\n", {"s.yaml:4", "tensors['blk.0.attn_norm.weight'].type", "Q8_0 is not allowed", "does not quantize", "F32, F16, BF16"}},
      {"unknown reason", head + q + "{type: Q4_K, reason: elbow, shape: [256, 64]}\n", {"s.yaml:4", ".reason", "unknown reason 'elbow'", "knee, budget, pin, bin, manual"}},
      {"duplicate tensor", head + q + "{type: Q4_K, shape: [256, 64]}\n" + q + "{type: Q6_K, shape: [256, 64]}\n", {"s.yaml:5", "tensors['blk.0.attn_q.weight']", "appears twice", "s.yaml:4"}},
      {"duplicate top-level key", head + q + "{type: Q4_K, shape: [256, 64]}\nmodel: {source: /n, architecture: llama}\n", {"s.yaml:5", "model", "appears twice", "s.yaml:2"}},
      {"duplicate tensor key", head + q + "{type: Q4_K, type: Q6_K, shape: [256, 64]}\n", {"s.yaml:4", ".type", "appears twice"}},
      {"truncated in a flow map", head + q + "{type: Q4_K, sha", {"s.yaml:4", "YAML syntax error"}},
      {"truncated after a key", head + q.substr(0, q.size() - 1), {"s.yaml:4", "tensors['blk.0.attn_q.weight']", "found nothing"}},
      {"truncated in a string", "quantscope_strategy: 1\nmodel: {source: \"/m", {"s.yaml:2", "YAML syntax error"}},
      {"bad indentation", "quantscope_strategy: 1\nmodel:\n  source: /m\n architecture: llama\n", {"s.yaml:4", "YAML syntax error"}},
      {"list as a key", "quantscope_strategy: 1\n? [a, b]\n: 3\n", {"s.yaml:2", "a key must be a name"}},
  };
}

TEST(StrategyFileErrors, EveryMalformedYamlNamesItsLine) {
  for (const BadFile &bad : bad_yaml_files()) {
    SCOPED_TRACE(std::string(bad.what) + "\n" + bad.text);
    expect_error_containing([&] { strategy_from_yaml(bad.text, "s.yaml"); }, bad.message_parts);
  }
}

TEST(StrategyFileErrors, TheYamlCasesAreValidOnceFixed) {
  // The base the cases break is itself valid, so each error comes from the one thing changed.
  const Strategy s = strategy_from_yaml(kYamlHead + "  blk.0.attn_q.weight: {type: Q4_K, shape: [256, 64]}\n", "s.yaml");
  EXPECT_EQ(s.tensors.size(), 1u);
  EXPECT_NO_THROW(strategy_from_yaml(kYamlHead + "  blk.0.attn_norm.weight: {type: F32, shape: [256]}\n", "s.yaml"));
  EXPECT_NO_THROW(strategy_from_yaml(kYamlHead + "  blk.0.attn_q.weight: {type: Q8_0, shape: [96, 64]}\n", "s.yaml"));
}

const std::string kJsonHead = R"({"quantscope_strategy": 1, "model": {"source": "/m", "architecture": "llama"}, )";

std::vector<BadFile> bad_json_files() {
  const std::string head = kJsonHead;
  const std::string q = R"("tensors": {"blk.0.attn_q.weight": )";
  const std::string t = "tensors['blk.0.attn_q.weight']";
  return {
      {"empty file", "  \n", {"s.json", "empty file"}},
      {"top level is a list", "[1, 2]", {"s.json", "top level", "a list"}},
      {"top level is a string", "\"strategy\"", {"s.json", "top level", "the string \"strategy\""}},
      {"no version", R"({"model": {"source": "/m", "architecture": "llama"}})", {"s.json", "missing 'quantscope_strategy: 1'", "supported versions: 1"}},
      {"version as a string", R"({"quantscope_strategy": "1"})", {"s.json", "quantscope_strategy", "the string \"1\""}},
      {"version 1.0", R"({"quantscope_strategy": 1.0})", {"s.json", "quantscope_strategy", "the number 1.0"}},
      {"version 3", R"({"quantscope_strategy": 3})", {"s.json", "version 3 is not supported", "supported versions: 1"}},
      {"architecture a number", R"({"quantscope_strategy": 1, "model": {"source": "/m", "architecture": 5}})", {"s.json", "model.architecture", "a string", "the number 5"}},
      {"no tensors", R"({"quantscope_strategy": 1, "model": {"source": "/m", "architecture": "llama"}})", {"s.json", "missing 'tensors'"}},
      {"tensors empty", head + R"("tensors": {}})", {"s.json", "tensors", "at least one tensor"}},
      {"typo tpye", head + q + R"({"tpye": "Q4_K", "shape": [256, 64]}}})", {"s.json", t + ".tpye", "unknown key 'tpye'"}},
      {"no shape", head + q + R"({"type": "Q4_K"}}})", {"s.json", t, "missing 'shape'"}},
      {"type null", head + q + R"({"type": null, "shape": [256, 64]}}})", {"s.json", t + ".type", "found nothing"}},
      {"type a boolean", head + q + R"({"type": true, "shape": [256, 64]}}})", {"s.json", t + ".type", "found true"}},
      {"shape extent a string", head + q + R"({"type": "Q4_K", "shape": [256, "64"]}}})", {"s.json", t + ".shape[1]", "the string \"64\""}},
      {"shape extent a fraction", head + q + R"({"type": "Q4_K", "shape": [256, 64.0]}}})", {"s.json", t + ".shape[1]", "the number 64.0"}},
      {"negative shape", head + q + R"({"type": "Q4_K", "shape": [256, -64]}}})", {"s.json", t + ".shape[1]", "above 0", "-64"}},
      {"predicted a string", head + q + R"({"type": "Q4_K", "shape": [256, 64], "predicted": "0.1"}}})", {"s.json", t + ".predicted", "the string \"0.1\""}},
      {"job a fraction", head + R"("source": {"job": 3.5, "path": "/db"}})", {"s.json", "source.job", "the number 3.5"}},
      {"size negative", head + R"("objective": {"size_bytes": -1}})", {"s.json", "objective.size_bytes", "whole number of bytes"}},
      {"unknown type", head + q + R"({"type": "Q3_XL", "shape": [256, 64]}}})", {"s.json", t + ".type", "unknown quant type 'Q3_XL'", "quantscope types"}},
      {"row not whole blocks", head + q + R"({"type": "IQ4_XS", "shape": [96, 64]}}})", {"s.json", t + ".type", "IQ4_XS is not allowed", "96"}},
      {"unknown reason", head + q + R"({"type": "Q4_K", "shape": [256, 64], "reason": "vibes"}}})", {"s.json", t + ".reason", "unknown reason 'vibes'", "knee, budget, pin, bin, manual"}},
      {"duplicate tensor", head + q + R"({"type": "Q4_K", "shape": [256, 64]}, "blk.0.attn_q.weight": {"type": "Q6_K", "shape": [256, 64]}}})", {"s.json", t, "appears twice"}},
      {"duplicate key in a list", head + R"("x": [1, {"a": 1, "a": 2}]})", {"s.json", "x[1].a", "appears twice"}},
      // Line 3, column 12 is the x: the first character that is not JSON.
      {"syntax error", "{\n  \"quantscope_strategy\": 1,\n  \"model\": x\n}", {"s.json:3:12", "JSON syntax error", "invalid literal"}},
      // Cut after `  "model": {"sou` (16 characters) on line 3: the end of input is line 3, column 17.
      {"truncated", "{\n  \"quantscope_strategy\": 1,\n  \"model\": {\"sou", {"s.json:3:17", "JSON syntax error", "missing closing quote"}},
      {"trailing garbage", kJsonHead + q + R"({"type": "Q4_K", "shape": [256, 64]}}} x)", {"s.json:1:", "JSON syntax error"}},
  };
}

TEST(StrategyFileErrors, EveryMalformedJsonNamesItsField) {
  for (const BadFile &bad : bad_json_files()) {
    SCOPED_TRACE(std::string(bad.what) + "\n" + bad.text);
    expect_error_containing([&] { strategy_from_json_text(bad.text, "s.json"); }, bad.message_parts);
  }
  EXPECT_NO_THROW(strategy_from_json_text(kJsonHead + R"("tensors": {"blk.0.attn_q.weight": {"type": "Q4_K", "shape": [256, 64]}}})", "s.json"));
}

TEST(StrategyFileErrors, FilesThatCannotBeRead) {
  ScratchDir dir;
  expect_error_containing([&] { read_strategy(dir / "absent.yaml"); }, {"absent.yaml", "cannot read", "No such file"});
  fs::create_directory(dir / "folder.yaml");
  expect_error_containing([&] { read_strategy(dir / "folder.yaml"); }, {"folder.yaml", "not a regular file"});
  dir.write_text("empty.json", "");
  expect_error_containing([&] { read_strategy(dir / "empty.json"); }, {"empty.json", "empty file"});
  dir.write_text("bad.yaml", kYamlHead + "  blk.0.attn_q.weight: {tpye: Q4_K, shape: [256, 64]}\n");
  expect_error_containing([&] { read_strategy(dir / "bad.yaml"); }, {(dir / "bad.yaml").string() + ":4", "unknown key 'tpye'"});
}

// ---------------------------------------------------------------------------------------------
// The model check

using ModelTensors = std::vector<TensorShape>;

Strategy two_tensor_strategy() {
  Strategy s;
  s.model_source = "/abs/models/kjv-llama";
  s.architecture = "llama";
  s.tensors = {tensor("blk.0.attn_q.weight", {256, 64}, "Q4_K", ChoiceReason::budget),
               tensor("blk.0.ffn_down.weight", {96, 256}, "Q8_0", ChoiceReason::budget)};
  recompute_totals(s);
  return s;
}

const ModelTensors kModel{{"blk.0.attn_q.weight", {256, 64}}, {"blk.0.ffn_down.weight", {96, 256}}};

TEST(StrategyModelCheck, TheModelItWasMadeForPasses) {
  EXPECT_NO_THROW(check_strategy_matches_model(two_tensor_strategy(), kModel, "llama", "s.yaml"));
}

TEST(StrategyModelCheck, AnotherArchitectureIsNamed) {
  expect_error_containing([] { check_strategy_matches_model(two_tensor_strategy(), kModel, "qwen2", "s.yaml"); },
                          {"s.yaml", "made for a llama model", "this is qwen2"});
}

TEST(StrategyModelCheck, AnUnknownTensorIsNamed) {
  Strategy s = two_tensor_strategy();
  s.tensors.push_back(tensor("blk.9.attn_q.weight", {256, 64}, "Q4_K", ChoiceReason::budget));
  expect_error_containing([&] { check_strategy_matches_model(s, kModel, "llama", "s.yaml"); },
                          {"s.yaml", "unknown tensor 'blk.9.attn_q.weight'"});
}

TEST(StrategyModelCheck, AMissingTensorIsNamed) {
  ModelTensors model = kModel;
  model.push_back({"blk.0.ffn_up.weight", {256, 96}});
  expect_error_containing([&] { check_strategy_matches_model(two_tensor_strategy(), model, "llama", "s.yaml"); },
                          {"s.yaml", "missing tensor 'blk.0.ffn_up.weight'"});
}

TEST(StrategyModelCheck, AShapeMismatchIsNamedWithBothShapes) {
  ModelTensors model = kModel;
  model[0].shape = {256, 128};
  expect_error_containing([&] { check_strategy_matches_model(two_tensor_strategy(), model, "llama", "s.yaml"); },
                          {"s.yaml", "'blk.0.attn_q.weight'", "[256, 64] in the strategy", "[256, 128] in the model"});
}

TEST(StrategyModelCheck, FurtherMismatchesAreCounted) {
  ModelTensors model{{"blk.0.ffn_down.weight", {96, 256}}, {"blk.1.attn_q.weight", {256, 64}}, {"blk.2.attn_q.weight", {256, 64}}};
  expect_error_containing([&] { check_strategy_matches_model(two_tensor_strategy(), model, "llama", "s.yaml"); },
                          {"unknown tensor 'blk.0.attn_q.weight'", "and 2 more mismatched tensors"});
}

// ---------------------------------------------------------------------------------------------
// Writes are whole or not at all

TEST(StrategyWrite, AnUnwritableDirectoryGivesAnErrorAndNoFile) {
  ScratchDir dir;
  const fs::path missing = dir / "no_such_dir" / "s.yaml";
  expect_error_containing([&] { write_strategy(full_strategy(), missing); }, {missing.string() + ".tmp", "cannot create"});
  EXPECT_FALSE(fs::exists(dir / "no_such_dir"));

  const fs::path under_a_file = dir.write_text("plain", "x") / "s.json";  // ENOTDIR, even for root
  expect_error_containing([&] { write_strategy(full_strategy(), under_a_file); }, {under_a_file.string() + ".tmp", "cannot create"});
  EXPECT_EQ(read_text(dir / "plain"), "x");

  if (::geteuid() != 0) {  // root writes anywhere
    fs::create_directory(dir / "locked");
    fs::permissions(dir / "locked", fs::perms::owner_read | fs::perms::owner_exec);
    expect_error_containing([&] { write_strategy(full_strategy(), dir / "locked" / "s.yaml"); }, {"locked", "cannot create"});
    EXPECT_TRUE(fs::is_empty(dir / "locked"));
    fs::permissions(dir / "locked", fs::perms::owner_all);
  }
}

TEST(StrategyWrite, AnExistingFileIsReplacedOnlyWhenTheWriteSucceeds) {
  ScratchDir dir;
  const fs::path path = dir.write_text("s.yaml", "old contents\n");
  const fs::path tmp = dir / "s.yaml.tmp";

  Strategy bad = full_strategy();
  bad.tensors[1].type = "Q9_K";
  expect_error_containing([&] { write_strategy(bad, path); }, {path.string(), "not written", "blk.0.attn_v.weight", "Q9_K"});
  EXPECT_EQ(read_text(path), "old contents\n");
  EXPECT_FALSE(fs::exists(tmp));

  // A stale .tmp from an interrupted write is no obstacle, and is gone afterwards.
  dir.write_text("s.yaml.tmp", "half a strat");
  write_strategy(full_strategy(), path);
  EXPECT_EQ(read_strategy(path), full_strategy());
  EXPECT_FALSE(fs::exists(tmp));

  // Renaming over a directory fails at the last step: the directory stays, the .tmp is removed.
  const fs::path folder = dir / "folder.json";
  fs::create_directories(folder / "inside");
  expect_error_containing([&] { write_strategy(full_strategy(), folder); }, {"folder.json", "cannot replace"});
  EXPECT_TRUE(fs::is_directory(folder / "inside"));
  EXPECT_FALSE(fs::exists(dir / "folder.json.tmp"));
}

// A full disk, simulated in a child by a small RLIMIT_FSIZE (SIGXFSZ ignored, so the write fails
// with EFBIG): the write stops half way through the .tmp, and the old file is untouched.
TEST(StrategyWrite, AWriteThatFailsHalfWayLeavesTheOldFileWhole) {
  ScratchDir dir;
  const fs::path path = dir.write_text("s.json", "old contents\n");
  ASSERT_GT(strategy_to_json_text(full_strategy()).size(), 600u);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{512, 512};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(2);
    const std::string message = error_of([&] { write_strategy(full_strategy(), path); });
    std::fprintf(stderr, "child's error: %s\n", message.c_str());
    const bool clear = message.find("s.json.tmp: cannot write") != std::string::npos &&
                       message.find("left as it was") != std::string::npos;
    _exit(clear ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's write did not fail with a clear error (see its stderr)";
  EXPECT_EQ(read_text(path), "old contents\n");
  EXPECT_FALSE(fs::exists(dir / "s.json.tmp"));
}

TEST(StrategyWrite, RefusesWhatWouldNotReadBack) {
  ScratchDir dir;
  const fs::path path = dir / "s.yaml";
  Strategy duplicate = full_strategy();
  duplicate.tensors.push_back(duplicate.tensors[0]);
  expect_error_containing([&] { write_strategy(duplicate, path); }, {"s.yaml", "not written", "'blk.0.attn_q.weight' is listed twice"});
  expect_error_containing([&] { strategy_to_json(duplicate); }, {"listed twice"});

  Strategy not_finite = full_strategy();
  not_finite.tensors[2].predicted = std::nan("");
  expect_error_containing([&] { write_strategy(not_finite, path); }, {"s.yaml", "blk.0.ffn_down.weight", "predicted", "finite"});
  not_finite.tensors[2].predicted = std::numeric_limits<double>::infinity();
  expect_error_containing([&] { strategy_to_json(not_finite); }, {"blk.0.ffn_down.weight", "finite"});

  Strategy no_source = full_strategy();
  no_source.model_source.clear();
  expect_error_containing([&] { write_strategy(no_source, path); }, {"not written", "s.yaml:", "model.source", "empty string"});

  Strategy norm = full_strategy();
  norm.tensors.push_back(tensor("blk.0.attn_norm.weight", {256}, "Q8_0", ChoiceReason::manual));
  expect_error_containing([&] { write_strategy(norm, dir / "s.json"); }, {"not written", "s.json", "blk.0.attn_norm.weight", "Q8_0 is not allowed"});

  Strategy empty = full_strategy();
  empty.tensors.clear();
  expect_error_containing([&] { write_strategy(empty, path); }, {"not written", "at least one tensor"});
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(dir / "s.json"));
}

}  // namespace
}  // namespace qs::strategy_file_test
