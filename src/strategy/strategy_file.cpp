// Reading and writing the strategy file (strategy_file.h). YAML and JSON are both turned into one
// document tree that remembers where each value was read (file:line for YAML, the file for JSON,
// plus the field path), and one validator turns that tree into a Strategy, so both formats accept
// and refuse exactly the same things with the same messages.
#include "strategy/strategy_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/text_file.h"
#include "jobs/measurement_row.h"
#include "model/quantizable_tensors.h"
#include "quant/types.h"

namespace qs {

namespace {

constexpr int kMaxDepth = 32;                   // the schema nests 4 deep; deeper input is not a strategy
constexpr uint64_t kMaxFileBytes = 256ull << 20;  // a strategy of 100k tensors is ~15 MB
constexpr int64_t kMaxDims = 4;                 // GGML_MAX_DIMS
constexpr int64_t kMaxElements = int64_t{1} << 62;

// ---------------------------------------------------------------------------------------------
// The document tree

struct DocEntry;

// One value of a strategy document, read from YAML or JSON, with where it was read.
struct DocValue {
  enum class Kind {
    null,      // YAML ~, null or nothing; JSON null
    plain,     // an unquoted YAML scalar: a string or a number, as the field needs
    string,    // a quoted YAML scalar or a JSON string: never a number
    number,    // a JSON number (text: its shortest exact form; a fraction always has '.' or 'e')
    boolean,   // a JSON true/false (no field takes one)
    sequence,
    map,
  };
  Kind kind = Kind::null;
  std::string text;  // scalars
  std::vector<DocValue> items;
  std::vector<DocEntry> entries;  // maps: in document order, keys unique
  std::string where;  // "file:12" (YAML) or "file" (JSON)
  std::string path;   // "tensors['blk.0.attn_v.weight'].type"; empty at the top
};

struct DocEntry {
  std::string key;
  DocValue value;
};
using Kind = DocValue::Kind;

bool is_plain_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

// Tensor names hold dots, so they are quoted: tensors['blk.0.attn_v.weight'].type.
std::string child_path(const std::string &parent, std::string_view key) {
  if (!is_plain_key(key)) return cat(parent, "['", key, "']");
  return parent.empty() ? std::string(key) : cat(parent, ".", key);
}

std::string item_path(const std::string &parent, size_t index) { return cat(parent, "[", index, "]"); }

// "file:12: tensors['x'].type" — the prefix of every message about v.
std::string at(const DocValue &v) { return v.path.empty() ? v.where : cat(v.where, ": ", v.path); }

std::string describe(const DocValue &v) {
  switch (v.kind) {
    case Kind::null: return "nothing";
    case Kind::plain: return cat("'", v.text, "'");
    case Kind::string: return cat("the string \"", v.text, "\"");
    case Kind::number: return cat("the number ", v.text);
    case Kind::boolean: return v.text;
    case Kind::sequence: return "a list";
    case Kind::map: return "a map";
  }
  return "?";
}

template <class... Parts>
[[noreturn]] void fail_at(const DocValue &v, Parts &&...parts) {
  fail(at(v), ": ", std::forward<Parts>(parts)...);
}

// The shortest text that reads back as exactly this double (the CSV's cells use the same).
std::string shortest_text(double value) { return format_metric_value(value); }

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c); });
}

[[noreturn]] void fail_empty(std::string_view source) {
  fail(source, ": empty file; expected a strategy (quantscope_strategy: ", Strategy::kVersion, ", model, tensors)");
}

// ---------------------------------------------------------------------------------------------
// YAML → tree

std::string yaml_where(std::string_view source, const YAML::Mark &mark, const std::string &fallback) {
  if (mark.is_null() || mark.line < 0) return fallback;
  return cat(source, ":", mark.line + 1);
}

