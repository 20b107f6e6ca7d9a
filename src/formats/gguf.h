// GGUF v3 (and v2) files: metadata key/values, tensor infos and tensor data, as specified in
// ggml's docs/gguf.md. GgufFile reads by memory map and validates every count, length, offset and
// size before use; GgufWriter streams tensor data to disk with the header written up front.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/mapped_file.h"
#include "quant/types.h"

namespace qs::gguf {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint32_t kDefaultAlignment = 32;

enum class ValueType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};

const char *value_type_name(ValueType type);

struct Value;

// An array holds values of one element type; arrays of arrays are allowed by the format.
struct Array {
  ValueType element_type = ValueType::UINT8;
  std::vector<Value> items;
};

struct Value {
  using Storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool, std::string,
                               Array, uint64_t, int64_t, double>;
  Storage storage;

  Value() : storage(uint8_t{0}) {}
  template <class T>
  Value(T v) : storage(std::move(v)) {}  // NOLINT: implicit on purpose, Value{uint32_t(3)}
  Value(const char *s) : storage(std::string(s)) {}

  ValueType type() const;  // from the variant alternative
  // Numeric value widened (throws qs::Error for strings/arrays).
  int64_t as_int() const;
  double as_float() const;
  const std::string &as_string() const;  // throws unless STRING
  const Array &as_array() const;         // throws unless ARRAY
  std::string to_display_string(size_t max_items = 8) const;  // for `inspect`
};

Value string_array(const std::vector<std::string> &strings);
template <class T>
Value number_array(const std::vector<T> &numbers) {
  Array a;
  a.element_type = Value(T{}).type();
  a.items.reserve(numbers.size());
  for (const T &n : numbers) a.items.emplace_back(n);
  return Value(std::move(a));
}

struct KeyValue {
  std::string key;
  Value value;
};

// One tensor as the file describes it. shape is in ggml order: shape[0] is the row length
// (innermost, contiguous), shape[1] the number of rows, then the outer dimensions.
struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;  // relative to the start of the data section
  uint64_t n_bytes = 0;

  int64_t n_elements() const;
  int64_t row_length() const { return shape.empty() ? 1 : shape[0]; }
  int64_t n_rows() const { return row_length() == 0 ? 0 : n_elements() / row_length(); }
};

// What a tensor's data takes in the file: every tensor starts at a multiple of the alignment, so
// its bytes count rounded up to it (the last one too: ggml checks the padded data section).
constexpr uint64_t padded_bytes(uint64_t bytes, uint64_t alignment = kDefaultAlignment) {
  return (bytes + alignment - 1) / alignment * alignment;
}

// Bytes a tensor of this shape and type occupies; throws if shape[0] is not a multiple of the
// block size or the size overflows.
uint64_t tensor_bytes(GgmlType type, std::span<const int64_t> shape);

class GgufFile {
 public:
  // Maps and validates the file; throws qs::Error naming the file and the problem.
  static GgufFile open(const std::filesystem::path &path);

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  const std::filesystem::path &path() const { return file_.path(); }
  const std::vector<KeyValue> &metadata() const { return metadata_; }
  const std::vector<TensorInfo> &tensors() const { return tensors_; }
  uint64_t data_offset() const { return data_offset_; }

  const Value *find(std::string_view key) const;
  // The value of a key, or a qs::Error naming the file and the missing key.
  const Value &get(std::string_view key) const;
  const TensorInfo *find_tensor(std::string_view name) const;
  // The tensor's bytes inside the mapping (no copy).
  std::span<const uint8_t> tensor_data(const TensorInfo &info) const;
  void release_pages() const { file_.release_pages(); }  // see MappedFile::release_pages

 private:
  MappedFile file_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<KeyValue> metadata_;
  std::vector<TensorInfo> tensors_;
};

// Writes a GGUF v3 file. Usage: set() metadata, add_tensor() every tensor (shape + type fix its
// size, so offsets are known before any data exists), then write_tensor_data() for each tensor in
// any order, then finish(). Data goes to "<path>.tmp", renamed to <path> by finish(); a writer
// destroyed before finish() removes the temporary file, so no half-written output is left.
//
// A resumable job keeps the temporary file instead (keep_partial_file()), makes each tensor
// durable (sync()) before it records the tensor as done, and after a restart reopens the file with
// resume_partial(): the tensors a previous run finished are kept, not written again.
class GgufWriter {
 public:
  explicit GgufWriter(std::filesystem::path path, uint32_t alignment = kDefaultAlignment);
  ~GgufWriter();
  GgufWriter(const GgufWriter &) = delete;
  GgufWriter &operator=(const GgufWriter &) = delete;

  void set(std::string key, Value value);  // replaces an existing key, else appends
  void add_tensor(std::string name, std::vector<int64_t> shape, GgmlType type);
  // Bytes must be exactly the tensor's size. The header is written on the first call.
  void write_tensor_data(std::string_view name, std::span<const uint8_t> bytes);
  // The same in consecutive parts, first to last (a tensor streamed by blocks of rows); the tensor
  // counts as written once its last byte is.
  void write_tensor_part(std::string_view name, std::span<const uint8_t> bytes);
  void finish();

  // Reopens "<path>.tmp" left by an earlier writer of exactly this file (same header, byte for
  // byte, and full size) and counts `written` as already there. False, with nothing changed, when
  // there is no such file or it belongs to another layout: the caller writes every tensor again.
  bool resume_partial(std::span<const std::string> written);
  // Data written so far reaches the disk before this returns (a unit commit may follow).
  void sync();
  // The destructor leaves "<path>.tmp" in place (a paused job resumes from it).
  void keep_partial_file() { keep_partial_ = true; }
  const std::filesystem::path &partial_path() const { return tmp_path_; }

  const std::vector<TensorInfo> &tensors() const { return tensors_; }
  // The size the finished file will have, known as soon as the metadata and tensors are added.
  uint64_t file_bytes() const;

 private:
  std::vector<uint8_t> header_bytes() const;  // magic to data section, padded to the alignment
  uint64_t data_section_bytes() const;        // every tensor, each padded to the alignment
  size_t tensor_index(std::string_view name) const;
  void write_header();
  std::filesystem::path path_;
  std::filesystem::path tmp_path_;
  uint32_t alignment_;
  std::vector<KeyValue> metadata_;
  std::vector<TensorInfo> tensors_;
  std::vector<bool> written_;
  std::vector<uint64_t> part_bytes_;  // bytes written so far by write_tensor_part
  uint64_t data_offset_ = 0;  // the header's size, once it is written
  int fd_ = -1;
  bool header_written_ = false;
  bool finished_ = false;
  bool keep_partial_ = false;
};

}  // namespace qs::gguf
