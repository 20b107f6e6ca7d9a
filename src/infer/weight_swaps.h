// Weights of a model replaced for a while: each swap keeps the original values, and all are put
// back, last swapped first, when the object goes out of scope, so a throw halfway (a bad name, a
// wrong size, a failed pass) never leaves the model half quantized.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "infer/transformer.h"

namespace qs {

class WeightSwaps {
 public:
  explicit WeightSwaps(Transformer &model) : model_(model) {}
  WeightSwaps(const WeightSwaps &) = delete;
  WeightSwaps &operator=(const WeightSwaps &) = delete;
  ~WeightSwaps() {
    for (auto it = originals_.rbegin(); it != originals_.rend(); ++it) model_.set_weight(it->first, std::move(it->second));
  }

  void swap_in(const std::string &name, std::vector<float> values) {
    std::vector<float> original = model_.set_weight(name, std::move(values));
    originals_.emplace_back(name, std::move(original));
  }

 private:
  Transformer &model_;
  std::vector<std::pair<std::string, std::vector<float>>> originals_;
};

}  // namespace qs