DocValue from_yaml(const YAML::Node &node, std::string where, std::string path, std::string_view source, int depth) {
  DocValue v;
  v.where = std::move(where);
  v.path = std::move(path);
  if (depth > kMaxDepth) fail_at(v, "nested more than ", kMaxDepth, " levels deep; a strategy is not");
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      v.kind = Kind::null;
      break;
    case YAML::NodeType::Scalar:
      // yaml-cpp tags an unquoted scalar "?" and a quoted one "!"; an explicit !!str is a string too.
      v.kind = node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str" ? Kind::string : Kind::plain;
      v.text = node.Scalar();
      break;
    case YAML::NodeType::Sequence:
      v.kind = Kind::sequence;
      for (size_t i = 0; i < node.size(); ++i) {
        const YAML::Node item = node[i];
        v.items.push_back(from_yaml(item, yaml_where(source, item.Mark(), v.where), item_path(v.path, i), source, depth + 1));
      }
      break;
    case YAML::NodeType::Map: {
      v.kind = Kind::map;
      // yaml-cpp keeps every entry of a repeated key (and node[key] finds only the first), so a
      // repeat is caught here rather than silently dropping one of the two.
      std::unordered_map<std::string, std::string> first_seen;
      for (auto it = node.begin(); it != node.end(); ++it) {
        const std::string key_where = yaml_where(source, it->first.Mark(), v.where);
        if (!it->first.IsScalar()) {
          fail(key_where, ": ", v.path.empty() ? "" : v.path + ": ", "a key must be a name, not ",
               it->first.IsNull() ? "nothing" : "a list or map");
        }
        const std::string key = it->first.Scalar();
        const std::string key_path = child_path(v.path, key);
        const auto [seen, inserted] = first_seen.emplace(key, key_where);
        if (!inserted) fail(key_where, ": ", key_path, ": appears twice (first at ", seen->second, ")");
        // A value's line is its key's: an empty value has no mark of its own, and in flow style
        // the key is where a person looks.
        v.entries.push_back({key, from_yaml(it->second, key_where, key_path, source, depth + 1)});
      }
      break;
    }
  }
  return v;
}

DocValue parse_yaml(std::string_view text, std::string_view source) {
  if (is_blank(text)) fail_empty(source);
  try {
    const std::vector<YAML::Node> documents = YAML::LoadAll(std::string(text));
    if (documents.empty()) fail_empty(source);  // comments only
    if (documents.size() > 1) {
      fail(yaml_where(source, documents[1].Mark(), std::string(source)),
           ": a second YAML document (after ---); a strategy file holds one");
    }
    const YAML::Node &top = documents[0];
    return from_yaml(top, yaml_where(source, top.Mark(), cat(source, ":1")), "", source, 0);
  } catch (const YAML::Exception &e) {
    if (e.mark.is_null()) fail(source, ": YAML error: ", e.msg);
    fail(source, ":", e.mark.line + 1, ":", e.mark.column + 1, ": YAML syntax error: ", e.msg);
  }
}

// ---------------------------------------------------------------------------------------------
// JSON → tree

