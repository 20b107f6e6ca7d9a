// gguf::Value accessors and helpers; the variant's alternative order equals the GGUF type ids.
#include <cstdio>

#include "core/error.h"
#include "formats/gguf.h"

namespace qs::gguf {

static_assert(std::variant_size_v<Value::Storage> == 13);

const char *value_type_name(ValueType type) {
  switch (type) {
    case ValueType::UINT8: return "u8";
    case ValueType::INT8: return "i8";
    case ValueType::UINT16: return "u16";
    case ValueType::INT16: return "i16";
    case ValueType::UINT32: return "u32";
    case ValueType::INT32: return "i32";
    case ValueType::FLOAT32: return "f32";
    case ValueType::BOOL: return "bool";
    case ValueType::STRING: return "str";
    case ValueType::ARRAY: return "arr";
    case ValueType::UINT64: return "u64";
    case ValueType::INT64: return "i64";
    case ValueType::FLOAT64: return "f64";
  }
  return "?";
}

ValueType Value::type() const { return static_cast<ValueType>(storage.index()); }

int64_t Value::as_int() const {
  return std::visit(
      [this](const auto &v) -> int64_t {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, Array>) {
          fail("expected a number, found a ", value_type_name(type()));
        } else {
          return static_cast<int64_t>(v);
        }
      },
      storage);
}

double Value::as_float() const {
  return std::visit(
      [this](const auto &v) -> double {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, Array>) {
          fail("expected a number, found a ", value_type_name(type()));
        } else {
          return static_cast<double>(v);
        }
      },
      storage);
}

const std::string &Value::as_string() const {
  if (const auto *s = std::get_if<std::string>(&storage)) return *s;
  fail("expected a string, found a ", value_type_name(type()));
}

const Array &Value::as_array() const {
  if (const auto *a = std::get_if<Array>(&storage)) return *a;
  fail("expected an array, found a ", value_type_name(type()));
}

std::string Value::to_display_string(size_t max_items) const {
  return std::visit(
      [&](const auto &v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return v.size() > 60 ? "\"" + v.substr(0, 57) + "...\"" : "\"" + v + "\"";
        } else if constexpr (std::is_same_v<T, Array>) {
          std::string out = "[";
          for (size_t i = 0; i < v.items.size() && i < max_items; ++i) {
            if (i) out += ", ";
            out += v.items[i].to_display_string(max_items);
          }
          if (v.items.size() > max_items) out += cat(", ... (", v.items.size(), " items)");
          return out + "]";
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
          return buf;
        } else {
          return std::to_string(static_cast<int64_t>(v));
        }
      },
      storage);
}

Value string_array(const std::vector<std::string> &strings) {
  Array a;
  a.element_type = ValueType::STRING;
  a.items.reserve(strings.size());
  for (const auto &s : strings) a.items.emplace_back(s);
  return Value(std::move(a));
}

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

uint64_t tensor_bytes(GgmlType type, std::span<const int64_t> shape) {
  const QuantType &qt = quant_type(type);
  uint64_t n_blocks_per_row = 0;
  uint64_t rows = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) fail("negative dimension ", shape[i]);
    if (i == 0) {
      if (shape[0] % qt.block_size != 0) {
        fail("row length ", shape[0], " is not a multiple of ", qt.name, "'s block size ", qt.block_size);
      }
      n_blocks_per_row = static_cast<uint64_t>(shape[0] / qt.block_size);
    } else {
      const uint64_t d = static_cast<uint64_t>(shape[i]);
      if (d != 0 && rows > (uint64_t{1} << 62) / d) fail("tensor size overflows");
      rows *= d;
    }
  }
  if (shape.empty()) n_blocks_per_row = 1;
  const uint64_t row_bytes = n_blocks_per_row * qt.block_bytes;
  if (rows != 0 && row_bytes > (uint64_t{1} << 62) / rows) fail("tensor size overflows");
  return row_bytes * rows;
}

}  // namespace qs::gguf
