// libFuzzer target for the safetensors reader: any input must either parse or throw qs::Error.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/error.h"
#include "formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try {
    const auto model = qs::SafetensorsModel::from_memory(std::span<const uint8_t>(data, size), "fuzz.safetensors");
    std::vector<float> values;
    for (const auto &tensor : model.tensors()) {
      if (!qs::dtype_is_float(tensor.dtype)) continue;
      values.resize(static_cast<size_t>(tensor.n_elements()));  // bounded by the input size
      qs::read_as_f32(tensor, values.data());
    }
  } catch (const qs::Error &) {
  }
  return 0;
}