std::string json_number_text(const nlohmann::ordered_json &json) {
  if (json.is_number_unsigned()) return std::to_string(json.get<uint64_t>());
  if (json.is_number_integer()) return std::to_string(json.get<int64_t>());
  std::string text = shortest_text(json.get<double>());
  // 3.0 prints as "3"; keep it a fraction so that it is not taken for a whole number.
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

DocValue from_json(const nlohmann::ordered_json &json, std::string_view source, std::string path, int depth) {
  DocValue v;
  v.where = std::string(source);
  v.path = std::move(path);
  if (depth > kMaxDepth) fail_at(v, "nested more than ", kMaxDepth, " levels deep; a strategy is not");
  using T = nlohmann::ordered_json::value_t;
  switch (json.type()) {
    case T::null:
    case T::discarded:
      v.kind = Kind::null;
      break;
    case T::boolean:
      v.kind = Kind::boolean;
      v.text = json.get<bool>() ? "true" : "false";
      break;
    case T::number_integer:
    case T::number_unsigned:
    case T::number_float:
      v.kind = Kind::number;
      v.text = json_number_text(json);
      break;
    case T::string:
      v.kind = Kind::string;
      v.text = json.get<std::string>();
      break;
    case T::array:
      v.kind = Kind::sequence;
      for (size_t i = 0; i < json.size(); ++i) v.items.push_back(from_json(json[i], source, item_path(v.path, i), depth + 1));
      break;
    case T::object:
      v.kind = Kind::map;
      for (const auto &[key, value] : json.items()) v.entries.push_back({key, from_json(value, source, child_path(v.path, key), depth + 1)});
      break;
    case T::binary:
      fail_at(v, "binary data is not part of a strategy");
  }
  return v;
}

// nlohmann reports the byte where parsing stopped (1-based); people want line:column.
std::pair<size_t, size_t> line_and_column(std::string_view text, size_t byte) {
  const size_t index = std::min(byte == 0 ? 0 : byte - 1, text.size());
  const std::string_view before = text.substr(0, index);
  const size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
  const size_t line_start = before.rfind('\n') == std::string_view::npos ? 0 : before.rfind('\n') + 1;
  return {line, index - line_start + 1};
}

// "[json.exception.parse_error.101] parse error at line 3, column 5: syntax error ..." → "syntax error ...".
std::string json_error_reason(const char *what) {
  const std::string_view message = what;
  const size_t column = message.find("column ");
  const size_t colon = column == std::string_view::npos ? std::string_view::npos : message.find(": ", column);
  return std::string(colon == std::string_view::npos ? message : message.substr(colon + 2));
}

nlohmann::ordered_json parse_json(std::string_view text, std::string_view source) {
  if (is_blank(text)) fail_empty(source);
  // nlohmann keeps one of two equal keys without a word; the parse callback sees every key, so a
  // repeat is an error here, named by its path.
  struct Open {
    bool is_object;
    std::string path;
    std::set<std::string> keys;
    std::string last_key;
    size_t n_items = 0;
  };
  std::vector<Open> open;
  const auto path_of_next = [&]() -> std::string {
    if (open.empty()) return "";
    const Open &parent = open.back();
    return parent.is_object ? child_path(parent.path, parent.last_key) : item_path(parent.path, parent.n_items);
  };
  using Event = nlohmann::ordered_json::parse_event_t;
  const auto callback = [&](int, Event event, nlohmann::ordered_json &parsed) {
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        open.push_back({event == Event::object_start, path_of_next(), {}, {}, 0});
        break;
      case Event::key: {
        Open &object = open.back();
        object.last_key = parsed.get<std::string>();
        if (!object.keys.insert(object.last_key).second)
          fail(source, ": ", child_path(object.path, object.last_key), ": appears twice");
        break;
      }
      case Event::object_end:
      case Event::array_end:
        open.pop_back();
        if (!open.empty() && !open.back().is_object) ++open.back().n_items;
        break;
      case Event::value:
        if (!open.empty() && !open.back().is_object) ++open.back().n_items;
        break;
    }
    return true;
  };
  try {
    return nlohmann::ordered_json::parse(text.begin(), text.end(), callback);
  } catch (const nlohmann::ordered_json::parse_error &e) {
    const auto [line, column] = line_and_column(text, e.byte);
    fail(source, ":", line, ":", column, ": JSON syntax error: ", json_error_reason(e.what()));
  }
}

// ---------------------------------------------------------------------------------------------
// Tree → Strategy

std::string joined(std::initializer_list<std::string_view> names) {
  std::string text;
  for (std::string_view name : names) text += cat(text.empty() ? "" : ", ", name);
  return text;
}

void check_keys(const DocValue &map, std::initializer_list<std::string_view> known) {
  for (const auto &[key, value] : map.entries) {
    if (std::find(known.begin(), known.end(), key) == known.end())
      fail_at(value, "unknown key '", key, "' (expected one of: ", joined(known), ")");
  }
}

const DocValue *entry(const DocValue &map, std::string_view key) {
  for (const auto &[name, value] : map.entries)
    if (name == key) return &value;
  return nullptr;
}

// An optional field: nullptr when absent or null.
const DocValue *optional_field(const DocValue &map, std::string_view key) {
  const DocValue *value = entry(map, key);
  return value && value->kind != Kind::null ? value : nullptr;
}

const DocValue &required_field(const DocValue &map, std::string_view key, std::string_view what) {
  const DocValue *value = entry(map, key);
  if (!value) fail_at(map, "missing '", key, "' (", what, ")");
  if (value->kind == Kind::null) fail_at(*value, "expected ", what, ", found nothing");
  return *value;
}

const DocValue &expect_map(const DocValue &v, std::string_view what) {
  if (v.kind != Kind::map) fail_at(v, "expected ", what, ", found ", describe(v));
  return v;
}

std::string string_value(const DocValue &v, std::string_view what) {
  if (v.kind != Kind::plain && v.kind != Kind::string) fail_at(v, "expected ", what, " (a string), found ", describe(v));
  return v.text;
}

std::string nonempty_string(const DocValue &v, std::string_view what) {
  std::string text = string_value(v, what);
  if (text.empty()) fail_at(v, "expected ", what, ", found an empty string");
  return text;
}

