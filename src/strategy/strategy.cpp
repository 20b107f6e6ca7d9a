// A strategy's derived numbers: each tensor's bits and bytes from its type, and the totals a
// person or a budget reads (file size, bits per weight, predicted error).
#include "strategy/strategy.h"

#include <array>

#include "core/error.h"
#include "formats/gguf.h"
#include "quant/types.h"

namespace qs {

namespace {

constexpr std::array<ChoiceReason, 5> kReasons{ChoiceReason::knee, ChoiceReason::budget, ChoiceReason::pin,
                                               ChoiceReason::bin, ChoiceReason::manual};

uint64_t checked_add(uint64_t a, uint64_t b, std::string_view what) {
  if (b > UINT64_MAX - a) fail("the strategy's ", what, " overflow 64 bits");
  return a + b;
}

}  // namespace

const char *choice_reason_name(ChoiceReason reason) {
  switch (reason) {  // no default: -Wswitch flags a new reason without a name
    case ChoiceReason::knee: return "knee";
    case ChoiceReason::budget: return "budget";
    case ChoiceReason::pin: return "pin";
    case ChoiceReason::bin: return "bin";
    case ChoiceReason::manual: return "manual";
  }
  return "unknown";
}

std::optional<ChoiceReason> parse_choice_reason(std::string_view name) {
  for (ChoiceReason r : kReasons)
    if (name == choice_reason_name(r)) return r;
  return std::nullopt;
}

std::span<const ChoiceReason> all_choice_reasons() { return kReasons; }

int64_t StrategyTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const StrategyTensor *Strategy::find(std::string_view name) const {
  for (const auto &t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

void recompute_totals(Strategy &strategy) {
  StrategyTotals totals;
  uint64_t padded_total = 0;
  double predicted_sum = 0;
  bool all_predicted = true;
  for (auto &t : strategy.tensors) {
    const QuantType *type = find_quant_type(t.type);
    try {
      if (!type) type = &quant_type_by_name(t.type);  // throws, listing the known names
      t.bytes = gguf::tensor_bytes(type->id, t.shape);
    } catch (const Error &e) {
      fail("tensor '", t.name, "': ", e.what());
    }
    t.bits = type->bits_per_weight();
    totals.tensor_bytes = checked_add(totals.tensor_bytes, t.bytes, "tensor bytes");
    padded_total = checked_add(padded_total, gguf::padded_bytes(t.bytes), "tensor bytes");
    totals.params += t.n_elements();
    ++totals.count_per_type[type->name];
    if (t.predicted)
      predicted_sum += *t.predicted;
    else
      all_predicted = false;
  }
  totals.bpw = totals.params > 0 ? 8.0 * static_cast<double>(totals.tensor_bytes) / static_cast<double>(totals.params) : 0.0;
  if (strategy.fixed_bytes) totals.file_bytes = checked_add(*strategy.fixed_bytes, padded_total, "file bytes");
  if (all_predicted) totals.predicted = predicted_sum;
  strategy.totals = std::move(totals);
}

}  // namespace qs
