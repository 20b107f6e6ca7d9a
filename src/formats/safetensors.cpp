// The safetensors reader. Layout (safetensors docs, "Format"): an 8-byte little-endian header
// length N, N bytes of UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end)}, ...,
// "__metadata__": {str: str}}, then the data area the offsets are relative to.
#include "formats/safetensors.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/half.h"

namespace qs {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

using nlohmann::json;

// The safetensors library's own limit (MAX_HEADER_SIZE): nothing real comes close.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeInfo {
  Dtype dtype;
  const char *name;
  size_t size;
  bool is_float;
};

constexpr DtypeInfo kDtypes[] = {
    {Dtype::F64, "F64", 8, true},          {Dtype::F32, "F32", 4, true},
    {Dtype::F16, "F16", 2, true},          {Dtype::BF16, "BF16", 2, true},
    {Dtype::F8_E4M3, "F8_E4M3", 1, true},  {Dtype::F8_E5M2, "F8_E5M2", 1, true},
    {Dtype::I64, "I64", 8, false},         {Dtype::I32, "I32", 4, false},
    {Dtype::I16, "I16", 2, false},         {Dtype::I8, "I8", 1, false},
    {Dtype::U64, "U64", 8, false},         {Dtype::U32, "U32", 4, false},
    {Dtype::U16, "U16", 2, false},         {Dtype::U8, "U8", 1, false},
    {Dtype::BOOL, "BOOL", 1, false},
};

const DtypeInfo &dtype_info(Dtype dtype) {
  for (const auto &info : kDtypes)
    if (info.dtype == dtype) return info;
  fail("safetensors: dtype id ", static_cast<int>(dtype), " is not in the dtype table");
}

std::string known_dtype_names() {
  std::string names;
  for (const auto &info : kDtypes) names += (names.empty() ? "" : ", ") + std::string(info.name);
  return names;
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF.
// Returns the offset of the first bad byte, or npos.
size_t first_invalid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<uint8_t>(text[i]);
    size_t length;
    uint32_t code;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      length = 2, code = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
      length = 3, code = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
      length = 4, code = c & 0x07u;
    } else {
      return i;
    }
    if (i + length > text.size()) return i;
    for (size_t k = 1; k < length; ++k) {
      const auto continuation = static_cast<uint8_t>(text[i + k]);
      if ((continuation & 0xc0u) != 0x80u) return i;
      code = (code << 6) | (continuation & 0x3fu);
    }
    const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
    if (overlong || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return i;
    i += length;
  }
  return std::string_view::npos;
}

// Parses JSON and refuses duplicate keys in any object (nlohmann would keep the last silently,
// and a second entry for a tensor name must not shadow the first).
json parse_json_without_duplicate_keys(std::string_view text, const std::string &where) {
  std::vector<std::set<std::string>> open_objects;
  auto callback = [&](int depth, json::parse_event_t event, json &parsed) {
    if (event == json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == json::parse_event_t::key && !open_objects.empty()) {
      const std::string &key = parsed.get_ref<const std::string &>();
      if (!open_objects.back().insert(key).second) {
        if (depth == 1) fail(where, ": key \"", key, "\" appears twice in the JSON");
        fail(where, ": key \"", key, "\" appears twice in one object of the JSON");
      }
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback);
  } catch (const json::exception &e) {
    fail(where, ": not valid JSON: ", e.what());
  }
}

// A JSON integer >= 0 that fits int64, or a qs::Error naming the field.
int64_t non_negative_int(const json &value, const std::string &where, const char *field) {
  if (value.is_number_unsigned()) {
    const auto v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(where, ": ", field, " value ", v, " is too large");
    return static_cast<int64_t>(v);
  }
  if (value.is_number_integer()) {
    const auto v = value.get<int64_t>();
    if (v < 0) fail(where, ": ", field, " value ", v, " is negative");
    return v;
  }
  fail(where, ": ", field, " must hold non-negative integers, found ", value.type_name());
}

struct ParsedTensor {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;
};

struct ParsedFile {
  std::vector<ParsedTensor> tensors;  // sorted by data offset
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;            // file offset of the data area
};