template <class Int>
std::optional<Int> whole_number(const DocValue &v) {
  if (v.kind != Kind::plain && v.kind != Kind::number) return std::nullopt;
  Int value{};
  const char *end = v.text.data() + v.text.size();
  const auto [stop, error] = std::from_chars(v.text.data(), end, value);
  if (v.text.empty() || error != std::errc() || stop != end) return std::nullopt;
  return value;
}

uint64_t byte_count(const DocValue &v, std::string_view what) {
  const auto value = whole_number<uint64_t>(v);
  if (!value) fail_at(v, "expected ", what, " (a whole number of bytes, 0 or more), found ", describe(v));
  return *value;
}

int64_t positive_whole_number(const DocValue &v, std::string_view what) {
  const auto value = whole_number<int64_t>(v);
  if (!value || *value <= 0) fail_at(v, "expected ", what, " (a whole number above 0), found ", describe(v));
  return *value;
}

double finite_number(const DocValue &v, std::string_view what) {
  double value = 0;
  bool ok = v.kind == Kind::plain || v.kind == Kind::number;
  if (ok) {
    const char *end = v.text.data() + v.text.size();
    const auto [stop, error] = std::from_chars(v.text.data(), end, value);
    ok = !v.text.empty() && error == std::errc() && stop == end && std::isfinite(value);
  }
  if (!ok) fail_at(v, "expected ", what, " (a finite number), found ", describe(v));
  return value;
}

void check_version(const DocValue &top) {
  const std::string supported = cat("supported versions: ", Strategy::kVersion);
  const DocValue *version = entry(top, "quantscope_strategy");
  if (!version)
    fail_at(top, "not a quantscope strategy: missing 'quantscope_strategy: ", Strategy::kVersion, "' (", supported, ")");
  const auto number = whole_number<int64_t>(*version);
  if (!number) fail_at(*version, "expected a version number, found ", describe(*version), " (", supported, ")");
  if (*number != Strategy::kVersion) {
    fail_at(*version, "version ", *number, " is not supported (", supported,
            *number > Strategy::kVersion ? "; it was written by a newer quantscope)" : ")");
  }
}

std::vector<int64_t> read_shape(const DocValue &v) {
  constexpr std::string_view what = "the shape as a list of 1 to 4 whole numbers above 0, row length first (ggml order), e.g. [4096, 11008]";
  if (v.kind != Kind::sequence || v.items.empty() || static_cast<int64_t>(v.items.size()) > kMaxDims)
    fail_at(v, "expected ", what, ", found ",
            v.kind != Kind::sequence ? describe(v) : v.items.empty() ? "an empty list" : cat("a list of ", v.items.size(), " numbers"));
  std::vector<int64_t> shape;
  int64_t n_elements = 1;
  for (const DocValue &item : v.items) {
    const int64_t extent = positive_whole_number(item, "an extent of the shape");
    if (n_elements > kMaxElements / extent) fail_at(v, "the shape has more than 2^62 elements");
    n_elements *= extent;
    shape.push_back(extent);
  }
  return shape;
}

std::string type_names(const std::vector<const QuantType *> &types) {
  std::string text;
  for (const QuantType *t : types) text += cat(text.empty() ? "" : ", ", t->name);
  return text;
}

// The rule llama.cpp applies (quantizable_tensors.h): norms and 1-D tensors stay in a float type,
// and a quantized row is whole blocks.
void check_type_allowed(const StrategyTensor &tensor, const QuantType &type, const DocValue &type_value) {
  const auto allowed = allowed_quant_types(tensor.name, tensor.shape);
  if (std::find(allowed.begin(), allowed.end(), &type) != allowed.end()) return;
  if (!tensor_allows_quantization(tensor.name, tensor.shape)) {
    fail_at(type_value, type.name, " is not allowed: llama.cpp does not quantize '", tensor.name,
            "' (norms, biases, 1-D tensors and MoE router weights stay in a float type); allowed: ", type_names(allowed));
  }
  fail_at(type_value, type.name, " is not allowed: its blocks hold ", type.block_size, " values and this tensor's rows are ",
          tensor.shape[0], " long; allowed: ", type_names(allowed));
}

