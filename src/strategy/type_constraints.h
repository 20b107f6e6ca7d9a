// What the user fixes before any method decides: pins (--pin REGEX=TYPE, --output-type,
// --token-embd-type) and per-regex floors and ceilings (--min-type / --max-type REGEX=TYPE).
// Classified once per tensor, then every method (knee, budget, bins) sees only what is left.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "strategy/candidate_table.h"

namespace qs {

struct TypeRule {
  std::string text;     // as given, for messages
  std::string pattern;  // ECMAScript regex searched in the GGUF name (not anchored, as llama-quantize)
  const QuantType *type = nullptr;
};

// Parses "REGEX=TYPE" (the last '=' splits, so a regex may hold one). `flag` names the option in
// errors: a missing '=', an empty side, a bad regex, an unknown type.
TypeRule parse_type_rule(const std::string &text, std::string_view flag);
// A rule for one exact tensor name (--output-type T is ^output\.weight$ = T).
TypeRule exact_tensor_rule(const std::string &tensor, const QuantType &type, std::string_view flag);

struct TypeConstraints {
  std::vector<TypeRule> pins;       // the first matching pin wins
  std::vector<TypeRule> min_types;  // every matching floor applies (the highest wins)
  std::vector<TypeRule> max_types;  // every matching ceiling applies (the lowest wins)
};

// One tensor after the constraints: pinned to one type, or free among `allowed`.
struct ConstrainedTensor {
  const TensorCandidates *tensor = nullptr;
  std::optional<Candidate> pinned;  // error 0 and `measured` false when the pin's type was not measured
  bool pinned_measured = false;
  std::vector<Candidate> allowed;   // the candidates within every floor and ceiling, most bits first
};

// Applies the constraints to every tensor of the table, in table order. Errors name the tensor and
// rule: a pin to a type the tensor's shape does not allow, floors and ceilings that leave a tensor no
// measured candidate, a rule that matches no tensor at all (a typo would otherwise be silent).
std::vector<ConstrainedTensor> apply_type_constraints(const CandidateTable &table, const TypeConstraints &constraints);

}  // namespace qs
