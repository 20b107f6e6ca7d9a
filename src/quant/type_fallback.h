// What a conversion stores when a tensor's row length does not fit the wanted type: llama.cpp's
// rule (src/llama-quant.cpp, tensor_type_fallback), so our files match what llama-quantize writes.
#pragma once

#include <cstdint>

#include "quant/types.h"

namespace qs {

struct TypeChoice {
  GgmlType type;
  bool fell_back;  // the requested type did not fit the row length
};

// The type to use for a tensor whose rows have n_cols values, when `wanted` is requested.
// 256-block types fall back to a 32-block type of similar size (IQ* -> IQ4_NL, Q2_K/Q3_K/TQ* ->
// Q4_0, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0); if that does not fit either, F16.
TypeChoice fallback_type(GgmlType wanted, int64_t n_cols);

}  // namespace qs