StrategyTensor read_tensor(const std::string &name, const DocValue &v) {
  expect_map(v, "the tensor's {type, shape, reason, predicted}");
  check_keys(v, {"type", "reason", "shape", "bits", "bytes", "predicted"});
  if (name.empty()) fail_at(v, "a tensor needs a name");
  StrategyTensor tensor;
  tensor.name = name;
  tensor.shape = read_shape(required_field(v, "shape", "the tensor's shape, e.g. [4096, 11008]"));

  const DocValue &type_value = required_field(v, "type", "the tensor's quant type, e.g. Q4_K");
  const std::string type_name = string_value(type_value, "a quant type name");
  const QuantType *type = find_quant_type(type_name);
  if (!type) {
    try {
      quant_type_by_name(type_name);  // throws the message that lists every known name
    } catch (const Error &e) {
      fail_at(type_value, e.what(), "; `quantscope types` describes each");
    }
  }
  check_type_allowed(tensor, *type, type_value);
  tensor.type = type->name;  // "q4_k" in a hand edit becomes "Q4_K"

  tensor.reason = ChoiceReason::manual;  // a hand-written entry with no reason was chosen by hand
  if (const DocValue *reason_value = optional_field(v, "reason")) {
    const std::string reason_name = string_value(*reason_value, "a reason");
    const auto reason = parse_choice_reason(reason_name);
    if (!reason) {
      std::string known;
      for (ChoiceReason r : all_choice_reasons()) known += cat(known.empty() ? "" : ", ", choice_reason_name(r));
      fail_at(*reason_value, "unknown reason '", reason_name, "' (known: ", known, ")");
    }
    tensor.reason = *reason;
  }
  if (const DocValue *predicted = optional_field(v, "predicted"))
    tensor.predicted = finite_number(*predicted, "the predicted error");
  // bits and bytes are derived from type and shape: a hand edit of the type leaves them stale.
  return tensor;
}

void read_objective(const DocValue &v, StrategyObjective &objective) {
  expect_map(v, "{method, metric, target_bpw, ...}");
  check_keys(v, {"method", "metric", "target_bpw", "size_bytes", "gpu_bytes", "cpu_bytes", "cpu_tensors"});
  if (const DocValue *f = optional_field(v, "method")) objective.method = string_value(*f, "the method");
  if (const DocValue *f = optional_field(v, "metric")) objective.metric = string_value(*f, "the metric");
  if (const DocValue *f = optional_field(v, "target_bpw")) {
    objective.target_bpw = finite_number(*f, "bits per weight");
    if (*objective.target_bpw <= 0) fail_at(*f, "expected bits per weight above 0, found ", f->text);
  }
  if (const DocValue *f = optional_field(v, "size_bytes")) objective.size_bytes = byte_count(*f, "a file size");
  if (const DocValue *f = optional_field(v, "gpu_bytes")) objective.gpu_bytes = byte_count(*f, "a GPU budget");
  if (const DocValue *f = optional_field(v, "cpu_bytes")) objective.cpu_bytes = byte_count(*f, "a CPU budget");
  if (const DocValue *f = optional_field(v, "cpu_tensors")) objective.cpu_tensors = string_value(*f, "a tensor name pattern");
}

Strategy strategy_from_document(const DocValue &top) {
  if (top.kind != Kind::map) {
    fail_at(top, "expected a strategy (a map of quantscope_strategy, model, tensors, ...) at the top level, found ",
            describe(top));
  }
  check_version(top);
  check_keys(top, {"quantscope_strategy", "model", "source", "objective", "fixed_bytes", "totals", "tensors"});
  Strategy strategy;

  const DocValue &model = expect_map(required_field(top, "model", "{source, architecture}"), "{source, architecture}");
  check_keys(model, {"source", "architecture"});
  strategy.model_source = nonempty_string(required_field(model, "source", "the model the strategy is for"), "the model source");
  strategy.architecture = nonempty_string(required_field(model, "architecture", "the model's architecture, e.g. llama"),
                                          "the architecture");

  if (const DocValue *source = optional_field(top, "source")) {
    expect_map(*source, "{job, path} or {path}");
    check_keys(*source, {"job", "path"});
    if (const DocValue *job = optional_field(*source, "job")) strategy.source_job = positive_whole_number(*job, "a job id");
    strategy.source_path = nonempty_string(required_field(*source, "path", "the job database or measurements CSV"),
                                           "the measurements' path");
  }
  if (const DocValue *objective = optional_field(top, "objective")) read_objective(*objective, strategy.objective);
  if (const DocValue *fixed = optional_field(top, "fixed_bytes")) strategy.fixed_bytes = byte_count(*fixed, "the fixed bytes");
  if (const DocValue *totals = optional_field(top, "totals")) {
    // Written for people and recomputed here: only the keys are checked, so a typo still shows.
    expect_map(*totals, "the totals (a map)");
    check_keys(*totals, {"tensor_bytes", "params", "bpw", "file_bytes", "predicted", "count_per_type"});
  }

  const DocValue &tensors = expect_map(required_field(top, "tensors", "a map of tensor name to {type, shape, ...}"),
                                       "a map of tensor name to {type, shape, ...}");
  if (tensors.entries.empty()) fail_at(tensors, "expected at least one tensor, found none");
  for (const auto &[name, value] : tensors.entries) strategy.tensors.push_back(read_tensor(name, value));
  try {
    recompute_totals(strategy);
  } catch (const Error &e) {
    fail_at(tensors, e.what());
  }
  return strategy;
}

