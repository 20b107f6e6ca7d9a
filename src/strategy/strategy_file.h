// The strategy file: one schema written as YAML (for people) or JSON (for programs), versioned by
// `quantscope_strategy: 1` and validated strictly on load, every error naming the file and the line
// (YAML) or field path (JSON) at fault. docs: DESIGN.md, "Strategy file".
//
//   quantscope_strategy: 1
//   model: {source: /abs/models/kjv-llama, architecture: llama}
//   source: {job: 3, path: /home/u/.local/share/quantscope/quantscope.db}   # optional; job optional
//   objective: {method: budget, metric: kld, target_bpw: 4.5}   # optional, as are all its keys
//   fixed_bytes: 1234567                                       # optional
//   totals: {...}                                              # written for people, ignored on load
//   tensors:                                                   # in model order, at least one
//     blk.0.attn_v.weight: {type: Q6_K, reason: budget, shape: [256, 64], bits: 6.5625, bytes: 13440, predicted: 0.0031}
//
// On load, each tensor's bits and bytes and the totals are recomputed from types and shapes (a
// hand edit that only changes a type stays consistent); `predicted` is kept as written. Unknown
// keys, duplicate keys, wrong value types, unknown types or reasons, and types the tensor's row
// length or name does not allow are errors. A missing reason reads as `manual`; null reads as
// absent for optional fields. Numbers round-trip exactly; non-finite numbers are refused (JSON has
// none).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "strategy/strategy.h"

namespace qs {

enum class StrategyFormat { yaml, json };

// By extension: .yaml or .yml, .json (any case); anything else throws qs::Error naming the path.
StrategyFormat strategy_format_for(const std::filesystem::path &path);

// Writes path.tmp, then renames it over path, so path is never half-written and an existing file is
// replaced only by a complete one. Refuses (qs::Error, nothing written) a strategy that would not
// read back: an unknown type, duplicate tensor names, a non-finite number, a missing model source.
void write_strategy(const Strategy &strategy, const std::filesystem::path &path);

// Reads and validates a strategy file (format by extension); totals recomputed.
Strategy read_strategy(const std::filesystem::path &path);

// The file's text and JSON without a file (the server). Totals are recomputed in what is written,
// whatever `strategy.totals` holds. JSON objects keep the model's tensor order (ordered_json).
std::string strategy_to_yaml(const Strategy &strategy);
nlohmann::ordered_json strategy_to_json(const Strategy &strategy);
std::string strategy_to_json_text(const Strategy &strategy);  // one tensor a line

// The reverse, with the same validation as read_strategy. `source` names the text in errors (a
// path, "request body").
Strategy strategy_from_yaml(std::string_view text, std::string_view source);
Strategy strategy_from_json_text(std::string_view text, std::string_view source);
// From an already parsed value (duplicate keys are caught only when parsing text).
Strategy strategy_from_json(const nlohmann::ordered_json &json, std::string_view source);

}  // namespace qs