ParsedTensor parse_tensor_entry(const std::string &name, const json &entry, uint64_t data_bytes,
                                const std::string &file) {
  const std::string where = cat(file, ": tensor \"", name, "\"");
  if (name.empty()) fail(file, ": a tensor has an empty name");
  if (!entry.is_object()) fail(where, ": entry must be a JSON object, found ", entry.type_name());

  ParsedTensor tensor;
  tensor.name = name;

  const auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string()) fail(where, ": \"dtype\" must be a string");
  const auto &dtype_text = dtype_it->get_ref<const std::string &>();
  const DtypeInfo *info = nullptr;
  for (const auto &candidate : kDtypes)
    if (dtype_text == candidate.name) info = &candidate;
  if (info == nullptr)
    fail(where, ": unknown dtype \"", dtype_text, "\" (known: ", known_dtype_names(), ")");
  tensor.dtype = info->dtype;

  const auto shape_it = entry.find("shape");
  if (shape_it == entry.end() || !shape_it->is_array()) fail(where, ": \"shape\" must be an array");
  uint64_t n_elements = 1;
  bool overflow = false;
  for (const auto &dim : *shape_it) {
    const int64_t extent = non_negative_int(dim, where, "shape");
    tensor.shape.push_back(extent);
    overflow = overflow || __builtin_mul_overflow(n_elements, static_cast<uint64_t>(extent), &n_elements);
  }
  uint64_t n_bytes = 0;
  if (overflow || n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
      __builtin_mul_overflow(n_elements, static_cast<uint64_t>(info->size), &n_bytes))
    fail(where, ": the element count of its shape overflows");

  const auto offsets_it = entry.find("data_offsets");
  if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2)
    fail(where, ": \"data_offsets\" must be an array [begin, end]");
  tensor.begin = static_cast<uint64_t>(non_negative_int((*offsets_it)[0], where, "data_offsets"));
  tensor.end = static_cast<uint64_t>(non_negative_int((*offsets_it)[1], where, "data_offsets"));
  if (tensor.end < tensor.begin)
    fail(where, ": data_offsets [", tensor.begin, ", ", tensor.end, ") end before they begin");
  if (tensor.end > data_bytes)
    fail(where, ": data_offsets [", tensor.begin, ", ", tensor.end, ") run past the end of the data area (",
         data_bytes, " bytes)");
  if (tensor.end - tensor.begin != n_bytes)
    fail(where, ": data_offsets span ", tensor.end - tensor.begin, " bytes but ", info->name, " shape [",
         [&] {
           std::string dims;
           for (int64_t d : tensor.shape) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
           return dims;
         }(),
         "] needs ", n_bytes);
  return tensor;
}

ParsedFile parse_file(std::span<const uint8_t> bytes, const std::string &file) {
  if (bytes.size() < 8)
    fail(file, ": ", bytes.size(), " bytes is too short for the 8-byte safetensors header length");
  uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, bytes.data(), 8);
  if (header_bytes > kMaxHeaderBytes)
    fail(file, ": header length ", header_bytes, " exceeds the ", kMaxHeaderBytes, "-byte limit");
  if (header_bytes > bytes.size() - 8)
    fail(file, ": header length ", header_bytes, " runs past the end of the file (", bytes.size(), " bytes)");

  const std::string_view header(reinterpret_cast<const char *>(bytes.data() + 8), header_bytes);
  if (const size_t bad = first_invalid_utf8(header); bad != std::string_view::npos)
    fail(file, ": header is not valid UTF-8 (byte ", bad, " of the header)");
  if (header.empty() || header.front() != '{') fail(file, ": header does not start with '{'");
  const json root = parse_json_without_duplicate_keys(header, file + ": header");
  if (!root.is_object()) fail(file, ": header must be a JSON object");

  ParsedFile parsed;
  parsed.data_start = 8 + header_bytes;
  const uint64_t data_bytes = bytes.size() - parsed.data_start;
  for (const auto &[key, value] : root.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail(file, ": \"__metadata__\" must be an object of strings");
      for (const auto &[meta_key, meta_value] : value.items()) {
        if (!meta_value.is_string())
          fail(file, ": \"__metadata__\" value of \"", meta_key, "\" must be a string, found ", meta_value.type_name());
        parsed.metadata.emplace(meta_key, meta_value.get<std::string>());
      }
      continue;
    }
    parsed.tensors.push_back(parse_tensor_entry(key, value, data_bytes, file));
  }

  std::sort(parsed.tensors.begin(), parsed.tensors.end(), [](const ParsedTensor &a, const ParsedTensor &b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // Tensors must not share bytes (empty ranges share none). Gaps are tolerated: the reference
  // writer never leaves one, but a gap cannot make us misread a tensor.
  const ParsedTensor *previous = nullptr;
  for (const auto &tensor : parsed.tensors) {
    if (tensor.begin == tensor.end) continue;
    if (previous != nullptr && tensor.begin < previous->end)
      fail(file, ": tensors \"", previous->name, "\" [", previous->begin, ", ", previous->end, ") and \"",
           tensor.name, "\" [", tensor.begin, ", ", tensor.end, ") overlap");
    previous = &tensor;
  }
  return parsed;
}

// Shard names come from a file we do not trust: keep them inside the checkpoint directory.
void check_shard_name(const std::string &shard, const std::string &index_file) {
  const std::filesystem::path path(shard);
  bool escapes = shard.empty() || path.is_absolute() || path.has_root_name();
  for (const auto &part : path)
    if (part == "..") escapes = true;
  if (escapes) fail(index_file, ": shard file name \"", shard, "\" must be a relative path inside the model directory");
}

}  // namespace

