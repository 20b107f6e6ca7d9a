// Pins, floors and ceilings on tensor types.
#include "strategy/type_constraints.h"

#include <algorithm>

#include "core/error.h"
#include "formats/gguf.h"
#include "model/quantizable_tensors.h"

namespace qs {

TypeRule parse_type_rule(const std::string &text, std::string_view flag) {
  const size_t eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    fail(flag, ": '", text, "' is not REGEX=TYPE (e.g. 'attn_v=Q6_K')");
  TypeRule rule;
  rule.text = text;
  rule.pattern = text.substr(0, eq);
  try {
    std::regex check(rule.pattern);
  } catch (const std::regex_error &e) {
    fail(flag, ": bad regular expression '", rule.pattern, "': ", e.what());
  }
  const std::string type_name = text.substr(eq + 1);
  rule.type = find_quant_type(type_name);
  if (!rule.type) fail(flag, ": unknown type '", type_name, "' in '", text, "' (see `quantscope types`)");
  return rule;
}

TypeRule exact_tensor_rule(const std::string &tensor, const QuantType &type, std::string_view flag) {
  std::string pattern = "^";
  for (char c : tensor) {
    if (c == '.') pattern += '\\';
    pattern += c;
  }
  pattern += '$';
  return TypeRule{cat(flag, " ", type.name), pattern, &type};
}

namespace {

struct CompiledRule {
  const TypeRule *rule;
  std::regex regex;
  bool used = false;
};

std::vector<CompiledRule> compile(const std::vector<TypeRule> &rules) {
  std::vector<CompiledRule> compiled;
  for (const auto &r : rules) compiled.push_back({&r, std::regex(r.pattern)});
  return compiled;
}

}  // namespace

std::vector<ConstrainedTensor> apply_type_constraints(const CandidateTable &table, const TypeConstraints &constraints) {
  auto pins = compile(constraints.pins);
  auto floors = compile(constraints.min_types);
  auto ceilings = compile(constraints.max_types);

  std::vector<ConstrainedTensor> out;
  for (const TensorCandidates &t : table.tensors) {
    ConstrainedTensor c;
    c.tensor = &t;
    // Floors and ceilings are matched for pinned tensors too: a pin overrides them, but they are
    // still rules that meant something.
    double min_bits = 0, max_bits = 1e9;
    for (auto &f : floors) {
      if (!std::regex_search(t.tensor, f.regex)) continue;
      f.used = true;
      min_bits = std::max(min_bits, f.rule->type->bits_per_weight());
    }
    for (auto &f : ceilings) {
      if (!std::regex_search(t.tensor, f.regex)) continue;
      f.used = true;
      max_bits = std::min(max_bits, f.rule->type->bits_per_weight());
    }
    for (auto &pin : pins) {
      if (!std::regex_search(t.tensor, pin.regex)) continue;
      pin.used = true;
      const QuantType &type = *pin.rule->type;
      const auto allowed = allowed_quant_types(t.tensor, t.shape);
      if (std::find(allowed.begin(), allowed.end(), &type) == allowed.end())
        fail(pin.rule->text, ": ", t.tensor, " cannot be ", type.name, " (rows of ", t.shape.at(0), " values)");
      const auto measured = std::find_if(t.candidates.begin(), t.candidates.end(),
                                         [&](const Candidate &m) { return m.type == &type; });
      if (measured != t.candidates.end()) {
        c.pinned = *measured;
        c.pinned_measured = true;
      } else {
        c.pinned = Candidate{&type, type.bits_per_weight(), gguf::tensor_bytes(type.id, t.shape), 0.0, false};
      }
      break;
    }
    if (!c.pinned) {
      for (const Candidate &cand : t.candidates)
        if (cand.bits >= min_bits && cand.bits <= max_bits) c.allowed.push_back(cand);
      if (c.allowed.empty())
        fail(t.tensor, ": no measured type between ", min_bits, " and ", max_bits,
             " bits per weight (--min-type / --max-type leave it nothing to choose)");
    }
    out.push_back(std::move(c));
  }
  for (const auto *rules : {&pins, &floors, &ceilings})
    for (const auto &r : *rules)
      if (!r.used) fail(r.rule->text, ": the pattern '", r.rule->pattern, "' matches no quantizable tensor");
  return out;
}

}  // namespace qs
