// `quantscope compare`: build each stock preset and strategy of a model (or take a GGUF given by
// path), run perplexity and KLD against the unquantized model on one text, and gather what the
// table and the HTML report show. Everything a comparison writes goes under one output folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "infer/perplexity.h"
#include "strategy/strategy.h"

namespace qs {

class ProgressSink;

struct CompareRequest {
  std::string model;                     // HF directory or F16/BF16/F32 GGUF: the reference
  std::filesystem::path text;            // held-out text the KLD is measured on
  std::filesystem::path imatrix;         // for presets and strategies that need one (optional)
  std::vector<std::string> presets;      // llama.cpp mixes: "Q4_K_M", ...
  std::vector<std::filesystem::path> strategies;  // strategy files made for this model
  std::vector<std::filesystem::path> ggufs;       // quantized files to take as they are
  std::filesystem::path out_dir;         // where the built GGUFs and the base log-probs go
  int64_t n_ctx = 512;
  int64_t max_chunks = -1;
  int n_threads = 0;
};

enum class CompareKind { preset, strategy, gguf };
const char *compare_kind_name(CompareKind kind);

struct CompareRow {
  std::string name;                  // "Q4_K_M", the strategy file's stem, the GGUF's file name
  CompareKind kind = CompareKind::preset;
  std::filesystem::path gguf;
  uint64_t file_bytes = 0;
  uint64_t tensor_bytes = 0;
  int64_t params = 0;
  double bpw = 0;                    // 8 * tensor_bytes / params (every tensor, as llama.cpp prints)
  Estimate ppl;
  Estimate kld;                      // mean KL divergence from the reference, per scored token
  double kld_p99 = 0;
  Estimate same_top;                 // share of tokens whose most likely next token is unchanged
  std::optional<double> predicted;   // a strategy's predicted summed error, when it has one
  std::string predicted_metric;      // the metric it is in ("kld", ...)
  std::optional<Strategy> strategy;  // the strategy itself (per-tensor bits for the report)
};

struct CompareResult {
  std::string model;
  std::filesystem::path text;
  std::filesystem::path base_log_probs;
  Estimate base_ppl;
  int64_t n_scored = 0;
  std::vector<CompareRow> rows;      // presets, then strategies, then GGUFs, each in the order given
};

// The table as JSON (`compare --json`, the auto job's compare.json): every row's numbers.
nlohmann::ordered_json compare_result_json(const CompareResult &result);

// Every file the comparison reads: no output of it may be one of them.
std::vector<std::filesystem::path> compare_inputs(const CompareRequest &request);

// Throws qs::Error for an unknown preset, a strategy made for another model, a preset or strategy
// that needs an imatrix when none is given, a GGUF of another vocabulary, an output folder that is
// an input, ... — all checked before the first (slow) build.
CompareResult run_compare(const CompareRequest &request, ProgressSink *progress = nullptr);

}  // namespace qs
