// config.json parsing. The defaults table mirrors transformers' configuration_<model>.py classes
// (4.x and 5.x agree on these values): it only matters for hand-written configs, because
// save_pretrained writes every field of the model's config class.
#include "formats/hf_config.h"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"

namespace qs {
namespace {

using nlohmann::json;

struct ConfigDefaults {
  const char *model_type;
  double rope_theta;
  double rms_norm_eps;
  int64_t max_position_embeddings;
  int64_t num_key_value_heads;  // 0: same as num_attention_heads
  int64_t head_dim;             // 0: hidden_size / num_attention_heads
  bool attention_bias;
  int64_t num_experts;          // 0: dense
  int64_t num_experts_per_tok;
  int64_t moe_intermediate_size;
  bool norm_topk_prob;
};

// Qwen2 has no attention_bias field: its q/k/v projections always carry a bias. Mixtral has no
// norm_topk_prob field: it always renormalises the top-k routing weights.
constexpr ConfigDefaults kDefaults[] = {
    {"llama", 10000.0, 1e-6, 2048, 0, 0, false, 0, 0, 0, false},
    {"mistral", 10000.0, 1e-6, 4096 * 32, 8, 0, false, 0, 0, 0, false},
    {"mixtral", 1e6, 1e-5, 4096 * 32, 8, 0, false, 8, 2, 0, true},
    {"qwen2", 10000.0, 1e-6, 32768, 32, 0, true, 0, 0, 0, false},
    {"qwen3", 10000.0, 1e-6, 32768, 32, 128, false, 0, 0, 0, false},
    {"qwen3_moe", 10000.0, 1e-6, 32768, 4, 0, false, 128, 8, 768, false},
};
// For a model_type not in the table (architecture_for refuses it later; this only keeps the
// parse total).
constexpr ConfigDefaults kGenericDefaults = {"", 10000.0, 1e-6, 2048, 0, 0, false, 0, 0, 0, false};

const ConfigDefaults &defaults_for(const std::string &model_type) {
  for (const auto &d : kDefaults)
    if (model_type == d.model_type) return d;
  return kGenericDefaults;
}

// Field readers: a JSON null counts as absent (transformers writes null for unset optionals).
class ConfigFields {
 public:
  ConfigFields(const json &object, std::string where) : object_(object), where_(std::move(where)) {}

  const json *get(const char *key) const {
    const auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  std::optional<int64_t> integer(const char *key) const {
    const json *v = get(key);
    if (v == nullptr) return std::nullopt;
    if (v->is_number_unsigned()) {
      if (v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(where_, ": field \"", key, "\" is too large");
      return static_cast<int64_t>(v->get<uint64_t>());
    }
    if (v->is_number_integer()) return v->get<int64_t>();
    fail(where_, ": field \"", key, "\" must be an integer, found ", describe(*v));
  }

  std::optional<double> number(const char *key) const {
    const json *v = get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) fail(where_, ": field \"", key, "\" must be a number, found ", describe(*v));
    return v->get<double>();
  }

  std::optional<bool> boolean(const char *key) const {
    const json *v = get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) fail(where_, ": field \"", key, "\" must be true or false, found ", describe(*v));
    return v->get<bool>();
  }

  std::optional<std::string> string(const char *key) const {
    const json *v = get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) fail(where_, ": field \"", key, "\" must be a string, found ", describe(*v));
    return v->get<std::string>();
  }

  int64_t required_integer(const char *key) const {
    const auto v = integer(key);
    if (!v) fail(where_, ": missing required field \"", key, "\"");
    return *v;
  }

