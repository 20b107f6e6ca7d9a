// The rows of the quant type table. Block sizes and bytes are ggml's (ggml-common.h); the
// static_asserts in each family header pin the block structs to these byte counts.
#include "quant/types.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "core/error.h"
#include "quant/float_types.h"
#include "quant/iquants.h"
#include "quant/kquants.h"
#include "quant/legacy.h"
#include "quant/mxfp4.h"
#include "quant/ternary.h"

namespace qs {
namespace {

#define QS_TYPE_FUNCTIONS(fn) quantize_##fn, quantize_##fn##_ref, dequantize_##fn, dequantize_##fn##_ref

// id, name, block size, block bytes, needs imatrix, on the default ladder, functions.
// The imatrix requirement follows ggml_quantize_requires_imatrix (IQ2_XXS, IQ2_XS, IQ1_S).
constexpr std::array kQuantTypes = {
    QuantType{GgmlType::F32, "F32", 1, 4, false, false, QS_TYPE_FUNCTIONS(f32)},
    QuantType{GgmlType::F16, "F16", 1, 2, false, false, QS_TYPE_FUNCTIONS(f16)},
    QuantType{GgmlType::Q4_0, "Q4_0", 32, 18, false, true, QS_TYPE_FUNCTIONS(q4_0)},
    QuantType{GgmlType::Q4_1, "Q4_1", 32, 20, false, true, QS_TYPE_FUNCTIONS(q4_1)},
    QuantType{GgmlType::Q5_0, "Q5_0", 32, 22, false, true, QS_TYPE_FUNCTIONS(q5_0)},
    QuantType{GgmlType::Q5_1, "Q5_1", 32, 24, false, true, QS_TYPE_FUNCTIONS(q5_1)},
    QuantType{GgmlType::Q8_0, "Q8_0", 32, 34, false, true, QS_TYPE_FUNCTIONS(q8_0)},
    QuantType{GgmlType::Q2_K, "Q2_K", 256, 84, false, true, QS_TYPE_FUNCTIONS(q2_K)},
    QuantType{GgmlType::Q3_K, "Q3_K", 256, 110, false, true, QS_TYPE_FUNCTIONS(q3_K)},
    QuantType{GgmlType::Q4_K, "Q4_K", 256, 144, false, true, QS_TYPE_FUNCTIONS(q4_K)},
    QuantType{GgmlType::Q5_K, "Q5_K", 256, 176, false, true, QS_TYPE_FUNCTIONS(q5_K)},
    QuantType{GgmlType::Q6_K, "Q6_K", 256, 210, false, true, QS_TYPE_FUNCTIONS(q6_K)},
    QuantType{GgmlType::IQ2_XXS, "IQ2_XXS", 256, 66, true, true, QS_TYPE_FUNCTIONS(iq2_xxs)},
    QuantType{GgmlType::IQ2_XS, "IQ2_XS", 256, 74, true, true, QS_TYPE_FUNCTIONS(iq2_xs)},
    QuantType{GgmlType::IQ3_XXS, "IQ3_XXS", 256, 98, false, true, QS_TYPE_FUNCTIONS(iq3_xxs)},
    QuantType{GgmlType::IQ1_S, "IQ1_S", 256, 50, true, true, QS_TYPE_FUNCTIONS(iq1_s)},
    QuantType{GgmlType::IQ4_NL, "IQ4_NL", 32, 18, false, true, QS_TYPE_FUNCTIONS(iq4_nl)},
    QuantType{GgmlType::IQ3_S, "IQ3_S", 256, 110, false, true, QS_TYPE_FUNCTIONS(iq3_s)},
    QuantType{GgmlType::IQ2_S, "IQ2_S", 256, 82, false, true, QS_TYPE_FUNCTIONS(iq2_s)},
    QuantType{GgmlType::IQ4_XS, "IQ4_XS", 256, 136, false, true, QS_TYPE_FUNCTIONS(iq4_xs)},
    QuantType{GgmlType::IQ1_M, "IQ1_M", 256, 56, false, true, QS_TYPE_FUNCTIONS(iq1_m)},
    QuantType{GgmlType::BF16, "BF16", 1, 2, false, false, QS_TYPE_FUNCTIONS(bf16)},
    // Ternary and MXFP4 are formats for models trained for them; quantizing an ordinary model
    // to them is allowed but they are not on the default ladder.
    QuantType{GgmlType::TQ1_0, "TQ1_0", 256, 54, false, false, QS_TYPE_FUNCTIONS(tq1_0)},
    QuantType{GgmlType::TQ2_0, "TQ2_0", 256, 66, false, false, QS_TYPE_FUNCTIONS(tq2_0)},
    QuantType{GgmlType::MXFP4, "MXFP4", 32, 17, false, false, QS_TYPE_FUNCTIONS(mxfp4)},
};

#undef QS_TYPE_FUNCTIONS

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::span<const QuantType> all_quant_types() { return kQuantTypes; }

const QuantType *find_quant_type(GgmlType id) {
  for (const auto &t : kQuantTypes)
    if (t.id == id) return &t;
  return nullptr;
}

const QuantType *find_quant_type(uint32_t raw_id) { return find_quant_type(static_cast<GgmlType>(raw_id)); }

const QuantType *find_quant_type(std::string_view name) {
  for (const auto &t : kQuantTypes)
    if (equal_ignoring_case(t.name, name)) return &t;
  return nullptr;
}

const QuantType &quant_type_by_name(std::string_view name) {
  if (const QuantType *t = find_quant_type(name)) return *t;
  std::string known;
  for (const auto &t : kQuantTypes) known += (known.empty() ? "" : ", ") + std::string(t.name);
  fail("unknown quant type '", name, "' (known: ", known, ")");
}

const QuantType &quant_type(GgmlType id) {
  if (const QuantType *t = find_quant_type(id)) return *t;
  fail("unknown ggml type id ", static_cast<uint32_t>(id));
}

}  // namespace qs