const char *dtype_name(Dtype dtype) { return dtype_info(dtype).name; }
size_t dtype_size(Dtype dtype) { return dtype_info(dtype).size; }
bool dtype_is_float(Dtype dtype) { return dtype_info(dtype).is_float; }

int64_t SafetensorsTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;  // validated not to overflow when the file was opened
  return n;
}

void SafetensorsModel::add_shard(Shard shard) {
  const std::string file = shard.path.string();
  const std::span<const uint8_t> bytes = shard.bytes();
  ParsedFile parsed = parse_file(bytes, file);

  for (auto &tensor : parsed.tensors) {
    if (auto it = index_by_name_.find(tensor.name); it != index_by_name_.end())
      fail("tensor \"", tensor.name, "\" appears in both ", tensors_[it->second].file.string(), " and ", file);
    SafetensorsTensor out;
    out.name = std::move(tensor.name);
    out.dtype = tensor.dtype;
    out.shape = std::move(tensor.shape);
    out.bytes = bytes.subspan(parsed.data_start + tensor.begin, tensor.end - tensor.begin);
    out.file = shard.path;
    index_by_name_.emplace(out.name, tensors_.size());
    tensors_.push_back(std::move(out));
  }
  for (auto &[key, value] : parsed.metadata) metadata_.emplace(key, value);
  shards_.push_back(std::move(shard));
}

SafetensorsModel SafetensorsModel::from_memory(std::span<const uint8_t> bytes, const std::string &display_name) {
  SafetensorsModel model;
  Shard shard;
  shard.path = display_name;
  shard.owned.assign(bytes.begin(), bytes.end());
  if (shard.owned.empty()) fail(display_name, ": 0 bytes is too short for the 8-byte safetensors header length");
  model.add_shard(std::move(shard));
  return model;
}

namespace {

// weight_map of model.safetensors.index.json: tensor name -> shard file name.
std::map<std::string, std::string> read_weight_map(const std::filesystem::path &index_path) {
  const std::string where = index_path.string();
  const MappedFile index_file(index_path);
  const std::string_view text(reinterpret_cast<const char *>(index_file.data()), index_file.size());
  if (const size_t bad = first_invalid_utf8(text); bad != std::string_view::npos)
    fail(where, ": not valid UTF-8 (byte ", bad, ")");
  const json root = parse_json_without_duplicate_keys(text, where);
  if (!root.is_object()) fail(where, ": must be a JSON object");
  const auto weight_map_it = root.find("weight_map");
  if (weight_map_it == root.end() || !weight_map_it->is_object())
    fail(where, ": \"weight_map\" must be an object of tensor name -> shard file");
  std::map<std::string, std::string> weight_map;
  for (const auto &[tensor, shard] : weight_map_it->items()) {
    if (!shard.is_string()) fail(where, ": weight_map entry \"", tensor, "\" must be a file name string");
    check_shard_name(shard.get<std::string>(), where);
    weight_map.emplace(tensor, shard.get<std::string>());
  }
  if (weight_map.empty()) fail(where, ": weight_map lists no tensors");
  return weight_map;
}

}  // namespace

SafetensorsModel SafetensorsModel::open(const std::filesystem::path &path) {
  namespace fs = std::filesystem;
  fs::path index_path;
  fs::path single_path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (fs::exists(path / "model.safetensors.index.json", ec)) {
      index_path = path / "model.safetensors.index.json";
    } else if (fs::exists(path / "model.safetensors", ec)) {
      single_path = path / "model.safetensors";
    } else {
      fail(path.string(), ": no model.safetensors or model.safetensors.index.json in this directory");
    }
  } else if (path.filename().string().ends_with(".index.json")) {
    index_path = path;
  } else {
    single_path = path;
  }

  SafetensorsModel model;
  if (!single_path.empty()) {
    Shard shard;
    shard.path = single_path;
    shard.mapping = MappedFile(single_path);
    model.add_shard(std::move(shard));
    return model;
  }

  const std::map<std::string, std::string> weight_map = read_weight_map(index_path);
  std::set<std::string> shard_names;
  for (const auto &[tensor, shard] : weight_map) shard_names.insert(shard);
  const fs::path directory = index_path.parent_path();
  for (const auto &shard_name : shard_names) {
    const fs::path shard_path = directory / shard_name;
    if (!fs::is_regular_file(shard_path, ec))
      fail(index_path.string(), ": missing shard ", shard_path.string(), " listed in weight_map");
    Shard shard;
    shard.path = shard_path;
    shard.mapping = MappedFile(shard_path);
    model.add_shard(std::move(shard));
  }
  // The index and the shards must agree tensor for tensor: a mismatch means a stale index or a
  // shard from another checkpoint.
  for (const auto &tensor : model.tensors_) {
    const auto it = weight_map.find(tensor.name);
    if (it == weight_map.end())
      fail(index_path.string(), ": tensor \"", tensor.name, "\" of ", tensor.file.string(), " is not in weight_map");
    if (directory / it->second != tensor.file)
      fail(index_path.string(), ": tensor \"", tensor.name, "\" is in ", tensor.file.string(),
           " but weight_map places it in ", it->second);
  }
  for (const auto &[tensor, shard] : weight_map)
    if (model.find(tensor) == nullptr)
      fail(index_path.string(), ": tensor \"", tensor, "\" listed in weight_map is missing from ", (directory / shard).string());
  return model;
}