  // An integer or a list of integers (bos/eos token ids); absent gives an empty list.
  std::vector<int64_t> integer_or_list(const char *key) const {
    const json *v = get(key);
    if (v == nullptr) return {};
    if (v->is_number_integer()) return {v->get<int64_t>()};
    if (!v->is_array()) fail(where_, ": field \"", key, "\" must be an integer or a list of integers, found ", describe(*v));
    std::vector<int64_t> out;
    for (const auto &item : *v) {
      if (!item.is_number_integer())
        fail(where_, ": field \"", key, "\" must be an integer or a list of integers, found a list holding ", describe(item));
      out.push_back(item.get<int64_t>());
    }
    return out;
  }

  const std::string &where() const { return where_; }

  static std::string describe(const json &v) { return cat(v.type_name(), " ", v.dump()); }

 private:
  const json &object_;
  std::string where_;
};

RopeScaling parse_rope_dict(const ConfigFields &rope) {
  RopeScaling scaling;
  scaling.type_name = rope.string("rope_type").value_or(rope.string("type").value_or("default"));
  const std::string &name = scaling.type_name;
  if (name == "default") {
    scaling.type = RopeScalingType::None;
    return scaling;
  }
  if (name == "linear") {
    scaling.type = RopeScalingType::Linear;
    const auto factor = rope.number("factor");
    if (!factor) fail(rope.where(), ": linear rope scaling needs \"factor\"");
    scaling.factor = *factor;
  } else if (name == "llama3") {
    scaling.type = RopeScalingType::Llama3;
    scaling.factor = rope.number("factor").value_or(8.0);
    scaling.low_freq_factor = rope.number("low_freq_factor").value_or(1.0);
    scaling.high_freq_factor = rope.number("high_freq_factor").value_or(4.0);
    scaling.original_max_position_embeddings = rope.integer("original_max_position_embeddings");
    if (!(scaling.high_freq_factor > scaling.low_freq_factor))
      fail(rope.where(), ": llama3 rope scaling needs high_freq_factor > low_freq_factor");
  } else if (name == "yarn") {
    scaling.type = RopeScalingType::Yarn;
    const auto factor = rope.number("factor");
    if (!factor) fail(rope.where(), ": yarn rope scaling needs \"factor\"");
    scaling.factor = *factor;
    scaling.original_max_position_embeddings = rope.integer("original_max_position_embeddings");
    scaling.beta_fast = rope.number("beta_fast");
    scaling.beta_slow = rope.number("beta_slow");
    scaling.attention_factor = rope.number("attention_factor");
    if (!scaling.attention_factor) scaling.attention_factor = rope.number("attn_factor");
    scaling.extrapolation_factor = rope.number("extrapolation_factor");
  } else {
    scaling.type = RopeScalingType::Unsupported;
    return scaling;
  }
  if (!(scaling.factor > 0.0) || !std::isfinite(scaling.factor))
    fail(rope.where(), ": rope scaling \"factor\" must be a positive number");
  if (scaling.original_max_position_embeddings && *scaling.original_max_position_embeddings <= 0)
    fail(rope.where(), ": \"original_max_position_embeddings\" must be positive");
  return scaling;
}

// Counts that end up as GGUF uint32 values and tensor dimensions.
void check_count(const std::string &where, const char *field, int64_t value, int64_t minimum = 1) {
  constexpr int64_t kLimit = std::numeric_limits<int32_t>::max();
  if (value < minimum || value > kLimit)
    fail(where, ": field \"", field, "\" is ", value, "; expected ", minimum, "..", kLimit);
}

}  // namespace