// ---------------------------------------------------------------------------------------------
// Strategy → text

// JSON has no infinities or NaN (nlohmann would write null), and YAML's .inf would not survive a
// trip through JSON: refuse them rather than write a file that reads back different.
void check_numbers_finite(const Strategy &strategy) {
  if (strategy.objective.target_bpw && !std::isfinite(*strategy.objective.target_bpw))
    fail("objective.target_bpw is ", *strategy.objective.target_bpw, "; a strategy holds finite numbers only");
  for (const auto &t : strategy.tensors) {
    if (t.predicted && !std::isfinite(*t.predicted))
      fail("tensor '", t.name, "': predicted is ", *t.predicted, "; a strategy holds finite numbers only");
  }
}

// What is written: type names as the type table spells them, derived fields recomputed. Refuses
// a strategy that could not be read back as it is.
Strategy prepared_for_writing(const Strategy &strategy) {
  check_numbers_finite(strategy);
  std::set<std::string_view> names;
  for (const auto &t : strategy.tensors)
    if (!names.insert(t.name).second) fail("tensor '", t.name, "' is listed twice");
  Strategy copy = strategy;
  for (auto &t : copy.tensors)
    if (const QuantType *type = find_quant_type(t.type)) t.type = type->name;
  recompute_totals(copy);  // throws naming the tensor for an unknown type
  return copy;
}

bool objective_is_empty(const StrategyObjective &o) { return o == StrategyObjective{}; }

// A string that a YAML reader would take for a number, a boolean or null is quoted, so the file
// means the same to other YAML tools (yaml-cpp's emitter already quotes what would not parse).
void emit_string(YAML::Emitter &out, const std::string &text) {
  static const std::set<std::string> kKeywords{"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
                                               ".inf", "-.inf", "+.inf", ".nan"};
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  double ignored = 0;
  const bool number_like = !text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '+' ||
                                             std::from_chars(text.data(), text.data() + text.size(), ignored).ptr ==
                                                 text.data() + text.size());
  if (number_like || kKeywords.count(lower)) out << YAML::DoubleQuoted;
  out << text;
}

void emit_string_entry(YAML::Emitter &out, const char *key, const std::string &text) {
  out << YAML::Key << key << YAML::Value;
  emit_string(out, text);
}

template <class Value>
void emit_number(YAML::Emitter &out, const char *key, Value value) {
  if constexpr (std::is_floating_point_v<Value>)
    out << YAML::Key << key << YAML::Value << shortest_text(value);
  else
    out << YAML::Key << key << YAML::Value << std::to_string(value);
}

