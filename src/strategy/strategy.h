// A strategy: the type every quantizable tensor of one model gets, why, and what it is predicted
// to cost. Made by `quantscope strategy` (knee, budget, bins), edited by hand or in the GUI, saved
// as YAML or JSON (strategy/strategy_file.h), applied by `quantscope quantize --strategy`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qs {

// Why a tensor got its type.
enum class ChoiceReason { knee, budget, pin, bin, manual };
const char *choice_reason_name(ChoiceReason reason);
std::optional<ChoiceReason> parse_choice_reason(std::string_view name);  // nullopt when unknown
std::span<const ChoiceReason> all_choice_reasons();                      // in declaration order

struct StrategyTensor {
  std::string name;                  // GGUF name, "blk.0.attn_v.weight"
  std::vector<int64_t> shape;        // ggml order: shape[0] is the row length
  std::string type;                  // quant type name as `quantscope types` prints it ("Q6_K")
  ChoiceReason reason = ChoiceReason::budget;
  double bits = 0;                   // bits per weight of `type` (derived: recomputed on load)
  uint64_t bytes = 0;                // bytes of the tensor in `type` (derived: recomputed on load)
  std::optional<double> predicted;   // the metric's value for this tensor in `type`, when known

  int64_t n_elements() const;
  bool operator==(const StrategyTensor &) const = default;
};

// What the strategy was asked to do (kept so the file says how it was made).
struct StrategyObjective {
  std::string method;  // "knee", "budget", "greedy", "bins", "manual", "recipe"
  std::string metric;  // the metric column the decisions used ("kld", "layer_error", ...)
  std::optional<double> target_bpw;
  std::optional<uint64_t> size_bytes;  // the whole output file
  std::optional<uint64_t> gpu_bytes, cpu_bytes;
  std::string cpu_tensors;             // regex of the tensors the cpu budget holds
  bool operator==(const StrategyObjective &) const = default;
};

struct StrategyTotals {
  uint64_t tensor_bytes = 0;          // the listed (quantizable) tensors in their types
  int64_t params = 0;                 // their parameter count
  double bpw = 0;                     // 8 * tensor_bytes / params
  std::optional<uint64_t> file_bytes; // the whole GGUF, when fixed_bytes is known: fixed_bytes + each
                                      // tensor's bytes padded to gguf::kDefaultAlignment (32)
  std::optional<double> predicted;    // sum of the tensors' predicted errors (none if any is missing)
  std::map<std::string, int64_t> count_per_type;
  bool operator==(const StrategyTotals &) const = default;
};

struct Strategy {
  static constexpr int kVersion = 1;

  // The model it was made for: the source as given, its architecture, and (in tensors) the name
  // and shape of every quantizable tensor, so that it cannot be applied to another model unseen.
  std::string model_source;
  std::string architecture;
  // Where the measurements came from: a job of a job database, or a CSV file.
  std::optional<int64_t> source_job;
  std::string source_path;  // the database or the CSV
  StrategyObjective objective;
  // Bytes of the output file that do not depend on the choice: header, metadata, tokenizer,
  // tensors that stay unquantized, alignment. Known when the strategy was made from the model.
  std::optional<uint64_t> fixed_bytes;
  std::vector<StrategyTensor> tensors;  // in the model's tensor order
  StrategyTotals totals;                // derived from tensors (recompute_totals)

  const StrategyTensor *find(std::string_view name) const;  // nullptr when not listed
  bool operator==(const Strategy &) const = default;
};

// Recomputes every derived field: each tensor's bits and bytes from its type and shape, and the
// totals. Throws qs::Error naming the tensor for an unknown type or a row length the type's blocks
// do not divide.
void recompute_totals(Strategy &strategy);

}  // namespace qs