ModelConfig parse_model_config(std::string_view json_text, const std::string &source) {
  json root;
  try {
    root = json::parse(json_text.begin(), json_text.end());
  } catch (const json::exception &e) {
    fail(source, ": not valid JSON: ", e.what());
  }
  if (!root.is_object()) fail(source, ": must be a JSON object");
  const ConfigFields fields(root, source);

  ModelConfig config;
  config.source = source;
  config.model_type = fields.string("model_type").value_or("");
  if (const json *architectures = fields.get("architectures")) {
    if (!architectures->is_array()) fail(source, ": field \"architectures\" must be a list of strings");
    if (!architectures->empty()) {
      if (!(*architectures)[0].is_string()) fail(source, ": field \"architectures\" must be a list of strings");
      config.architecture = (*architectures)[0].get<std::string>();
    }
  }
  if (config.model_type.empty() && config.architecture.empty())
    fail(source, ": missing required field \"model_type\" (and no \"architectures\" list)");
  const ConfigDefaults &defaults = defaults_for(config.model_type);

  config.hidden_size = fields.required_integer("hidden_size");
  config.num_hidden_layers = fields.required_integer("num_hidden_layers");
  config.num_attention_heads = fields.required_integer("num_attention_heads");
  config.intermediate_size = fields.required_integer("intermediate_size");
  config.vocab_size = fields.required_integer("vocab_size");
  for (const auto &[field, value] : {std::pair{"hidden_size", config.hidden_size},
                                     {"num_hidden_layers", config.num_hidden_layers},
                                     {"num_attention_heads", config.num_attention_heads},
                                     {"intermediate_size", config.intermediate_size},
                                     {"vocab_size", config.vocab_size}})
    check_count(source, field, value);

  config.num_key_value_heads = fields.integer("num_key_value_heads")
                                   .value_or(defaults.num_key_value_heads ? defaults.num_key_value_heads
                                                                          : config.num_attention_heads);
  check_count(source, "num_key_value_heads", config.num_key_value_heads);
  if (config.num_attention_heads % config.num_key_value_heads != 0)
    fail(source, ": num_attention_heads ", config.num_attention_heads, " is not a multiple of num_key_value_heads ",
         config.num_key_value_heads);

  if (const auto head_dim = fields.integer("head_dim")) {
    config.head_dim = *head_dim;
  } else if (defaults.head_dim != 0) {
    config.head_dim = defaults.head_dim;
  } else {
    if (config.hidden_size % config.num_attention_heads != 0)
      fail(source, ": hidden_size ", config.hidden_size, " is not a multiple of num_attention_heads ",
           config.num_attention_heads, " and there is no \"head_dim\"");
    config.head_dim = config.hidden_size / config.num_attention_heads;
  }
  check_count(source, "head_dim", config.head_dim);

  config.max_position_embeddings = fields.integer("max_position_embeddings").value_or(defaults.max_position_embeddings);
  check_count(source, "max_position_embeddings", config.max_position_embeddings);
  config.rms_norm_eps = fields.number("rms_norm_eps").value_or(defaults.rms_norm_eps);
  if (!(config.rms_norm_eps > 0.0) || !std::isfinite(config.rms_norm_eps))
    fail(source, ": field \"rms_norm_eps\" must be a positive number");

  // Rope: 5.x keeps everything in rope_parameters (nested per layer type for models that mix
  // attention kinds; the full-attention entry is the one these architectures use), 4.x has
  // rope_theta at the top level and an optional rope_scaling dict.
  const json *rope_dict = nullptr;
  std::string rope_where;
  if (const json *parameters = fields.get("rope_parameters")) {
    if (!parameters->is_object()) fail(source, ": field \"rope_parameters\" must be an object");
    rope_dict = parameters;
    rope_where = source + ": rope_parameters";
    if (const auto full = parameters->find("full_attention"); full != parameters->end() && full->is_object()) {
      rope_dict = &*full;
      rope_where += ".full_attention";
    }
  } else if (const json *scaling = fields.get("rope_scaling")) {
    if (!scaling->is_object()) fail(source, ": field \"rope_scaling\" must be an object or null");
    rope_dict = scaling;
    rope_where = source + ": rope_scaling";
  }
  std::optional<double> rope_theta;
  if (rope_dict != nullptr) {
    const ConfigFields rope(*rope_dict, rope_where);
    config.rope_scaling = parse_rope_dict(rope);
    rope_theta = rope.number("rope_theta");
  }
  if (!rope_theta) rope_theta = fields.number("rope_theta");
  config.rope_theta = rope_theta.value_or(defaults.rope_theta);
  if (!(config.rope_theta > 0.0) || !std::isfinite(config.rope_theta))
    fail(source, ": field \"rope_theta\" must be a positive number");
  config.original_max_position_embeddings = fields.integer("original_max_position_embeddings");

  // Qwen configs carry a sliding_window that only applies with use_sliding_window; Mistral's
  // applies whenever it is set.
  if (fields.boolean("use_sliding_window").value_or(true)) config.sliding_window = fields.integer("sliding_window");
  if (config.sliding_window && *config.sliding_window <= 0)
    fail(source, ": field \"sliding_window\" must be positive");
  config.tie_word_embeddings = fields.boolean("tie_word_embeddings").value_or(false);
  config.attention_bias = fields.boolean("attention_bias").value_or(defaults.attention_bias);
  config.mlp_bias = fields.boolean("mlp_bias").value_or(false);

  // Experts: mixtral says num_local_experts, qwen3_moe num_experts (newer transformers map
  // either name to num_local_experts, so accept both everywhere).
  std::optional<int64_t> num_experts = fields.integer("num_local_experts");
  if (!num_experts) num_experts = fields.integer("num_experts");
  config.num_experts = num_experts.value_or(defaults.num_experts);
  if (config.num_experts != 0) {
    check_count(source, "num_experts", config.num_experts);
    config.num_experts_per_tok = fields.integer("num_experts_per_tok").value_or(defaults.num_experts_per_tok);
    check_count(source, "num_experts_per_tok", config.num_experts_per_tok);
    if (config.num_experts_per_tok > config.num_experts)
      fail(source, ": num_experts_per_tok ", config.num_experts_per_tok, " exceeds the ", config.num_experts, " experts");
    config.norm_topk_prob = fields.boolean("norm_topk_prob").value_or(defaults.norm_topk_prob);
    config.moe_intermediate_size = fields.integer("moe_intermediate_size").value_or(defaults.moe_intermediate_size);
    if (config.moe_intermediate_size != 0) check_count(source, "moe_intermediate_size", config.moe_intermediate_size);
    config.shared_expert_intermediate_size = fields.integer("shared_expert_intermediate_size").value_or(0);
    config.decoder_sparse_step = fields.integer("decoder_sparse_step").value_or(1);
    check_count(source, "decoder_sparse_step", config.decoder_sparse_step);
    if (const json *layers = fields.get("mlp_only_layers")) {
      if (!layers->is_array()) fail(source, ": field \"mlp_only_layers\" must be a list of layer indices");
      for (const auto &layer : *layers) {
        if (!layer.is_number_integer() || layer.get<int64_t>() < 0 || layer.get<int64_t>() >= config.num_hidden_layers)
          fail(source, ": field \"mlp_only_layers\" holds ", layer.dump(), ", not a layer index below ",
               config.num_hidden_layers);
        config.mlp_only_layers.push_back(layer.get<int64_t>());
      }
    }
  }

  // 5.x renamed torch_dtype to dtype.
  config.dtype = fields.string("dtype").value_or(fields.string("torch_dtype").value_or(""));
  config.bos_token_ids = fields.integer_or_list("bos_token_id");
  config.eos_token_ids = fields.integer_or_list("eos_token_id");
  return config;
}

ModelConfig read_model_config(const std::filesystem::path &path) {
  std::error_code ec;
  const std::filesystem::path file = std::filesystem::is_directory(path, ec) ? path / "config.json" : path;
  const MappedFile mapped(file);
  constexpr size_t kMaxConfigBytes = 64u << 20;  // config.json files are a few KB
  if (mapped.size() > kMaxConfigBytes) fail(file.string(), ": ", mapped.size(), " bytes is too large for a config.json");
  return parse_model_config(std::string_view(reinterpret_cast<const char *>(mapped.data()), mapped.size()), file.string());
}

}  // namespace qs
