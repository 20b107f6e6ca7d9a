// Builds safetensors files byte by byte from the format definition (8-byte little-endian header
// length, JSON header, data area) for the reader's tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "test_support.h"

namespace qs::test {

inline std::vector<uint8_t> safetensors_bytes(const std::string &header, const std::vector<uint8_t> &data) {
  std::vector<uint8_t> out;
  out.reserve(8 + header.size() + data.size());
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));  // little-endian
  for (char c : header) out.push_back(static_cast<uint8_t>(c));
  for (uint8_t b : data) out.push_back(b);
  return out;
}

// Little-endian bytes of 16- and 32-bit patterns.
inline void append_u16(std::vector<uint8_t> &out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}
inline void append_u32(std::vector<uint8_t> &out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// A file of F32 tensors laid out in the given order; element k of the whole data area holds the
// float value k, so every value says where it came from.
struct F32TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
};
inline std::vector<uint8_t> f32_safetensors(const std::vector<F32TensorSpec> &tensors) {
  std::string header = "{";
  std::vector<uint8_t> data;
  uint32_t counter = 0;
  for (const auto &t : tensors) {
    int64_t n = 1;
    std::string dims;
    for (int64_t d : t.shape) {
      n *= d;
      if (!dims.empty()) dims += ',';
      dims += std::to_string(d);
    }
    const size_t begin = data.size();
    for (int64_t i = 0; i < n; ++i) {
      const float value = static_cast<float>(counter++);
      uint32_t bits;
      std::memcpy(&bits, &value, 4);
      append_u32(data, bits);
    }
    if (header.size() > 1) header += ',';
    header += '"';
    header += t.name;
    header += "\":{\"dtype\":\"F32\",\"shape\":[";
    header += dims;
    header += "],\"data_offsets\":[";
    header += std::to_string(begin);
    header += ',';
    header += std::to_string(data.size());
    header += "]}";
  }
  return safetensors_bytes(header + "}", data);
}

}  // namespace qs::test
