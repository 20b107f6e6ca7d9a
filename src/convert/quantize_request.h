// What `quantscope quantize` is asked (one type, a stock preset or a strategy; an optional imatrix;
// the output path) and everything it needs before the first tensor is written: the model opened,
// the imatrix read, the plan built and checked, the file's metadata. The CLI, the quantize job and
// the server all start here, so a bad request fails the same way everywhere, before any output.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "convert/quant_plan.h"
#include "convert/stock_presets.h"
#include "formats/gguf.h"
#include "formats/imatrix.h"
#include "model/model_source.h"

namespace qs {

struct QuantizeRequest {
  std::string model;                      // HF directory or F16/BF16/F32 GGUF (stored absolute)
  std::string type;                       // exactly one of type, preset and strategy
  std::string preset;                     // llama.cpp's mix, e.g. "Q4_K_M"
  std::string strategy;                   // a strategy file (stored absolute)
  std::vector<std::string> tensor_types;  // PATTERN=TYPE overrides, with `type` only
  std::string imatrix;                    // optional (stored absolute)
  std::string output;                     // the .gguf to write (stored absolute)

  nlohmann::json to_json() const;
  static QuantizeRequest from_json(const nlohmann::json &params);  // throws naming a missing field
  // Checks what needs no file read: one source of types, known names, the output is no input.
  // Paths are made absolute.
  void validate_and_resolve();
};

struct QuantizeSetup {
  std::unique_ptr<ModelSource> model;
  std::optional<Imatrix> imatrix;
  const StockPreset *preset = nullptr;  // with --preset
  QuantPlan plan;
  GgmlType dominant_type = GgmlType::F32;  // what general.file_type says (or the preset's mix)
  std::vector<gguf::KeyValue> metadata;
};

// Opens and reads the request's inputs and builds its plan: throws qs::Error naming what is wrong
// (unknown preset, a type that needs an imatrix without one, a strategy made for another model...).
QuantizeSetup prepare_quantize(const QuantizeRequest &request);

}  // namespace qs
