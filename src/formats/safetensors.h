// Hugging Face safetensors checkpoints (https://github.com/huggingface/safetensors, "Format"):
// one model.safetensors, or shards listed by model.safetensors.index.json, read by memory map.
// Every length, offset, dtype, shape and name is validated before use; tensors are views into
// the mapping, never copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"

namespace qs {

// Element types of the format. The 8-bit floats follow the OCP FP8 spec as PyTorch and the
// safetensors library use them: F8_E4M3 is "E4M3FN" (no infinities; 0x7f/0xff are NaN) and
// F8_E5M2 is IEEE-like (the top byte of an F16).
enum class Dtype {
  F64,
  F32,
  F16,
  BF16,
  F8_E4M3,
  F8_E5M2,
  I64,
  I32,
  I16,
  I8,
  U64,
  U32,
  U16,
  U8,
  BOOL,
};

const char *dtype_name(Dtype dtype);   // the format's spelling: "BF16", "F8_E4M3", ...
size_t dtype_size(Dtype dtype);        // bytes per element
bool dtype_is_float(Dtype dtype);      // read_as_f32 accepts it

struct SafetensorsTensor {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<int64_t> shape;  // as in the file: row-major, outermost first
  std::span<const uint8_t> bytes;  // inside the mapping of `file`
  std::filesystem::path file;

  int64_t n_elements() const;
};

class SafetensorsModel {
 public:
  // `path` is a .safetensors file, a model.safetensors.index.json, or a directory holding either
  // (the index wins when both exist). Throws qs::Error naming the file and the problem.
  static SafetensorsModel open(const std::filesystem::path &path);
  // Parses one safetensors file held in memory (the bytes are copied); `display_name` stands in
  // for the file name in errors. The fuzz target and the mutation test enter here.
  static SafetensorsModel from_memory(std::span<const uint8_t> bytes, const std::string &display_name);

  SafetensorsModel(SafetensorsModel &&) noexcept = default;
  SafetensorsModel &operator=(SafetensorsModel &&) noexcept = default;
  SafetensorsModel(const SafetensorsModel &) = delete;
  SafetensorsModel &operator=(const SafetensorsModel &) = delete;

  // Shards in file-name order; within a shard, in data-offset order (the order they were written).
  const std::vector<SafetensorsTensor> &tensors() const { return tensors_; }
  const SafetensorsTensor *find(std::string_view name) const;
  // The "__metadata__" string map of every shard, merged (a key's first value wins).
  const std::map<std::string, std::string> &metadata() const { return metadata_; }
  // The .safetensors files in use.
  std::vector<std::filesystem::path> files() const;
  // See MappedFile::release_pages (a model held in memory keeps its bytes).
  void release_pages() const;

 private:
  // One file's bytes: a mapping, or (from_memory) an owned copy. Tensor spans point into it,
  // and stay valid when the model moves (neither a mapping nor a vector's buffer moves).
  struct Shard {
    std::filesystem::path path;
    MappedFile mapping;
    std::vector<uint8_t> owned;
    std::span<const uint8_t> bytes() const { return owned.empty() ? mapping.bytes() : std::span<const uint8_t>(owned); }
  };

  SafetensorsModel() = default;
  // Validates the shard and appends its tensors (a name already seen in another shard throws).
  void add_shard(Shard shard);
  std::vector<Shard> shards_;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t, std::less<>> index_by_name_;
  std::map<std::string, std::string> metadata_;
};

// Converts a float tensor (F32, F16, BF16, F64, F8_E4M3, F8_E5M2) to n_elements() floats.
// F64 rounds to nearest; the others are exact. Integer and bool tensors throw qs::Error.
void read_as_f32(const SafetensorsTensor &tensor, float *out);
std::vector<float> read_as_f32(const SafetensorsTensor &tensor);

// One 8-bit float to float, per the OCP FP8 formats above.
float f8_e4m3_to_f32(uint8_t bits);
float f8_e5m2_to_f32(uint8_t bits);

}  // namespace qs