std::string yaml_text(const Strategy &strategy) {
  YAML::Emitter out;
  out << YAML::Comment("quantscope strategy. bits, bytes and totals are recomputed on load: edit types freely.");
  out << YAML::BeginMap;
  out << YAML::Key << "quantscope_strategy" << YAML::Value << Strategy::kVersion;
  out << YAML::Key << "model" << YAML::Value << YAML::Flow << YAML::BeginMap;
  emit_string_entry(out, "source", strategy.model_source);
  emit_string_entry(out, "architecture", strategy.architecture);
  out << YAML::EndMap;

  if (strategy.source_job || !strategy.source_path.empty()) {
    out << YAML::Key << "source" << YAML::Value << YAML::Flow << YAML::BeginMap;
    if (strategy.source_job) emit_number(out, "job", *strategy.source_job);
    emit_string_entry(out, "path", strategy.source_path);
    out << YAML::EndMap;
  }
  const StrategyObjective &o = strategy.objective;
  if (!objective_is_empty(o)) {
    out << YAML::Key << "objective" << YAML::Value << YAML::Flow << YAML::BeginMap;
    if (!o.method.empty()) emit_string_entry(out, "method", o.method);
    if (!o.metric.empty()) emit_string_entry(out, "metric", o.metric);
    if (o.target_bpw) emit_number(out, "target_bpw", *o.target_bpw);
    if (o.size_bytes) emit_number(out, "size_bytes", *o.size_bytes);
    if (o.gpu_bytes) emit_number(out, "gpu_bytes", *o.gpu_bytes);
    if (o.cpu_bytes) emit_number(out, "cpu_bytes", *o.cpu_bytes);
    if (!o.cpu_tensors.empty()) emit_string_entry(out, "cpu_tensors", o.cpu_tensors);
    out << YAML::EndMap;
  }
  if (strategy.fixed_bytes) emit_number(out, "fixed_bytes", *strategy.fixed_bytes);

  const StrategyTotals &totals = strategy.totals;
  out << YAML::Key << "totals" << YAML::Value << YAML::BeginMap;
  emit_number(out, "tensor_bytes", totals.tensor_bytes);
  emit_number(out, "params", totals.params);
  emit_number(out, "bpw", totals.bpw);
  if (totals.file_bytes) emit_number(out, "file_bytes", *totals.file_bytes);
  if (totals.predicted) emit_number(out, "predicted", *totals.predicted);
  out << YAML::Key << "count_per_type" << YAML::Value << YAML::Flow << YAML::BeginMap;
  for (const auto &[type, count] : totals.count_per_type) emit_number(out, type.c_str(), count);
  out << YAML::EndMap << YAML::EndMap;

  out << YAML::Key << "tensors" << YAML::Value << YAML::BeginMap;
  for (const auto &t : strategy.tensors) {
    out << YAML::Key;
    emit_string(out, t.name);
    out << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "type" << YAML::Value << t.type;
    out << YAML::Key << "reason" << YAML::Value << choice_reason_name(t.reason);
    out << YAML::Key << "shape" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (int64_t extent : t.shape) out << std::to_string(extent);
    out << YAML::EndSeq;
    emit_number(out, "bits", t.bits);
    emit_number(out, "bytes", t.bytes);
    if (t.predicted) emit_number(out, "predicted", *t.predicted);
    out << YAML::EndMap;
  }
  out << YAML::EndMap << YAML::EndMap;
  if (!out.good()) fail("cannot write the strategy as YAML: ", out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

nlohmann::ordered_json json_value(const Strategy &strategy) {
  using J = nlohmann::ordered_json;
  J json = J::object();
  json["quantscope_strategy"] = Strategy::kVersion;
  json["model"] = J{{"source", strategy.model_source}, {"architecture", strategy.architecture}};
  if (strategy.source_job || !strategy.source_path.empty()) {
    J source = J::object();
    if (strategy.source_job) source["job"] = *strategy.source_job;
    source["path"] = strategy.source_path;
    json["source"] = std::move(source);
  }
  const StrategyObjective &o = strategy.objective;
  if (!objective_is_empty(o)) {
    J objective = J::object();
    if (!o.method.empty()) objective["method"] = o.method;
    if (!o.metric.empty()) objective["metric"] = o.metric;
    if (o.target_bpw) objective["target_bpw"] = *o.target_bpw;
    if (o.size_bytes) objective["size_bytes"] = *o.size_bytes;
    if (o.gpu_bytes) objective["gpu_bytes"] = *o.gpu_bytes;
    if (o.cpu_bytes) objective["cpu_bytes"] = *o.cpu_bytes;
    if (!o.cpu_tensors.empty()) objective["cpu_tensors"] = o.cpu_tensors;
    json["objective"] = std::move(objective);
  }
  if (strategy.fixed_bytes) json["fixed_bytes"] = *strategy.fixed_bytes;

  const StrategyTotals &t = strategy.totals;
  J totals = J::object();
  totals["tensor_bytes"] = t.tensor_bytes;
  totals["params"] = t.params;
  totals["bpw"] = t.bpw;
  if (t.file_bytes) totals["file_bytes"] = *t.file_bytes;
  if (t.predicted) totals["predicted"] = *t.predicted;
  totals["count_per_type"] = J::object();
  for (const auto &[type, count] : t.count_per_type) totals["count_per_type"][type] = count;
  json["totals"] = std::move(totals);

  J tensors = J::object();
  for (const auto &tensor : strategy.tensors) {
    J entry = J::object();
    entry["type"] = tensor.type;
    entry["reason"] = choice_reason_name(tensor.reason);
    entry["shape"] = tensor.shape;
    entry["bits"] = tensor.bits;
    entry["bytes"] = tensor.bytes;
    if (tensor.predicted) entry["predicted"] = *tensor.predicted;
    tensors[tensor.name] = std::move(entry);
  }
  json["tensors"] = std::move(tensors);
  return json;
}

std::string dump(const nlohmann::ordered_json &json) {
  try {
    return json.dump();
  } catch (const nlohmann::ordered_json::exception &e) {  // a string that is not UTF-8
    fail("cannot write the strategy as JSON: ", e.what());
  }
}

// Top-level keys one a line, and the entries of tensors and totals one a line: readable and diffable.
std::string json_text(const nlohmann::ordered_json &json) {
  std::string text = "{\n";
  size_t i = 0;
  for (const auto &[key, value] : json.items()) {
    text += cat("  ", dump(key), ": ");
    const bool expand = value.is_object() && std::any_of(value.begin(), value.end(), [](const auto &v) { return v.is_object(); });
    if (expand) {
      text += "{\n";
      size_t j = 0;
      for (const auto &[inner_key, inner_value] : value.items())
        text += cat("    ", dump(inner_key), ": ", dump(inner_value), ++j < value.size() ? ",\n" : "\n");
      text += "  }";
    } else {
      text += dump(value);
    }
    text += ++i < json.size() ? ",\n" : "\n";
  }
  return text + "}\n";
}

// ---------------------------------------------------------------------------------------------
// Files

Strategy parse_text(std::string_view text, StrategyFormat format, std::string_view source) {
  return format == StrategyFormat::yaml ? strategy_from_yaml(text, source) : strategy_from_json_text(text, source);
}

}  // namespace

StrategyFormat strategy_format_for(const std::filesystem::path &path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return std::tolower(c); });
  if (extension == ".yaml" || extension == ".yml") return StrategyFormat::yaml;
  if (extension == ".json") return StrategyFormat::json;
  if (extension.empty()) fail(path.string(), ": a strategy file ends in .yaml, .yml or .json; this name has no extension");
  fail(path.string(), ": a strategy file ends in .yaml, .yml or .json, not '", extension, "'");
}