const SafetensorsTensor *SafetensorsModel::find(std::string_view name) const {
  const auto it = index_by_name_.find(name);
  return it == index_by_name_.end() ? nullptr : &tensors_[it->second];
}

std::vector<std::filesystem::path> SafetensorsModel::files() const {
  std::vector<std::filesystem::path> paths;
  for (const auto &shard : shards_) paths.push_back(shard.path);
  return paths;
}

void SafetensorsModel::release_pages() const {
  for (const auto &shard : shards_)
    if (shard.owned.empty()) shard.mapping.release_pages();
}

float f8_e4m3_to_f32(uint8_t bits) {
  const bool negative = (bits & 0x80u) != 0;
  const int exponent = (bits >> 3) & 0xf;
  const int mantissa = bits & 0x7;
  float magnitude;
  if (exponent == 0xf && mantissa == 0x7) {
    magnitude = std::numeric_limits<float>::quiet_NaN();  // E4M3FN has no infinities
  } else if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -9);  // m/8 * 2^(1-7)
  } else {
    magnitude = std::ldexp(static_cast<float>(8 + mantissa), exponent - 10);  // (1+m/8) * 2^(e-7)
  }
  return negative ? -magnitude : magnitude;
}

// E5M2 is binary16 with the low 8 mantissa bits dropped, so widening is exact.
float f8_e5m2_to_f32(uint8_t bits) { return f16_to_f32(static_cast<uint16_t>(bits << 8)); }

void read_as_f32(const SafetensorsTensor &tensor, float *out) {
  const int64_t n = tensor.n_elements();
  const uint8_t *src = tensor.bytes.data();
  if (n == 0 && dtype_is_float(tensor.dtype)) return;  // out may be null for an empty tensor
  switch (tensor.dtype) {
    case Dtype::F32:
      std::memcpy(out, src, static_cast<size_t>(n) * 4);
      return;
    case Dtype::F64:
      for (int64_t i = 0; i < n; ++i) {
        double value;
        std::memcpy(&value, src + 8 * i, 8);
        out[i] = static_cast<float>(value);
      }
      return;
    case Dtype::F16:
    case Dtype::BF16: {
      // The row converters take uint16_t pointers; a tensor at an odd file offset is copied
      // through an aligned buffer first.
      const auto convert = tensor.dtype == Dtype::F16 ? f16_to_f32_row : bf16_to_f32_row;
      if (reinterpret_cast<uintptr_t>(src) % alignof(uint16_t) == 0) {
        convert(reinterpret_cast<const uint16_t *>(src), out, n);
        return;
      }
      constexpr int64_t kChunk = 4096;
      uint16_t aligned[kChunk];
      for (int64_t done = 0; done < n; done += kChunk) {
        const int64_t count = std::min(kChunk, n - done);
        std::memcpy(aligned, src + 2 * done, static_cast<size_t>(count) * 2);
        convert(aligned, out + done, count);
      }
      return;
    }
    case Dtype::F8_E4M3:
      for (int64_t i = 0; i < n; ++i) out[i] = f8_e4m3_to_f32(src[i]);
      return;
    case Dtype::F8_E5M2:
      for (int64_t i = 0; i < n; ++i) out[i] = f8_e5m2_to_f32(src[i]);
      return;
    default:
      fail(tensor.file.string(), ": tensor \"", tensor.name, "\" has dtype ", dtype_name(tensor.dtype),
           ", which is not a float type (F32, F16, BF16, F64, F8_E4M3, F8_E5M2)");
  }
}

std::vector<float> read_as_f32(const SafetensorsTensor &tensor) {
  std::vector<float> out(static_cast<size_t>(tensor.n_elements()));
  read_as_f32(tensor, out.data());
  return out;
}

}  // namespace qs
