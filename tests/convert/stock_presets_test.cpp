// llama-quantize's stock presets, tensor by tensor, against tables written by hand from llama.cpp's
// src/llama-quant.cpp (llama_tensor_get_type_impl, tensor_type_fallback, tensor_requires_imatrix,
// llama_ftype_get_default_type), llama.h's llama_ftype and tools/quantize/quantize.cpp. Nothing here
// was produced by running the code under test.
#include "convert/stock_presets.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "model/architectures.h"
#include "test_support.h"

namespace qs::stock_presets_test {
namespace {

std::string model_dir(const std::string &name) { return std::string(QUANTSCOPE_SOURCE_DIR) + "/models/" + name; }

std::string name_of(GgmlType type) { return quant_type(type).name; }

const StockPreset &preset(const char *name) {
  const StockPreset *p = find_stock_preset(name);
  if (!p) throw std::runtime_error(std::string("no stock preset ") + name);
  return *p;
}

// ---- the preset table ----

TEST(StockPresets, TableFollowsLlamaH) {
  struct Row {
    const char *name;
    uint32_t ftype;  // llama.h LLAMA_FTYPE_MOSTLY_*
    const char *default_type;
    bool needs_imatrix;
  };
  // Default types: llama_ftype_get_default_type. needs_imatrix: the presets whose default type or
  // a rule-picked type for a block tensor is IQ1_S/IQ1_M/IQ2_XXS/IQ2_XS/IQ2_S/IQ3_XXS, or Q2_K in
  // Q2_K_S (tensor_requires_imatrix): IQ2_M defaults to IQ2_S, IQ3_XS gives attn_q IQ3_XXS.
  const Row expected[] = {
      {"Q4_0", 2, "Q4_0", false},       {"Q4_1", 3, "Q4_1", false},      {"MXFP4_MOE", 38, "MXFP4", false},
      {"Q5_0", 8, "Q5_0", false},       {"Q5_1", 9, "Q5_1", false},      {"IQ2_XXS", 19, "IQ2_XXS", true},
      {"IQ2_XS", 20, "IQ2_XS", true},   {"IQ2_S", 28, "IQ2_XS", true},   {"IQ2_M", 29, "IQ2_S", true},
      {"IQ1_S", 24, "IQ1_S", true},     {"IQ1_M", 31, "IQ1_M", true},    {"Q2_K", 10, "Q2_K", false},
      {"Q2_K_S", 21, "Q2_K", true},     {"IQ3_XXS", 23, "IQ3_XXS", true}, {"IQ3_S", 26, "IQ3_S", false},
      {"IQ3_M", 27, "IQ3_S", false},    {"IQ3_XS", 22, "IQ3_S", true},   {"Q3_K_S", 11, "Q3_K", false},
      {"Q3_K_M", 12, "Q3_K", false},    {"Q3_K_L", 13, "Q3_K", false},   {"IQ4_NL", 25, "IQ4_NL", false},
      {"IQ4_XS", 30, "IQ4_XS", false},  {"Q4_K_S", 14, "Q4_K", false},   {"Q4_K_M", 15, "Q4_K", false},
      {"Q5_K_S", 16, "Q5_K", false},    {"Q5_K_M", 17, "Q5_K", false},   {"Q6_K", 18, "Q6_K", false},
      {"Q8_0", 7, "Q8_0", false},
  };
  ASSERT_EQ(all_stock_presets().size(), std::size(expected));
  for (size_t i = 0; i < std::size(expected); ++i) {
    const StockPreset &p = all_stock_presets()[i];
    EXPECT_EQ(std::string(p.name), expected[i].name);
    EXPECT_EQ(static_cast<uint32_t>(p.ftype), expected[i].ftype) << p.name;
    EXPECT_EQ(name_of(p.default_type), expected[i].default_type) << p.name;
    EXPECT_EQ(p.needs_imatrix, expected[i].needs_imatrix) << p.name;
    EXPECT_NE(std::string(p.description), "") << p.name;
  }
}

TEST(StockPresets, FoundByNameIgnoringCase) {
  ASSERT_NE(find_stock_preset("q4_k_m"), nullptr);
  EXPECT_EQ(find_stock_preset("q4_k_m")->ftype, LlamaFtype::Q4_K_M);
  EXPECT_EQ(find_stock_preset("Iq2_Xxs")->ftype, LlamaFtype::IQ2_XXS);
  EXPECT_EQ(find_stock_preset("Q4_K"), nullptr);  // a tensor type; llama-quantize's alias is not taken
  EXPECT_EQ(find_stock_preset("F16"), nullptr);
  EXPECT_EQ(find_stock_preset(""), nullptr);
}

// ---- the shipped models, every tensor, every preset ----

// Tensor kinds, as the test reads them off GGUF names on its own.
enum class Kind { TokenEmbd, Output, AttnQ, AttnK, AttnV, AttnOutput, FfnGate, FfnUp, FfnDown, Unquantized };

Kind kind_of(const std::string &name) {
  if (name == "token_embd.weight") return Kind::TokenEmbd;
  if (name == "output.weight") return Kind::Output;
  const auto ends_with = [&](const std::string &end) {
    return name.size() >= end.size() && name.compare(name.size() - end.size(), end.size(), end) == 0;
  };
  // Norms, biases, rope factors and MoE routers stay as they are (llama.cpp's tensor_allows_quantization).
  if (ends_with("_norm.weight") || ends_with(".bias") || name == "rope_freqs.weight" || ends_with("ffn_gate_inp.weight"))
    return Kind::Unquantized;
  const std::string tail = name.substr(name.find('.', 4) + 1);  // after "blk.N."
  if (tail == "attn_q.weight") return Kind::AttnQ;
  if (tail == "attn_k.weight") return Kind::AttnK;
  if (tail == "attn_v.weight") return Kind::AttnV;
  if (tail == "attn_output.weight") return Kind::AttnOutput;
  if (tail == "ffn_gate.weight" || tail == "ffn_gate_exps.weight") return Kind::FfnGate;
  if (tail == "ffn_up.weight" || tail == "ffn_up_exps.weight") return Kind::FfnUp;
  if (tail == "ffn_down.weight" || tail == "ffn_down_exps.weight") return Kind::FfnDown;
  throw std::runtime_error("the test does not know tensor " + name);
}

int layer_in_name(const std::string &name) {
  int layer = -1;
  return std::sscanf(name.c_str(), "blk.%d.", &layer) == 1 ? layer : -1;
}

// One preset's requested types (before the row-length fallback). A field is one type for every
// layer, or one type per layer. A tied model has no output.weight, and its token_embd takes the
// output column (llama.cpp quantizes it as the output matrix).
struct Row {
  const char *preset;
  const char *token_embd, *output, *attn_q, *attn_k, *attn_v, *attn_output, *ffn_gate, *ffn_up, *ffn_down;
};
// Where a model, or quantizing without an imatrix, changes one field of a row.
struct Change {
  const char *preset;
  Kind kind;
  const char *types;
};

// The tiny models: 2 layers, 4 heads over 2 KV heads (n_gqa 2, so no n_gqa >= 4 rule), rows of 64
// or 128 values. Derivation, n = 2:
//  - n/8 = 0, n/16 = 0, 7n/8 = 1: "first eighth" rules (i < n/8) never fire;
//  - use_more_bits(i, 2) = i < 0 || i >= 1 || (i - 0) % 3 == 2: layer 1 only (attn_v's counter
//    runs over the 2 attn_v tensors, the same);
//  - Q3_K_M attn_v: i < 2 -> Q5_K for both; Q4_K_S attn_v: i < 4 -> Q5_K for both;
//  - IQ3_XS ffn_gate/up: IQ3_XXS for n/8 <= i < 7n/8, i.e. layer 0;
//  - output (and tied token_embd): the row, 64, is checked against the preset's default type:
//    not a multiple of a 256-block -> Q8_0; for 32-block defaults -> Q6_K (Q8_0 stays Q8_0);
//    MXFP4_MOE -> Q8_0 always;
//  - untied token_embd: IQ2_XXS/IQ2_XS/IQ1_S/IQ1_M -> Q2_K; IQ2_S/IQ2_M/IQ3_XXS -> IQ3_S;
//  - IQ1/IQ2 mixes (n_expert 0, n_gqa 2): attn_v Q2_K (IQ3_S for IQ2_S/IQ2_M); attn_output
//    IQ2_XXS for IQ1_*, IQ3_S for IQ2_S/IQ2_M; ffn_down counter < n/8 = 0 never;
//  - with an imatrix: IQ3_XXS attn_v stays IQ3_XXS, ffn_down IQ3_XXS.
constexpr Row kTinyRows[] = {
    // preset, token_embd, output, attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down
    {"Q4_0", "Q4_0", "Q6_K", "Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q4_0"},
    {"Q4_1", "Q4_1", "Q6_K", "Q4_1", "Q4_1", "Q4_1", "Q4_1", "Q4_1", "Q4_1", "Q4_1"},
    {"MXFP4_MOE", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0"},
    {"Q5_0", "Q5_0", "Q6_K", "Q5_0", "Q5_0", "Q5_0", "Q5_0", "Q5_0", "Q5_0", "Q5_0"},
    {"Q5_1", "Q5_1", "Q6_K", "Q5_1", "Q5_1", "Q5_1", "Q5_1", "Q5_1", "Q5_1", "Q5_1"},
    {"IQ2_XXS", "Q2_K", "Q8_0", "IQ2_XXS", "IQ2_XXS", "Q2_K", "IQ2_XXS", "IQ2_XXS", "IQ2_XXS", "IQ2_XXS"},
    {"IQ2_XS", "Q2_K", "Q8_0", "IQ2_XS", "IQ2_XS", "Q2_K", "IQ2_XS", "IQ2_XS", "IQ2_XS", "IQ2_XS"},
    {"IQ2_S", "IQ3_S", "Q8_0", "IQ2_XS", "IQ2_XS", "IQ3_S", "IQ3_S", "IQ2_XS", "IQ2_XS", "IQ2_XS"},
    {"IQ2_M", "IQ3_S", "Q8_0", "IQ2_S", "IQ2_S", "IQ3_S", "IQ3_S", "IQ2_S", "IQ2_S", "IQ2_S"},
    {"IQ1_S", "Q2_K", "Q8_0", "IQ1_S", "IQ1_S", "Q2_K", "IQ2_XXS", "IQ1_S", "IQ1_S", "IQ1_S"},
    {"IQ1_M", "Q2_K", "Q8_0", "IQ1_M", "IQ1_M", "Q2_K", "IQ2_XXS", "IQ1_M", "IQ1_M", "IQ1_M"},
    {"Q2_K", "Q2_K", "Q8_0", "Q2_K", "Q2_K", "Q3_K", "Q3_K", "Q2_K", "Q2_K", "Q3_K"},
    {"Q2_K_S", "Q2_K", "Q8_0", "Q2_K", "Q2_K", "Q2_K", "Q2_K", "Q2_K", "Q2_K", "Q2_K"},
    {"IQ3_XXS", "IQ3_S", "Q8_0", "IQ2_S", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ3_XXS", "IQ3_XXS", "IQ3_XXS"},
    {"IQ3_S", "IQ3_S", "Q8_0", "IQ3_S", "IQ3_S", "IQ3_S", "IQ3_S", "IQ3_S", "IQ3_S", "IQ3_S"},
    {"IQ3_M", "IQ3_S", "Q8_0", "IQ3_S", "IQ3_S", "Q4_K", "Q4_K", "IQ3_S", "IQ3_S", "IQ3_S"},
    {"IQ3_XS", "IQ3_S", "Q8_0", "IQ3_XXS", "IQ3_XXS", "IQ3_S", "IQ3_S", "IQ3_XXS IQ3_S", "IQ3_XXS IQ3_S", "IQ3_S"},
    {"Q3_K_S", "Q3_K", "Q8_0", "Q3_K", "Q3_K", "Q3_K", "Q3_K", "Q3_K", "Q3_K", "Q3_K"},
    {"Q3_K_M", "Q3_K", "Q8_0", "Q3_K", "Q3_K", "Q5_K", "Q4_K", "Q3_K", "Q3_K", "Q4_K"},
    {"Q3_K_L", "Q3_K", "Q8_0", "Q3_K", "Q3_K", "Q5_K", "Q5_K", "Q3_K", "Q3_K", "Q5_K"},
    {"IQ4_NL", "IQ4_NL", "Q6_K", "IQ4_NL", "IQ4_NL", "IQ4_NL", "IQ4_NL", "IQ4_NL", "IQ4_NL", "IQ4_NL"},
    {"IQ4_XS", "IQ4_XS", "Q8_0", "IQ4_XS", "IQ4_XS", "IQ4_XS", "IQ4_XS", "IQ4_XS", "IQ4_XS", "IQ4_XS"},
    {"Q4_K_S", "Q4_K", "Q8_0", "Q4_K", "Q4_K", "Q5_K", "Q4_K", "Q4_K", "Q4_K", "Q4_K"},
    {"Q4_K_M", "Q4_K", "Q8_0", "Q4_K", "Q4_K", "Q4_K Q6_K", "Q4_K", "Q4_K", "Q4_K", "Q4_K Q6_K"},
    {"Q5_K_S", "Q5_K", "Q8_0", "Q5_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K"},
    {"Q5_K_M", "Q5_K", "Q8_0", "Q5_K", "Q5_K", "Q5_K Q6_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K Q6_K"},
    {"Q6_K", "Q6_K", "Q8_0", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K"},
    {"Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0"},
};
// Without an imatrix: IQ3_XXS attn_v (n_gqa < 4) is IQ3_S, its ffn_down i < n/8 ? Q4_K : Q3_K.
// The IQ4 and Q4_0/Q5_0 ffn_down rules touch only i < n/8, no layer here.
constexpr Change kTinyWithoutImatrix[] = {
    {"IQ3_XXS", Kind::AttnV, "IQ3_S"},
    {"IQ3_XXS", Kind::FfnDown, "Q3_K"},
};
// The tiny MoE models have 4 experts: in IQ1/IQ2 mixes n_expert >= 4 lifts attn_v to Q4_K; the
// n_expert == 8 rules do not apply; MXFP4_MOE gives the stacked experts (ne[2] = 4 > 1) MXFP4.
constexpr Change kTinyMoe[] = {
    {"IQ2_XXS", Kind::AttnV, "Q4_K"},     {"IQ2_XS", Kind::AttnV, "Q4_K"},      {"IQ2_S", Kind::AttnV, "Q4_K"},
    {"IQ2_M", Kind::AttnV, "Q4_K"},       {"IQ1_S", Kind::AttnV, "Q4_K"},       {"IQ1_M", Kind::AttnV, "Q4_K"},
    {"MXFP4_MOE", Kind::FfnGate, "MXFP4"}, {"MXFP4_MOE", Kind::FfnUp, "MXFP4"}, {"MXFP4_MOE", Kind::FfnDown, "MXFP4"},
};

// kjv-llama: 8 layers, n_gqa 2, untied, every row a multiple of 256 (256 and 768), so no fallback
// and the output rule's row test never fires. Derivation, n = 8:
//  - n/8 = 1 (layer 0 is the "first eighth"), n/16 = 0, 7n/8 = 7;
//  - use_more_bits(i, 8) = i < 1 || i >= 7 || (i - 1) % 3 == 2: layers 0, 3, 6, 7;
//  - Q3_K_M attn_v Q5_K for counters 0, 1; Q4_K_S attn_v Q5_K for 0..3;
//  - IQ3_XS ffn_gate/up IQ3_XXS for layers 1..6;
//  - output: Q6_K, Q5_K for IQ1/IQ2 mixes and IQ3_XXS, Q8_0 for Q8_0 and MXFP4_MOE;
//  - ffn_down of layer 0: Q2_K_S Q4_K, IQ3_M Q4_K, Q4_K_S Q5_K, IQ1/IQ2 mixes Q2_K (IQ3_S for
//    IQ2_S/IQ2_M), and with an imatrix Q4_0 -> Q4_1, Q5_0 -> Q5_1.
constexpr Row kKjvRows[] = {
    {"Q4_0", "Q4_0", "Q6_K", "Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q4_0", "Q4_1 Q4_0 Q4_0 Q4_0 Q4_0 Q4_0 Q4_0 Q4_0"},
    {"Q4_1", "Q4_1", "Q6_K", "Q4_1", "Q4_1", "Q4_1", "Q4_1", "Q4_1", "Q4_1", "Q4_1"},
    {"MXFP4_MOE", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0"},
    {"Q5_0", "Q5_0", "Q6_K", "Q5_0", "Q5_0", "Q5_0", "Q5_0", "Q5_0", "Q5_0", "Q5_1 Q5_0 Q5_0 Q5_0 Q5_0 Q5_0 Q5_0 Q5_0"},
    {"Q5_1", "Q5_1", "Q6_K", "Q5_1", "Q5_1", "Q5_1", "Q5_1", "Q5_1", "Q5_1", "Q5_1"},
    {"IQ2_XXS", "Q2_K", "Q5_K", "IQ2_XXS", "IQ2_XXS", "Q2_K", "IQ2_XXS", "IQ2_XXS", "IQ2_XXS",
     "Q2_K IQ2_XXS IQ2_XXS IQ2_XXS IQ2_XXS IQ2_XXS IQ2_XXS IQ2_XXS"},
    {"IQ2_XS", "Q2_K", "Q5_K", "IQ2_XS", "IQ2_XS", "Q2_K", "IQ2_XS", "IQ2_XS", "IQ2_XS",
     "Q2_K IQ2_XS IQ2_XS IQ2_XS IQ2_XS IQ2_XS IQ2_XS IQ2_XS"},
    {"IQ2_S", "IQ3_S", "Q5_K", "IQ2_XS", "IQ2_XS", "IQ3_S", "IQ3_S", "IQ2_XS", "IQ2_XS",
     "IQ3_S IQ2_XS IQ2_XS IQ2_XS IQ2_XS IQ2_XS IQ2_XS IQ2_XS"},
    {"IQ2_M", "IQ3_S", "Q5_K", "IQ2_S", "IQ2_S", "IQ3_S", "IQ3_S", "IQ2_S", "IQ2_S",
     "IQ3_S IQ2_S IQ2_S IQ2_S IQ2_S IQ2_S IQ2_S IQ2_S"},
    {"IQ1_S", "Q2_K", "Q5_K", "IQ1_S", "IQ1_S", "Q2_K", "IQ2_XXS", "IQ1_S", "IQ1_S",
     "Q2_K IQ1_S IQ1_S IQ1_S IQ1_S IQ1_S IQ1_S IQ1_S"},
    {"IQ1_M", "Q2_K", "Q5_K", "IQ1_M", "IQ1_M", "Q2_K", "IQ2_XXS", "IQ1_M", "IQ1_M",
     "Q2_K IQ1_M IQ1_M IQ1_M IQ1_M IQ1_M IQ1_M IQ1_M"},
    {"Q2_K", "Q2_K", "Q6_K", "Q2_K", "Q2_K", "Q3_K", "Q3_K", "Q2_K", "Q2_K", "Q3_K"},
    {"Q2_K_S", "Q2_K", "Q6_K", "Q2_K", "Q2_K", "Q2_K", "Q2_K", "Q2_K", "Q2_K", "Q4_K Q2_K Q2_K Q2_K Q2_K Q2_K Q2_K Q2_K"},
    {"IQ3_XXS", "IQ3_S", "Q5_K", "IQ2_S", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ3_XXS", "IQ3_XXS", "IQ3_XXS"},
    {"IQ3_S", "IQ3_S", "Q6_K", "IQ3_S", "IQ3_S", "IQ3_S", "IQ3_S", "IQ3_S", "IQ3_S", "IQ3_S"},
    {"IQ3_M", "IQ3_S", "Q6_K", "IQ3_S", "IQ3_S", "Q4_K", "Q4_K", "IQ3_S", "IQ3_S",
     "Q4_K IQ3_S IQ3_S IQ3_S IQ3_S IQ3_S IQ3_S IQ3_S"},
    {"IQ3_XS", "IQ3_S", "Q6_K", "IQ3_XXS", "IQ3_XXS", "IQ3_S", "IQ3_S",
     "IQ3_S IQ3_XXS IQ3_XXS IQ3_XXS IQ3_XXS IQ3_XXS IQ3_XXS IQ3_S",
     "IQ3_S IQ3_XXS IQ3_XXS IQ3_XXS IQ3_XXS IQ3_XXS IQ3_XXS IQ3_S", "IQ3_S"},
    {"Q3_K_S", "Q3_K", "Q6_K", "Q3_K", "Q3_K", "Q3_K", "Q3_K", "Q3_K", "Q3_K", "Q3_K"},
    {"Q3_K_M", "Q3_K", "Q6_K", "Q3_K", "Q3_K", "Q5_K Q5_K Q4_K Q4_K Q4_K Q4_K Q4_K Q4_K", "Q4_K", "Q3_K", "Q3_K", "Q4_K"},
    {"Q3_K_L", "Q3_K", "Q6_K", "Q3_K", "Q3_K", "Q5_K", "Q5_K", "Q3_K", "Q3_K", "Q5_K"},
    {"IQ4_NL", "IQ4_NL", "Q6_K", "IQ4_NL", "IQ4_NL", "IQ4_NL", "IQ4_NL", "IQ4_NL", "IQ4_NL", "IQ4_NL"},
    {"IQ4_XS", "IQ4_XS", "Q6_K", "IQ4_XS", "IQ4_XS", "IQ4_XS", "IQ4_XS", "IQ4_XS", "IQ4_XS", "IQ4_XS"},
    {"Q4_K_S", "Q4_K", "Q6_K", "Q4_K", "Q4_K", "Q5_K Q5_K Q5_K Q5_K Q4_K Q4_K Q4_K Q4_K", "Q4_K", "Q4_K", "Q4_K",
     "Q5_K Q4_K Q4_K Q4_K Q4_K Q4_K Q4_K Q4_K"},
    {"Q4_K_M", "Q4_K", "Q6_K", "Q4_K", "Q4_K", "Q6_K Q4_K Q4_K Q6_K Q4_K Q4_K Q6_K Q6_K", "Q4_K", "Q4_K", "Q4_K",
     "Q6_K Q4_K Q4_K Q6_K Q4_K Q4_K Q6_K Q6_K"},
    {"Q5_K_S", "Q5_K", "Q6_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K", "Q5_K"},
    {"Q5_K_M", "Q5_K", "Q6_K", "Q5_K", "Q5_K", "Q6_K Q5_K Q5_K Q6_K Q5_K Q5_K Q6_K Q6_K", "Q5_K", "Q5_K", "Q5_K",
     "Q6_K Q5_K Q5_K Q6_K Q5_K Q5_K Q6_K Q6_K"},
    {"Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K", "Q6_K"},
    {"Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0", "Q8_0"},
};
// Without an imatrix: IQ3_XXS attn_v IQ3_S and ffn_down Q4_K for layer 0, Q3_K after; IQ4_NL/IQ4_XS
// ffn_down Q5_K for layer 0; Q4_0/Q5_0 keep their type on layer 0.
constexpr Change kKjvWithoutImatrix[] = {
    {"IQ3_XXS", Kind::AttnV, "IQ3_S"},
    {"IQ3_XXS", Kind::FfnDown, "Q4_K Q3_K Q3_K Q3_K Q3_K Q3_K Q3_K Q3_K"},
    {"IQ4_NL", Kind::FfnDown, "Q5_K IQ4_NL IQ4_NL IQ4_NL IQ4_NL IQ4_NL IQ4_NL IQ4_NL"},
    {"IQ4_XS", Kind::FfnDown, "Q5_K IQ4_XS IQ4_XS IQ4_XS IQ4_XS IQ4_XS IQ4_XS IQ4_XS"},
    {"Q4_0", Kind::FfnDown, "Q4_0"},
    {"Q5_0", Kind::FfnDown, "Q5_0"},
};

const char *field(const Row &row, Kind kind) {
  switch (kind) {
    case Kind::TokenEmbd: return row.token_embd;
    case Kind::Output: return row.output;
    case Kind::AttnQ: return row.attn_q;
    case Kind::AttnK: return row.attn_k;
    case Kind::AttnV: return row.attn_v;
    case Kind::AttnOutput: return row.attn_output;
    case Kind::FfnGate: return row.ffn_gate;
    case Kind::FfnUp: return row.ffn_up;
    case Kind::FfnDown: return row.ffn_down;
    case Kind::Unquantized: break;
  }
  return "F32";
}

// The type a field gives layer `layer` (-1 outside the blocks) of a model of n_layer layers.
std::string type_for_layer(const char *types, int layer, int n_layer) {
  std::istringstream in(types);
  std::vector<std::string> tokens;
  for (std::string t; in >> t;) tokens.push_back(t);
  if (tokens.size() == 1) return tokens[0];
  if (static_cast<int>(tokens.size()) != n_layer || layer < 0) throw std::runtime_error(std::string("bad field ") + types);
  return tokens[static_cast<size_t>(layer)];
}

// Rows of the tiny models are 64 or 128 values: whole 32-blocks, never whole 256-blocks. llama.cpp's
// tensor_type_fallback then writes IQ* as IQ4_NL, Q2_K/Q3_K as Q4_0, Q4_K as Q5_0, Q5_K as Q5_1,
// Q6_K as Q8_0; the 32-block types fit as they are.
std::string written_in_tiny_rows(const std::string &requested) {
  if (requested.rfind("IQ", 0) == 0 && requested != "IQ4_NL") return "IQ4_NL";
  if (requested == "Q2_K" || requested == "Q3_K") return "Q4_0";
  if (requested == "Q4_K") return "Q5_0";
  if (requested == "Q5_K") return "Q5_1";
  if (requested == "Q6_K") return "Q8_0";
  return requested;
}

struct ModelCase {
  const char *dir;
  int n_layer;
  bool tied;
  bool tiny;  // rows of 64/128 values (else multiples of 256)
  std::span<const Row> rows;
  std::span<const Change> model_changes;
  std::span<const Change> without_imatrix;
};

const ModelCase kModels[] = {
    {"tiny/llama", 2, true, true, kTinyRows, {}, kTinyWithoutImatrix},
    {"tiny/qwen2", 2, false, true, kTinyRows, {}, kTinyWithoutImatrix},
    {"tiny/qwen3", 2, true, true, kTinyRows, {}, kTinyWithoutImatrix},
    {"tiny/mixtral", 2, false, true, kTinyRows, kTinyMoe, kTinyWithoutImatrix},
    {"tiny/qwen3_moe", 2, false, true, kTinyRows, kTinyMoe, kTinyWithoutImatrix},
    {"kjv-llama", 8, false, false, kKjvRows, {}, kKjvWithoutImatrix},
};

std::string expected_requested(const ModelCase &model, const Row &row, Kind kind, int layer, bool has_imatrix) {
  // A tied model's token_embd is quantized as the output matrix.
  const Kind column = model.tied && kind == Kind::TokenEmbd ? Kind::Output : kind;
  const char *types = field(row, column);
  for (const Change &c : model.model_changes)
    if (row.preset == std::string(c.preset) && c.kind == column) types = c.types;
  if (!has_imatrix)
    for (const Change &c : model.without_imatrix)
      if (row.preset == std::string(c.preset) && c.kind == column) types = c.types;
  return type_for_layer(types, layer, model.n_layer);
}

TEST(StockPresets, ShippedModelsGetTheHandDerivedTypes) {
  for (const ModelCase &mc : kModels) {
    const auto model = ModelSource::open(model_dir(mc.dir));
    ASSERT_EQ(model->config().num_hidden_layers, mc.n_layer) << mc.dir;
    ASSERT_EQ(model->find("output.weight") == nullptr, mc.tied) << mc.dir;
    ASSERT_EQ(mc.rows.size(), all_stock_presets().size()) << mc.dir;
    for (const Row &row : mc.rows) {
      for (const bool has_imatrix : {true, false}) {
        const QuantPlan plan = stock_preset_plan(*model, preset(row.preset), has_imatrix);
        ASSERT_EQ(plan.tensors.size(), model->tensors().size());
        for (size_t k = 0; k < plan.tensors.size(); ++k) {
          const SourceTensor &t = model->tensors()[k];
          const PlannedTensor &p = plan.tensors[k];
          const std::string where =
              std::string(mc.dir) + " " + row.preset + (has_imatrix ? " (imatrix) " : " (no imatrix) ") + t.name;
          ASSERT_EQ(p.name, t.name) << where;
          const Kind kind = kind_of(t.name);
          if (kind == Kind::Unquantized) {
            EXPECT_EQ(name_of(p.requested), "F32") << where;
            EXPECT_EQ(name_of(p.type), "F32") << where;
            continue;
          }
          const std::string requested = expected_requested(mc, row, kind, layer_in_name(t.name), has_imatrix);
          EXPECT_EQ(name_of(p.requested), requested) << where;
          if (mc.tiny) {
            ASSERT_TRUE(t.row_length() == 64 || t.row_length() == 128) << where;
            EXPECT_EQ(name_of(p.type), written_in_tiny_rows(requested)) << where;
            EXPECT_EQ(p.fell_back, written_in_tiny_rows(requested) != requested) << where;
          } else {
            ASSERT_EQ(t.row_length() % 256, 0) << where;
            EXPECT_EQ(name_of(p.type), requested) << where;
            EXPECT_FALSE(p.fell_back) << where;
          }
        }
      }
    }
  }
}

TEST(StockPresets, ModelFactsOfTheShippedModels) {
  struct Facts {
    const char *dir;
    int n_layer, n_attention_v, n_gqa, n_expert;
    bool tied;
  };
  // From the config.json files: 4 heads over 2 KV heads everywhere; mixtral and qwen3_moe have 4 experts.
  const Facts expected[] = {
      {"tiny/llama", 2, 2, 2, 0, true},    {"tiny/qwen2", 2, 2, 2, 0, false},    {"tiny/qwen3", 2, 2, 2, 0, true},
      {"tiny/mixtral", 2, 2, 2, 4, false}, {"tiny/qwen3_moe", 2, 2, 2, 4, false}, {"kjv-llama", 8, 8, 2, 0, false},
  };
  for (const Facts &f : expected) {
    const auto model = ModelSource::open(model_dir(f.dir));
    const PresetModelInfo info = classify_for_stock_presets(*model).info;
    EXPECT_EQ(info.n_layer, f.n_layer) << f.dir;
    EXPECT_EQ(info.n_attention_v, f.n_attention_v) << f.dir;
    EXPECT_EQ(info.n_gqa, f.n_gqa) << f.dir;
    EXPECT_EQ(info.n_expert, f.n_expert) << f.dir;
    EXPECT_EQ(info.tied_embeddings, f.tied) << f.dir;
    EXPECT_FALSE(info.falcon) << f.dir;
    EXPECT_FALSE(info.type_70b) << f.dir;
  }
}

TEST(StockPresets, ImatrixRefusalFollowsTheWrittenTypes) {
  // kjv-llama's rows fit every type, so the presets llama-quantize refuses without an imatrix are
  // exactly the flagged ones (IQ1/IQ2 mixes, IQ3_XXS, IQ3_XS via attn_q IQ3_XXS, Q2_K_S).
  const auto kjv = ModelSource::open(model_dir("kjv-llama"));
  for (const StockPreset &p : all_stock_presets())
    EXPECT_EQ(stock_plan_requires_imatrix(p, stock_preset_plan(*kjv, p, true)), p.needs_imatrix) << p.name;
  // The tiny models' 64-value rows send every such type to IQ4_NL or Q4_0: none is refused.
  const auto tiny = ModelSource::open(model_dir("tiny/qwen2"));
  for (const StockPreset &p : all_stock_presets())
    EXPECT_FALSE(stock_plan_requires_imatrix(p, stock_preset_plan(*tiny, p, true))) << p.name;

  using C = TensorCategory;
  EXPECT_TRUE(stock_tensor_requires_imatrix(preset("IQ2_XXS"), C::AttnQ, GgmlType::IQ2_XXS));
  EXPECT_TRUE(stock_tensor_requires_imatrix(preset("IQ3_XS"), C::AttnK, GgmlType::IQ3_XXS));
  EXPECT_TRUE(stock_tensor_requires_imatrix(preset("Q2_K_S"), C::FfnUp, GgmlType::Q2_K));
  EXPECT_FALSE(stock_tensor_requires_imatrix(preset("Q2_K"), C::FfnUp, GgmlType::Q2_K));
  EXPECT_FALSE(stock_tensor_requires_imatrix(preset("Q2_K_S"), C::TokenEmbd, GgmlType::Q2_K));
  EXPECT_FALSE(stock_tensor_requires_imatrix(preset("IQ1_S"), C::Output, GgmlType::IQ1_S));
  EXPECT_FALSE(stock_tensor_requires_imatrix(preset("IQ3_M"), C::AttnV, GgmlType::IQ3_S));
  EXPECT_FALSE(stock_tensor_requires_imatrix(preset("IQ2_XXS"), C::AttnQ, GgmlType::IQ4_NL));
}

// ---- classification ----

SourceTensor tensor(const std::string &name, std::vector<int64_t> shape) {
  SourceTensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.stored_type = GgmlType::F32;
  return t;
}

TEST(StockPresets, CategoriesFollowLlamaCppNameMatching) {
  using C = TensorCategory;
  EXPECT_EQ(stock_tensor_category("output.weight"), C::Output);
  EXPECT_EQ(stock_tensor_category("token_embd.weight"), C::TokenEmbd);
  EXPECT_EQ(stock_tensor_category("per_layer_token_embd.weight"), C::TokenEmbd);
  EXPECT_EQ(stock_tensor_category("blk.0.attn_qkv.weight"), C::AttnQkv);
  EXPECT_EQ(stock_tensor_category("blk.0.attn_kv_b.weight"), C::AttnKvB);
  EXPECT_EQ(stock_tensor_category("blk.3.attn_v.weight"), C::AttnV);
  EXPECT_EQ(stock_tensor_category("blk.3.attn_k.weight"), C::AttnK);
  EXPECT_EQ(stock_tensor_category("blk.3.attn_q.weight"), C::AttnQ);
  EXPECT_EQ(stock_tensor_category("blk.3.attn_output.weight"), C::AttnOutput);
  EXPECT_EQ(stock_tensor_category("blk.3.ffn_up_exps.weight"), C::FfnUp);
  EXPECT_EQ(stock_tensor_category("blk.3.ffn_gate_inp.weight"), C::FfnGate);
  EXPECT_EQ(stock_tensor_category("blk.3.ffn_down_shexp.weight"), C::FfnDown);
  EXPECT_EQ(stock_tensor_category("blk.3.attn_q_norm.weight"), C::Other);
  EXPECT_EQ(stock_tensor_category("blk.3.attn_v.bias"), C::Other);
  EXPECT_EQ(stock_tensor_category("output_norm.weight"), C::Other);
  EXPECT_EQ(stock_tensor_category("rope_freqs.weight"), C::Other);
}

TEST(StockPresets, CountersRunInLayerNumberOrderOverQuantizedTensors) {
  // llama-quantize visits tensors by layer number, then name: blk.2 before blk.10, though "blk.10"
  // sorts first as text. Unquantized tensors (a bias, the 2-D router) do not move the counters.
  const std::vector<SourceTensor> tensors = {
      tensor("blk.10.attn_v.weight", {64, 32}),      tensor("blk.2.attn_v.weight", {64, 32}),
      tensor("blk.2.attn_v.bias", {32}),             tensor("token_embd.weight", {64, 512}),
      tensor("blk.10.ffn_down.weight", {128, 64}),   tensor("blk.1.ffn_down_shexp.weight", {128, 64}),
      tensor("blk.1.ffn_down_exps.weight", {128, 64, 4}), tensor("blk.2.ffn_down.weight", {128, 64}),
      tensor("blk.0.ffn_gate_inp.weight", {64, 4}),  tensor("blk.0.ffn_gate_exps.weight", {64, 128, 4}),
      tensor("blk.1.ffn_gate_exps.weight", {64, 128, 4}),
  };
  const auto classes = classify_stock_tensors(tensors);
  ASSERT_EQ(classes.size(), tensors.size());
  struct Expected {
    int layer, ordinal;
    bool quantizable, expert;
  };
  const Expected expected[] = {
      {10, 1, true, false}, {2, 0, true, false},  {2, 0, false, false}, {-1, 0, true, false},
      {10, 3, true, false}, {1, 1, true, false},  // in layer 1, ffn_down_exps sorts before ffn_down_shexp
      {1, 0, true, true},   {2, 2, true, false},  {0, 0, false, false}, {0, 0, true, true},
      {1, 1, true, true},
  };
  for (size_t k = 0; k < tensors.size(); ++k) {
    EXPECT_EQ(classes[k].name, tensors[k].name);
    EXPECT_EQ(classes[k].layer, expected[k].layer) << tensors[k].name;
    EXPECT_EQ(classes[k].ordinal, expected[k].ordinal) << tensors[k].name;
    EXPECT_EQ(classes[k].quantizable, expected[k].quantizable) << tensors[k].name;
    EXPECT_EQ(classes[k].is_expert, expected[k].expert) << tensors[k].name;
  }
}

// ---- rules no shipped model reaches: hand-built classes ----

TensorClass cls(TensorCategory category, int layer, int64_t row_length = 4096, bool expert = false) {
  TensorClass t;
  t.name = "blk." + std::to_string(layer) + ".test.weight";
  t.category = category;
  t.quantizable = true;
  t.layer = layer;
  t.ordinal = layer;
  t.row_length = row_length;
  t.is_expert = expert;
  return t;
}

std::string type(const char *preset_name, const TensorClass &t, const PresetModelInfo &m, bool has_imatrix = true) {
  return name_of(stock_preset_tensor_type(preset(preset_name), t, m, has_imatrix));
}

using C = TensorCategory;

// Llama-3-8B: 32 layers, 32 heads over 8 KV heads. n/8 = 4, n/16 = 2, 7n/8 = 28;
// use_more_bits(i, 32): i < 4, i >= 28, or (i - 4) % 3 == 2 (6, 9, ..., 27).
const PresetModelInfo kLlama8b = {32, 32, 4, 0, false, false, false};

TEST(StockPresetRules, GqaOfFourRaisesAttnV) {
  const TensorClass v = cls(C::AttnV, 5);
  EXPECT_EQ(type("Q2_K", v, kLlama8b), "Q4_K");
  EXPECT_EQ(type("Q2_K_S", v, kLlama8b), "Q4_K");
  EXPECT_EQ(type("IQ3_XXS", v, kLlama8b, false), "Q4_K");
  EXPECT_EQ(type("IQ3_XS", v, kLlama8b), "Q4_K");
  EXPECT_EQ(type("IQ3_S", v, kLlama8b), "Q4_K");
  EXPECT_EQ(type("IQ4_NL", v, kLlama8b), "Q5_K");
  EXPECT_EQ(type("IQ4_XS", v, kLlama8b), "Q5_K");
  EXPECT_EQ(type("IQ2_XS", v, kLlama8b), "Q4_K");
  EXPECT_EQ(type("IQ2_S", v, kLlama8b), "Q4_K");  // n_gqa >= 4 comes before IQ2_S's IQ3_S
  EXPECT_EQ(type("Q3_K_S", v, kLlama8b), "Q3_K");
  EXPECT_EQ(type("Q3_K_M", v, kLlama8b), "Q4_K");
}

TEST(StockPresetRules, FfnDownFollowsTheLayer) {
  EXPECT_EQ(type("Q3_K_M", cls(C::FfnDown, 1), kLlama8b), "Q5_K");  // i < n/16
  EXPECT_EQ(type("Q3_K_M", cls(C::FfnDown, 2), kLlama8b), "Q4_K");
  EXPECT_EQ(type("Q4_K_M", cls(C::FfnDown, 3), kLlama8b), "Q6_K");
  EXPECT_EQ(type("Q4_K_M", cls(C::FfnDown, 4), kLlama8b), "Q4_K");
  EXPECT_EQ(type("Q4_K_M", cls(C::FfnDown, 6), kLlama8b), "Q6_K");
  EXPECT_EQ(type("Q4_K_M", cls(C::FfnDown, 26), kLlama8b), "Q4_K");
  EXPECT_EQ(type("Q4_K_M", cls(C::FfnDown, 27), kLlama8b), "Q6_K");
  EXPECT_EQ(type("Q4_K_M", cls(C::FfnDown, 28), kLlama8b), "Q6_K");
  EXPECT_EQ(type("Q2_K_S", cls(C::FfnDown, 3), kLlama8b), "Q4_K");
  EXPECT_EQ(type("Q2_K_S", cls(C::FfnDown, 4), kLlama8b), "Q2_K");
  EXPECT_EQ(type("IQ4_NL", cls(C::FfnDown, 3), kLlama8b, false), "Q5_K");
  EXPECT_EQ(type("IQ4_NL", cls(C::FfnDown, 3), kLlama8b, true), "IQ4_NL");
  EXPECT_EQ(type("Q4_0", cls(C::FfnDown, 3), kLlama8b, true), "Q4_1");
  EXPECT_EQ(type("Q4_0", cls(C::FfnDown, 3), kLlama8b, false), "Q4_0");
  EXPECT_EQ(type("Q4_0", cls(C::FfnDown, 4), kLlama8b, true), "Q4_0");
  EXPECT_EQ(type("IQ2_XXS", cls(C::FfnDown, 3), kLlama8b), "Q2_K");
  EXPECT_EQ(type("IQ2_XXS", cls(C::FfnDown, 4), kLlama8b), "IQ2_XXS");
  EXPECT_EQ(type("IQ2_M", cls(C::FfnDown, 3), kLlama8b), "IQ3_S");
  EXPECT_EQ(type("IQ3_XS", cls(C::FfnGate, 3), kLlama8b), "IQ3_S");
  EXPECT_EQ(type("IQ3_XS", cls(C::FfnUp, 4), kLlama8b), "IQ3_XXS");
  EXPECT_EQ(type("IQ3_XS", cls(C::FfnGate, 27), kLlama8b), "IQ3_XXS");
  EXPECT_EQ(type("IQ3_XS", cls(C::FfnUp, 28), kLlama8b), "IQ3_S");
}

TEST(StockPresetRules, OutputAndTokenEmbeddings) {
  const TensorClass out = cls(C::Output, -1, 4096), embd = cls(C::TokenEmbd, -1, 4096);
  EXPECT_EQ(type("IQ2_XXS", out, kLlama8b), "Q5_K");
  EXPECT_EQ(type("IQ3_XXS", out, kLlama8b), "Q5_K");
  EXPECT_EQ(type("IQ3_XS", out, kLlama8b), "Q6_K");
  EXPECT_EQ(type("Q8_0", out, kLlama8b), "Q8_0");
  EXPECT_EQ(type("Q4_0", out, kLlama8b), "Q6_K");
  EXPECT_EQ(type("MXFP4_MOE", out, kLlama8b), "Q8_0");
  // 4160 is whole 32-blocks, not 256-blocks: the test is on the preset's default type.
  EXPECT_EQ(type("Q4_K_M", cls(C::Output, -1, 4160), kLlama8b), "Q8_0");
  EXPECT_EQ(type("Q4_0", cls(C::Output, -1, 4160), kLlama8b), "Q6_K");
  EXPECT_EQ(type("IQ1_M", embd, kLlama8b), "Q2_K");
  EXPECT_EQ(type("IQ2_M", embd, kLlama8b), "IQ3_S");
  EXPECT_EQ(type("IQ3_XXS", embd, kLlama8b), "IQ3_S");
  EXPECT_EQ(type("IQ3_XS", embd, kLlama8b), "IQ3_S");
  EXPECT_EQ(type("Q4_K_M", embd, kLlama8b), "Q4_K");
  EXPECT_EQ(type("MXFP4_MOE", embd, kLlama8b), "Q8_0");
  PresetModelInfo tied = kLlama8b;
  tied.tied_embeddings = true;
  EXPECT_EQ(type("IQ2_XXS", embd, tied), "Q5_K");
  EXPECT_EQ(type("Q4_K_M", embd, tied), "Q6_K");
}

TEST(StockPresetRules, FusedQkvIsRuledAsAttnV) {
  // llama.cpp's own attn_qkv branch (Q4_K_M -> Q5_K, Q5_K_M -> Q6_K) sits behind the attn_v branch,
  // which takes attn_qkv first: counter 5 is no use_more_bits layer, so the types stay the default.
  EXPECT_EQ(type("Q5_K_M", cls(C::AttnQkv, 1), kLlama8b), "Q6_K");
  EXPECT_EQ(type("Q5_K_M", cls(C::AttnQkv, 5), kLlama8b), "Q5_K");
  EXPECT_EQ(type("Q4_K_M", cls(C::AttnQkv, 5), kLlama8b), "Q4_K");
  EXPECT_EQ(type("IQ2_XXS", cls(C::AttnKvB, 5), kLlama8b), "Q4_K");
}

// Llama-3-70B: 80 layers, 64 heads over 8 KV heads: LLM_TYPE_70B. use_more_bits(i, 80): i < 10,
// i >= 70, or (i - 10) % 3 == 2.
const PresetModelInfo kLlama70b = {80, 80, 8, 0, false, false, true};

TEST(StockPresetRules, SeventyBRaisesQ3KAndQ4KAttnVToQ5K) {
  EXPECT_EQ(type("Q3_K_M", cls(C::AttnV, 0), kLlama70b), "Q5_K");
  EXPECT_EQ(type("Q3_K_M", cls(C::AttnV, 5), kLlama70b), "Q5_K");   // Q4_K, raised
  EXPECT_EQ(type("Q3_K_S", cls(C::AttnV, 5), kLlama70b), "Q5_K");   // Q3_K, raised
  EXPECT_EQ(type("Q2_K", cls(C::AttnV, 5), kLlama70b), "Q5_K");     // n_gqa 8: Q4_K, raised
  EXPECT_EQ(type("Q4_K_S", cls(C::AttnV, 20), kLlama70b), "Q5_K");
  EXPECT_EQ(type("Q4_K_M", cls(C::AttnV, 20), kLlama70b), "Q5_K");
  EXPECT_EQ(type("Q4_K_M", cls(C::AttnV, 1), kLlama70b), "Q6_K");
  EXPECT_EQ(type("IQ3_S", cls(C::AttnV, 20), kLlama70b), "Q5_K");
  EXPECT_EQ(type("Q5_K_M", cls(C::AttnV, 20), kLlama70b), "Q5_K");
  EXPECT_EQ(type("Q5_K_M", cls(C::AttnV, 12), kLlama70b), "Q6_K");
  EXPECT_EQ(type("IQ2_XXS", cls(C::AttnV, 20), kLlama70b), "Q4_K");  // the IQ2 branch has no 70B rule
  EXPECT_EQ(type("Q4_K_M", cls(C::FfnDown, 20), kLlama70b), "Q4_K");  // attn_v only
}

// Mixtral-8x7B: "llama", 32 layers, 32 heads over 8 KV heads, 8 experts.
const PresetModelInfo kMixtral8x7b = {32, 32, 4, 8, false, false, false};

TEST(StockPresetRules, EightExperts) {
  EXPECT_EQ(type("Q4_K_M", cls(C::AttnV, 0), kMixtral8x7b), "Q8_0");
  EXPECT_EQ(type("Q4_K_M", cls(C::AttnK, 0), kMixtral8x7b), "Q8_0");
  EXPECT_EQ(type("IQ3_XS", cls(C::AttnK, 0), kMixtral8x7b), "Q8_0");
  EXPECT_EQ(type("Q4_K_M", cls(C::AttnOutput, 0), kMixtral8x7b), "Q5_K");
  EXPECT_EQ(type("Q3_K_L", cls(C::AttnOutput, 0), kMixtral8x7b), "Q3_K");  // not in llama.cpp's list
  EXPECT_EQ(type("Q6_K", cls(C::AttnOutput, 0), kMixtral8x7b), "Q6_K");
  EXPECT_EQ(type("IQ2_XXS", cls(C::AttnV, 0), kMixtral8x7b), "Q4_K");
  EXPECT_EQ(type("IQ2_XXS", cls(C::AttnK, 0), kMixtral8x7b), "Q4_K");
  EXPECT_EQ(type("IQ2_XXS", cls(C::AttnOutput, 0), kMixtral8x7b), "Q5_K");
  EXPECT_EQ(type("IQ3_M", cls(C::FfnDown, 5, 14336, true), kMixtral8x7b), "IQ3_S");
  EXPECT_EQ(type("IQ3_M", cls(C::FfnDown, 6, 14336, true), kMixtral8x7b), "Q4_K");  // (6 - 4) % 3 == 2
  EXPECT_EQ(type("MXFP4_MOE", cls(C::FfnDown, 6, 14336, true), kMixtral8x7b), "MXFP4");
  EXPECT_EQ(type("MXFP4_MOE", cls(C::AttnV, 6), kMixtral8x7b), "Q8_0");
}

TEST(StockPresetRules, MoeFfnLayerComesFromTheNameDenseFromTheCounter) {
  TensorClass down = cls(C::FfnDown, 31, 14336, true);
  down.ordinal = 0;  // the counter and the layer disagree
  EXPECT_EQ(type("Q4_K_M", down, kMixtral8x7b), "Q6_K");  // layer 31 >= 28
  EXPECT_EQ(type("Q4_K_M", down, kLlama8b), "Q6_K");      // counter 0 < 4
  down.layer = 10;
  down.ordinal = 31;
  EXPECT_EQ(type("Q4_K_M", down, kMixtral8x7b), "Q4_K");  // layer 10: (10 - 4) % 3 == 0
  EXPECT_EQ(type("Q4_K_M", down, kLlama8b), "Q6_K");      // counter 31
  // The IQ1/IQ2 branch counts even for MoE models: counter 31 is past n/8.
  EXPECT_EQ(type("IQ2_XXS", down, kMixtral8x7b), "IQ2_XXS");
  // A MoE ffn tensor outside the blocks is an error where llama.cpp reads its layer...
  TensorClass stray = cls(C::FfnDown, -1, 14336, true);
  stray.name = "stray_ffn_down.weight";
  stray.ordinal = 0;
  test::expect_error_containing([&] { type("Q4_K_M", stray, kMixtral8x7b); }, {"stray_ffn_down.weight"});
  // ... and not in the IQ2 branch, which never reads it.
  EXPECT_EQ(type("IQ2_XXS", stray, kMixtral8x7b), "Q2_K");
}

// A falcon of 32 layers (falcon is none of our architectures; the rules are llama.cpp's all the same).
// n/16 = 2, use_more_bits as for kLlama8b.
const PresetModelInfo kFalcon = {32, 32, 1, 0, false, true, false};

TEST(StockPresetRules, FalconHasItsOwnRules) {
  EXPECT_EQ(type("Q4_K_M", cls(C::Output, -1, 8192), kFalcon), "Q8_0");
  EXPECT_EQ(type("Q3_K_M", cls(C::FfnDown, 1), kFalcon), "Q5_K");
  EXPECT_EQ(type("Q3_K_M", cls(C::FfnDown, 3), kFalcon), "Q4_K");
  EXPECT_EQ(type("Q3_K_M", cls(C::FfnDown, 5), kFalcon), "Q3_K");
  EXPECT_EQ(type("Q4_K_M", cls(C::FfnDown, 1), kFalcon), "Q6_K");
  EXPECT_EQ(type("Q4_K_M", cls(C::FfnDown, 3), kFalcon), "Q5_K");
  EXPECT_EQ(type("Q4_K_M", cls(C::FfnDown, 5), kFalcon), "Q4_K");
  EXPECT_EQ(type("Q4_K_S", cls(C::FfnDown, 0), kFalcon), "Q4_K");
  EXPECT_EQ(type("Q3_K_L", cls(C::FfnDown, 5), kFalcon), "Q4_K");
  EXPECT_EQ(type("Q3_K_L", cls(C::AttnOutput, 5), kFalcon), "Q4_K");
  EXPECT_EQ(type("Q2_K", cls(C::AttnOutput, 5), kFalcon), "Q2_K");
}

TEST(StockPresetRules, UnquantizedTensorsStayF32) {
  TensorClass norm = cls(C::Other, 0, 4096);
  norm.quantizable = false;
  for (const StockPreset &p : all_stock_presets())
    EXPECT_EQ(name_of(stock_preset_tensor_type(p, norm, kLlama8b, true)), "F32") << p.name;
}

// ---- plans of models the shipped files do not cover ----

// Config, architecture row and tensor list, no weights.
class SyntheticModel : public ModelSource {
 public:
  SyntheticModel(const char *hf_class, const char *model_type, int layers, int heads, int kv_heads, int experts,
                 std::vector<SourceTensor> tensors) {
    path_ = "synthetic";
    config_.source = "synthetic/config.json";
    config_.architecture = hf_class;
    config_.model_type = model_type;
    config_.num_hidden_layers = layers;
    config_.num_attention_heads = heads;
    config_.num_key_value_heads = kv_heads;
    config_.num_experts = experts;
    architecture_ = &architecture_for(config_);
    tensors_ = std::move(tensors);
  }
  Kind kind() const override { return Kind::Safetensors; }
  using ModelSource::read_f32;
  void read_f32(const SourceTensor &, float *) const override { fail("a synthetic model has no weights"); }
};

TEST(StockPresets, SeventyBIsTheModelTypeLlamaCppGives) {
  // src/models/llama.cpp: 80 layers and n_head != n_head_kv (not 8 experts); qwen2.cpp: 80 layers;
  // qwen3 has no 70B type.
  EXPECT_TRUE(classify_for_stock_presets(SyntheticModel("LlamaForCausalLM", "llama", 80, 64, 8, 0, {})).info.type_70b);
  EXPECT_FALSE(classify_for_stock_presets(SyntheticModel("LlamaForCausalLM", "llama", 80, 64, 64, 0, {})).info.type_70b);
  EXPECT_FALSE(classify_for_stock_presets(SyntheticModel("LlamaForCausalLM", "llama", 32, 32, 8, 0, {})).info.type_70b);
  EXPECT_FALSE(
      classify_for_stock_presets(SyntheticModel("MixtralForCausalLM", "mixtral", 80, 64, 8, 8, {})).info.type_70b);
  EXPECT_TRUE(classify_for_stock_presets(SyntheticModel("Qwen2ForCausalLM", "qwen2", 80, 64, 8, 0, {})).info.type_70b);
  EXPECT_FALSE(classify_for_stock_presets(SyntheticModel("Qwen3ForCausalLM", "qwen3", 80, 64, 8, 0, {})).info.type_70b);
  const PresetModelInfo info =
      classify_for_stock_presets(SyntheticModel("LlamaForCausalLM", "llama", 80, 64, 8, 0, {})).info;
  EXPECT_EQ(info.n_gqa, 8);
  EXPECT_TRUE(info.tied_embeddings);  // no output.weight among no tensors
}

TEST(StockPresets, RowsNoTypeFitsFallBackOrAreRefused) {
  const SyntheticModel model("LlamaForCausalLM", "llama", 1, 4, 4, 0,
                             {tensor("token_embd.weight", {64, 512}), tensor("blk.0.attn_q.weight", {48, 64}),
                              tensor("output.weight", {64, 512})});
  // Q4_K -> Q5_0, which 48 does not fit either -> F16.
  const QuantPlan plan = stock_preset_plan(model, preset("Q4_K_M"), false);
  const PlannedTensor *q = plan.find("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(name_of(q->requested), "Q4_K");
  EXPECT_EQ(name_of(q->type), "F16");
  EXPECT_TRUE(q->fell_back);
  // Q8_0 has no fallback in llama.cpp: llama-quantize stops.
  test::expect_error_containing([&] { stock_preset_plan(model, preset("Q8_0"), false); },
                                {"blk.0.attn_q.weight", "Q8_0", "48"});
}

}  // namespace
}  // namespace qs::stock_presets_test
