// The shipped model loaded once per test binary with a small calibration set (2 chunks of 64
// tokens of calibration.txt), for the measurement tests that run it.
#pragma once

#include <memory>
#include <string>

#include "infer/text_input.h"
#include "infer/transformer.h"
#include "measure/calibration.h"
#include "model/model_source.h"

namespace qs::test {

struct ShippedCalibration {
  std::unique_ptr<ModelSource> source;
  std::unique_ptr<Transformer> model;
  std::unique_ptr<CalibrationChunks> chunks;

  static ShippedCalibration &get() {
    static ShippedCalibration shared = [] {
      const std::string dir = std::string(QUANTSCOPE_SOURCE_DIR) + "/models/kjv-llama";
      ShippedCalibration s;
      s.source = ModelSource::open(dir);
      s.model = Transformer::load(*s.source, 2);
      const TokenizedText text = tokenize_text_file(*s.source, dir + "/calibration.txt", 64);
      s.chunks = std::make_unique<CalibrationChunks>(text.tokens, 64, 2, text.bos);
      return s;
    }();
    return shared;
  }
};

}  // namespace qs::test
