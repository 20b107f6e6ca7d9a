// Assembles GGUF files byte by byte, straight from the specification (ggml docs/gguf.md), so the
// reader is tested against files our own writer did not make.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace qs::test {

struct GgufBytes {
  std::vector<uint8_t> bytes;

  template <class T>
  GgufBytes &raw(T v) {
    const size_t at = bytes.size();
    bytes.resize(at + sizeof(T));
    std::memcpy(bytes.data() + at, &v, sizeof(T));
    return *this;
  }
  GgufBytes &u8(uint8_t v) { return raw(v); }
  GgufBytes &u32(uint32_t v) { return raw(v); }
  GgufBytes &u64(uint64_t v) { return raw(v); }
  GgufBytes &f32(float v) { return raw(v); }
  GgufBytes &str(const std::string &s) {
    u64(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  // Header: magic "GGUF", version, tensor count, metadata count.
  GgufBytes &header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    bytes.insert(bytes.end(), {'G', 'G', 'U', 'F'});
    return u32(version).u64(n_tensors).u64(n_kv);
  }
  GgufBytes &kv_string(const std::string &key, const std::string &value) { return str(key).u32(8).str(value); }
  GgufBytes &kv_u32(const std::string &key, uint32_t value) { return str(key).u32(4).u32(value); }
  GgufBytes &tensor_info(const std::string &name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) u64(d);
    return u32(type).u64(offset);
  }
  GgufBytes &pad_to(size_t alignment) {
    while (bytes.size() % alignment) bytes.push_back(0);
    return *this;
  }
  void save(const std::filesystem::path &path) const {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
};

}  // namespace qs::test
