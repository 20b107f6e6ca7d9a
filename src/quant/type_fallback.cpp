// llama.cpp's row-length fallback for quantized types.
#include "quant/type_fallback.h"

namespace qs {

TypeChoice fallback_type(GgmlType wanted, int64_t n_cols) {
  const QuantType &type = quant_type(wanted);
  if (n_cols % type.block_size == 0) return {wanted, false};
  GgmlType fallback;
  switch (wanted) {
    case GgmlType::IQ1_S:
    case GgmlType::IQ1_M:
    case GgmlType::IQ2_XXS:
    case GgmlType::IQ2_XS:
    case GgmlType::IQ2_S:
    case GgmlType::IQ3_XXS:
    case GgmlType::IQ3_S:
    case GgmlType::IQ4_XS: fallback = GgmlType::IQ4_NL; break;
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    case GgmlType::TQ1_0:
    case GgmlType::TQ2_0: fallback = GgmlType::Q4_0; break;
    case GgmlType::Q4_K: fallback = GgmlType::Q5_0; break;
    case GgmlType::Q5_K: fallback = GgmlType::Q5_1; break;
    case GgmlType::Q6_K: fallback = GgmlType::Q8_0; break;
    default: fallback = GgmlType::F16; break;  // 32-block types: only F16 is left
  }
  if (n_cols % quant_type(fallback).block_size != 0) fallback = GgmlType::F16;
  return {fallback, true};
}

}  // namespace qs
