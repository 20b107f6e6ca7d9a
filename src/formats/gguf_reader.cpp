// GGUF reader: parses the header of a memory-mapped file, validating every count, length and
// offset against the bytes that are really there before using it (never trust a header).
#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "core/error.h"
#include "core/utf8.h"
#include "formats/gguf.h"

namespace qs::gguf {
namespace {

constexpr uint32_t kMaxDims = 4;         // GGML_MAX_DIMS
constexpr int kMaxArrayNesting = 8;      // the format allows nesting; nobody needs more

// Bounds-checked little-endian cursor over the mapped bytes.
class Cursor {
 public:
  Cursor(std::span<const uint8_t> bytes, const std::string &file) : bytes_(bytes), file_(file) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }

  template <class T>
  T read(const char *what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(const char *what) {
    const uint64_t length = read<uint64_t>(what);
    if (length > remaining()) {
      fail(file_, ": ", what, " claims ", length, " bytes at offset ", pos_ - 8, " but only ", remaining(),
           " remain (truncated or corrupt file)");
    }
    std::string s(reinterpret_cast<const char *>(bytes_.data() + pos_), static_cast<size_t>(length));
    pos_ += static_cast<size_t>(length);
    return s;
  }

  void need(size_t n, const char *what) const {
    if (n > remaining()) {
      fail(file_, ": truncated: ", what, " needs ", n, " bytes at offset ", pos_, " but only ", remaining(), " remain");
    }
  }

  const std::string &file() const { return file_; }

 private:
  std::span<const uint8_t> bytes_;
  const std::string &file_;
  size_t pos_ = 0;
};

// Smallest encoded size of one value of a type: bounds array counts before allocating.
size_t min_encoded_size(ValueType type) {
  switch (type) {
    case ValueType::UINT8: case ValueType::INT8: case ValueType::BOOL: return 1;
    case ValueType::UINT16: case ValueType::INT16: return 2;
    case ValueType::UINT32: case ValueType::INT32: case ValueType::FLOAT32: return 4;
    case ValueType::UINT64: case ValueType::INT64: case ValueType::FLOAT64: return 8;
    case ValueType::STRING: return 8;        // the length prefix
    case ValueType::ARRAY: return 4 + 8;     // element type + count
  }
  return 1;
}

bool is_known_value_type(uint32_t raw) { return raw <= static_cast<uint32_t>(ValueType::FLOAT64); }

Value read_value(Cursor &in, ValueType type, const std::string &key, int depth);

Array read_array(Cursor &in, const std::string &key, int depth) {
  if (depth >= kMaxArrayNesting) fail(in.file(), ": key '", key, "': arrays nested deeper than ", kMaxArrayNesting);
  const uint32_t raw_type = in.read<uint32_t>("array element type");
  if (!is_known_value_type(raw_type)) fail(in.file(), ": key '", key, "': unknown array element type ", raw_type);
  const auto element_type = static_cast<ValueType>(raw_type);
  const uint64_t count = in.read<uint64_t>("array length");
  if (count > in.remaining() / min_encoded_size(element_type)) {
    fail(in.file(), ": key '", key, "': array claims ", count, " elements but only ", in.remaining(),
         " bytes remain (corrupt file)");
  }
  Array array;
  array.element_type = element_type;
  array.items.reserve(static_cast<size_t>(count));
  for (uint64_t i = 0; i < count; ++i) array.items.push_back(read_value(in, element_type, key, depth + 1));
  return array;
}

Value read_value(Cursor &in, ValueType type, const std::string &key, int depth) {
  switch (type) {
    case ValueType::UINT8: return in.read<uint8_t>("u8 value");
    case ValueType::INT8: return in.read<int8_t>("i8 value");
    case ValueType::UINT16: return in.read<uint16_t>("u16 value");
    case ValueType::INT16: return in.read<int16_t>("i16 value");
    case ValueType::UINT32: return in.read<uint32_t>("u32 value");
    case ValueType::INT32: return in.read<int32_t>("i32 value");
    case ValueType::FLOAT32: return in.read<float>("f32 value");
    case ValueType::UINT64: return in.read<uint64_t>("u64 value");
    case ValueType::INT64: return in.read<int64_t>("i64 value");
    case ValueType::FLOAT64: return in.read<double>("f64 value");
    case ValueType::BOOL: {
      const uint8_t b = in.read<uint8_t>("bool value");
      if (b > 1) fail(in.file(), ": key '", key, "': bool value ", int(b), " is neither 0 nor 1");
      return b == 1;
    }
    case ValueType::STRING: return in.read_string("string value");
    case ValueType::ARRAY: return read_array(in, key, depth);
  }
  fail(in.file(), ": key '", key, "': unknown value type");
}

}  // namespace

GgufFile GgufFile::open(const std::filesystem::path &path) {
  GgufFile gguf;
  gguf.file_ = MappedFile(path);
  const std::string file = path.string();
  Cursor in(gguf.file_.bytes(), file);

  if (in.remaining() < 4 || in.read<uint32_t>("magic") != kMagic) fail(file, ": not a GGUF file (bad magic)");
  gguf.version_ = in.read<uint32_t>("version");
  if (gguf.version_ != 2 && gguf.version_ != 3) {
    fail(file, ": unsupported GGUF version ", gguf.version_, " (quantscope reads versions 2 and 3)");
  }
  const uint64_t n_tensors = in.read<uint64_t>("tensor count");
  const uint64_t n_metadata = in.read<uint64_t>("metadata count");
  // Each key/value takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least
  // 8 + 4 + 4 + 8. Counts beyond what the file can hold are corrupt: refuse before allocating.
  if (n_metadata > in.remaining() / 13) fail(file, ": header claims ", n_metadata, " metadata entries, more than the file can hold");
  if (n_tensors > in.remaining() / 24) fail(file, ": header claims ", n_tensors, " tensors, more than the file can hold");

  std::unordered_set<std::string> keys;
  gguf.metadata_.reserve(static_cast<size_t>(n_metadata));
  for (uint64_t i = 0; i < n_metadata; ++i) {
    std::string key = in.read_string("metadata key");
    if (key.empty()) fail(file, ": metadata entry ", i, " has an empty key");
    if (!is_valid_utf8(key)) fail(file, ": metadata entry ", i, " has a key that is not valid UTF-8");
    if (!keys.insert(key).second) fail(file, ": duplicate metadata key '", key, "'");
    const uint32_t raw_type = in.read<uint32_t>("metadata value type");
    if (!is_known_value_type(raw_type)) fail(file, ": key '", key, "' has unknown value type ", raw_type);
    Value value = read_value(in, static_cast<ValueType>(raw_type), key, 0);
    gguf.metadata_.push_back({std::move(key), std::move(value)});
  }

  if (const Value *alignment = gguf.find("general.alignment")) {
    if (alignment->type() != ValueType::UINT32) fail(file, ": general.alignment must be a u32");
    const auto a = static_cast<uint32_t>(alignment->as_int());
    if (a == 0 || (a & (a - 1)) != 0) fail(file, ": general.alignment ", a, " is not a power of two");
    gguf.alignment_ = a;
  }

  std::unordered_set<std::string> names;
  gguf.tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo info;
    info.name = in.read_string("tensor name");
    if (info.name.empty()) fail(file, ": tensor ", i, " has an empty name");
    if (!is_valid_utf8(info.name)) fail(file, ": tensor ", i, " has a name that is not valid UTF-8");
    if (!names.insert(info.name).second) fail(file, ": duplicate tensor name '", info.name, "'");
    const uint32_t n_dims = in.read<uint32_t>("tensor dimension count");
    if (n_dims > kMaxDims) fail(file, ": tensor '", info.name, "' has ", n_dims, " dimensions (at most ", kMaxDims, ")");
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = in.read<uint64_t>("tensor dimension");
      if (dim > (uint64_t{1} << 62)) fail(file, ": tensor '", info.name, "' has an absurd dimension ", dim);
      info.shape.push_back(static_cast<int64_t>(dim));
    }
    const uint32_t raw_type = in.read<uint32_t>("tensor type");
    if (find_quant_type(raw_type) == nullptr) fail(file, ": tensor '", info.name, "' has unknown ggml type id ", raw_type);
    info.type = static_cast<GgmlType>(raw_type);
    info.offset = in.read<uint64_t>("tensor data offset");
    if (info.offset % gguf.alignment_ != 0) {
      fail(file, ": tensor '", info.name, "' data offset ", info.offset, " is not aligned to ", gguf.alignment_);
    }
    try {
      info.n_bytes = tensor_bytes(info.type, info.shape);
    } catch (const Error &e) {
      fail(file, ": tensor '", info.name, "': ", e.what());
    }
    gguf.tensors_.push_back(std::move(info));
  }

  // The data section starts at the next multiple of the alignment after the header.
  const uint64_t header_end = in.position();
  gguf.data_offset_ = (header_end + gguf.alignment_ - 1) / gguf.alignment_ * gguf.alignment_;
  const uint64_t file_size = gguf.file_.size();
  if (gguf.data_offset_ > file_size && !gguf.tensors_.empty()) fail(file, ": truncated before the tensor data");
  const uint64_t data_size = file_size > gguf.data_offset_ ? file_size - gguf.data_offset_ : 0;

  std::vector<const TensorInfo *> by_offset;
  for (const auto &t : gguf.tensors_) {
    if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
      fail(file, ": tensor '", t.name, "' data [", t.offset, ", ", t.offset + t.n_bytes, ") lies past the end of the file (",
           data_size, " bytes of data; truncated file?)");
    }
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](auto *a, auto *b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo &prev = *by_offset[i - 1];
    if (prev.offset + prev.n_bytes > by_offset[i]->offset) {
      fail(file, ": tensors '", prev.name, "' and '", by_offset[i]->name, "' overlap");
    }
  }
  return gguf;
}

const Value *GgufFile::find(std::string_view key) const {
  for (const auto &kv : metadata_)
    if (kv.key == key) return &kv.value;
  return nullptr;
}

const Value &GgufFile::get(std::string_view key) const {
  if (const Value *v = find(key)) return *v;
  fail(path().string(), ": missing metadata key '", key, "'");
}

const TensorInfo *GgufFile::find_tensor(std::string_view name) const {
  for (const auto &t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

std::span<const uint8_t> GgufFile::tensor_data(const TensorInfo &info) const {
  return file_.bytes().subspan(static_cast<size_t>(data_offset_ + info.offset), static_cast<size_t>(info.n_bytes));
}

}  // namespace qs::gguf