std::string strategy_to_yaml(const Strategy &strategy) { return yaml_text(prepared_for_writing(strategy)); }

nlohmann::ordered_json strategy_to_json(const Strategy &strategy) { return json_value(prepared_for_writing(strategy)); }

std::string strategy_to_json_text(const Strategy &strategy) { return json_text(strategy_to_json(strategy)); }

Strategy strategy_from_yaml(std::string_view text, std::string_view source) {
  return strategy_from_document(parse_yaml(text, source));
}

Strategy strategy_from_json_text(std::string_view text, std::string_view source) {
  return strategy_from_json(parse_json(text, source), source);
}

Strategy strategy_from_json(const nlohmann::ordered_json &json, std::string_view source) {
  return strategy_from_document(from_json(json, source, "", 0));
}

void write_strategy(const Strategy &strategy, const std::filesystem::path &path) {
  const StrategyFormat format = strategy_format_for(path);
  std::string text;
  try {
    text = format == StrategyFormat::yaml ? strategy_to_yaml(strategy) : strategy_to_json_text(strategy);
  } catch (const Error &e) {
    fail(path.string(), ": not written: ", e.what());
  }
  try {
    (void)parse_text(text, format, path.string());
  } catch (const Error &e) {
    fail("not written, it would not read back: ", e.what());
  }
  write_file_atomically(path, text);
}

Strategy read_strategy(const std::filesystem::path &path) {
  const StrategyFormat format = strategy_format_for(path);
  return parse_text(read_text_file(path, kMaxFileBytes, "a strategy"), format, path.string());
}

}  // namespace qs
