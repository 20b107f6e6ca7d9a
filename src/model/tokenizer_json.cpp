// Loading a Tokenizer from Hugging Face files: tokenizer.json (model, added tokens, normalizer,
// pre-tokenizer, post-processor, decoder) plus tokenizer_config.json and config.json for the
// special tokens. Everything not supported is refused with the file and the field named.
// truncation and padding are batching settings and are ignored: encode() returns whole texts.
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "model/tokenizer.h"

namespace qs {
namespace {

using nlohmann::json;

json parse_tokenizer_json(std::string_view text, std::string_view source) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception &e) {
    fail(source, ": not valid JSON (", e.what(), ")");
  }
}

std::string read_file(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string(), ": cannot open the file");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Typed field access that names the file and the field on failure.
struct TokenizerFields {
  std::string_view source;

  const json &object(const json &parent, std::string_view key, std::string_view where) const {
    const auto it = parent.find(key);
    if (it == parent.end() || !it->is_object()) fail(source, ": ", where, ".", key, " is missing or not an object");
    return *it;
  }
  std::string string(const json &parent, std::string_view key, std::string_view where) const {
    const auto it = parent.find(key);
    if (it == parent.end() || !it->is_string()) fail(source, ": ", where, ".", key, " is missing or not a string");
    return it->get<std::string>();
  }
  bool boolean(const json &parent, std::string_view key, bool fallback, std::string_view where) const {
    const auto it = parent.find(key);
    if (it == parent.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(source, ": ", where, ".", key, " is not true or false");
    return it->get<bool>();
  }
  int32_t id(const json &value, std::string_view where) const {
    if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > INT32_MAX)
      fail(source, ": ", where, " is not a token id");
    return value.get<int32_t>();
  }
};

std::string type_of(const json &node) {
  const auto it = node.find("type");
  return it != node.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void load_model(const json &root, const TokenizerFields &f, TokenizerSpec &spec) {
  const json &model = f.object(root, "model", "tokenizer");
  std::string type = type_of(model);
  if (type.empty() && model.contains("merges")) type = "BPE";  // old files leave the type out
  if (type != "BPE")
    fail(f.source, ": model.type is \"", type, "\"; only byte-level BPE tokenizers are supported, not ",
         type.empty() ? "an untyped model" : type);
  if (const auto d = model.find("dropout"); d != model.end() && !d->is_null() && !(d->is_number() && d->get<double>() == 0.0))
    fail(f.source, ": model.dropout is set; BPE dropout samples merges at random and is not supported");
  for (const char *key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const auto it = model.find(key);
    if (it != model.end() && !it->is_null() && !(it->is_string() && it->get<std::string>().empty()))
      fail(f.source, ": model.", key, " is set; only byte-level BPE without word affixes is supported");
  }
  if (f.boolean(model, "byte_fallback", false, "model"))
    fail(f.source, ": model.byte_fallback is true (a SentencePiece-style BPE); only byte-level BPE is supported");
  spec.bpe.ignore_merges = f.boolean(model, "ignore_merges", false, "model");
  spec.bpe.fuse_unk = f.boolean(model, "fuse_unk", false, "model");
  if (const auto it = model.find("unk_token"); it != model.end() && !it->is_null()) {
    if (!it->is_string()) fail(f.source, ": model.unk_token is not a string");
    spec.bpe.unk_token = it->get<std::string>();
  }

  const json &vocab = f.object(model, "vocab", "model");
  spec.vocab.reserve(vocab.size());
  for (const auto &[text, id] : vocab.items()) spec.vocab.emplace_back(text, f.id(id, "model.vocab[\"" + text + "\"]"));

  const auto merges = model.find("merges");
  if (merges == model.end() || !merges->is_array()) fail(f.source, ": model.merges is missing or not a list");
  size_t index = 0;
  for (const json &merge : *merges) {
    const std::string where = cat("model.merges[", index++, "]");
    if (merge.is_string()) {  // the old form "a b"; HF skips "#version" lines
      const std::string line = merge.get<std::string>();
      if (line.starts_with("#version")) continue;
      const size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
        fail(f.source, ": ", where, " = \"", line, "\" is not two tokens separated by one space");
      spec.merges.emplace_back(line.substr(0, space), line.substr(space + 1));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
      spec.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      fail(f.source, ": ", where, " is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
}

void load_added_tokens(const json &root, const TokenizerFields &f, TokenizerSpec &spec) {
  const auto list = root.find("added_tokens");
  if (list == root.end() || list->is_null()) return;
  if (!list->is_array()) fail(f.source, ": added_tokens is not a list");
  size_t index = 0;
  for (const json &entry : *list) {
    const std::string where = cat("added_tokens[", index++, "]");
    if (!entry.is_object()) fail(f.source, ": ", where, " is not an object");
    AddedToken t;
    t.content = f.string(entry, "content", where);
    t.id = f.id(entry.value("id", json()), where + ".id");
    t.special = f.boolean(entry, "special", false, where);
    t.single_word = f.boolean(entry, "single_word", false, where);
    t.lstrip = f.boolean(entry, "lstrip", false, where);
    t.rstrip = f.boolean(entry, "rstrip", false, where);
    t.normalized = f.boolean(entry, "normalized", !t.special, where);
    spec.added_tokens.push_back(std::move(t));
  }
}

void check_normalizer(const json &root, const TokenizerFields &f) {
  const auto it = root.find("normalizer");
  if (it == root.end() || it->is_null()) return;
  if (type_of(*it) == "Sequence" && it->value("normalizers", json::array()).empty()) return;
  fail(f.source, ": normalizer \"", type_of(*it), "\" is not supported (only tokenizers without a normalizer)");
}

SplitBehavior parse_behavior(const std::string &name, const TokenizerFields &f, std::string_view where) {
  if (name == "Isolated") return SplitBehavior::Isolated;
  if (name == "Removed") return SplitBehavior::Removed;
  if (name == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (name == "Contiguous") return SplitBehavior::Contiguous;
  fail(f.source, ": ", where, ".behavior \"", name, "\" is not a split behaviour");
}

void load_pre_tokenizer(const json &root, const TokenizerFields &f, TokenizerSpec &spec) {
  const auto it = root.find("pre_tokenizer");
  if (it == root.end() || it->is_null())
    fail(f.source, ": pre_tokenizer is null; a byte-level BPE needs a ByteLevel pre-tokenizer");
  std::vector<const json *> steps;
  if (type_of(*it) == "Sequence") {
    const auto list = it->find("pretokenizers");
    if (list == it->end() || !list->is_array()) fail(f.source, ": pre_tokenizer.pretokenizers is missing or not a list");
    for (const json &step : *list) steps.push_back(&step);
  } else {
    steps.push_back(&*it);
  }
  bool have_byte_level = false;
  for (size_t i = 0; i < steps.size(); ++i) {
    const json &step = *steps[i];
    const std::string where = cat("pre_tokenizer step ", i);
    const std::string type = type_of(step);
    if (have_byte_level)
      fail(f.source, ": ", where, " (", type, ") comes after ByteLevel; only Split steps before one ByteLevel step are supported");
    if (type == "Split") {
      SplitRule rule;
      const json &pattern = f.object(step, "pattern", where);
      if (pattern.contains("Regex")) rule.pattern = f.string(pattern, "Regex", where + ".pattern");
      else if (pattern.contains("String")) rule.pattern = f.string(pattern, "String", where + ".pattern"), rule.is_regex = false;
      else fail(f.source, ": ", where, ".pattern is neither {\"Regex\": ...} nor {\"String\": ...}");
      rule.behavior = parse_behavior(f.string(step, "behavior", where), f, where);
      rule.invert = f.boolean(step, "invert", false, where);
      spec.splits.push_back(std::move(rule));
    } else if (type == "ByteLevel") {
      spec.byte_level.add_prefix_space = f.boolean(step, "add_prefix_space", true, where);
      spec.byte_level.use_regex = f.boolean(step, "use_regex", true, where);
      have_byte_level = true;
    } else {
      fail(f.source, ": ", where, " is a \"", type, "\" pre-tokenizer; only Split and ByteLevel are supported");
    }
  }
  if (!have_byte_level) fail(f.source, ": pre_tokenizer has no ByteLevel step; only byte-level BPE is supported");
}

int32_t token_id_of(const TokenizerSpec &spec, std::string_view text) {
  for (const AddedToken &t : spec.added_tokens)
    if (t.content == text) return t.id;
  for (const auto &[token, id] : spec.vocab)
    if (token == text) return id;
  return -1;
}

// Appends the template pieces of one TemplateProcessing / Roberta / Bert post-processor.
void load_template(const json &processor, const TokenizerFields &f, const TokenizerSpec &spec, std::vector<TemplatePiece> &out) {
  const std::string type = type_of(processor);
  if (type == "RobertaProcessing" || type == "BertProcessing") {  // cls $A sep
    for (const char *key : {"cls", "sep"}) {
      const auto it = processor.find(key);
      if (it == processor.end() || !it->is_array() || it->size() != 2)
        fail(f.source, ": post_processor.", key, " is not [token, id]");
      if (std::string_view(key) == "sep") out.push_back({true, {}});
      out.push_back({false, {f.id((*it)[1], cat("post_processor.", key, "[1]"))}});
    }
    return;
  }
  const json &specials = processor.contains("special_tokens") ? processor["special_tokens"] : json::object();
  const auto single = processor.find("single");
  if (single == processor.end() || !single->is_array()) fail(f.source, ": post_processor.single is missing or not a list");
  for (const json &piece : *single) {
    std::string name;
    bool is_sequence = false;
    if (piece.is_object() && piece.contains("Sequence")) {
      is_sequence = true;
      name = piece["Sequence"].value("id", "A");
    } else if (piece.is_object() && piece.contains("SpecialToken")) {
      name = f.string(piece["SpecialToken"], "id", "post_processor.single SpecialToken");
    } else if (piece.is_string()) {  // the short form: "$A", "$A:0", "<s>", "<s>:1"
      name = piece.get<std::string>();
      if (const size_t colon = name.rfind(':'); colon != std::string::npos && colon > 0) name.resize(colon);
      is_sequence = name.starts_with('$');
      if (is_sequence) name = name.size() > 1 ? name.substr(1) : "A";
    } else {
      fail(f.source, ": post_processor.single has an element that is neither a Sequence nor a SpecialToken");
    }
    if (is_sequence) {
      if (name != "A" && name != "0") fail(f.source, ": post_processor.single uses sequence \"", name, "\"");
      out.push_back({true, {}});
      continue;
    }
    TemplatePiece special{false, {}};
    const auto entry = specials.find(name);
    if (entry != specials.end() && entry->contains("ids")) {
      for (const json &id : (*entry)["ids"]) special.ids.push_back(f.id(id, "post_processor.special_tokens[\"" + name + "\"].ids"));
    } else {
      const int32_t id = token_id_of(spec, name);
      if (id < 0) fail(f.source, ": post_processor.single names \"", name, "\", which is no token");
      special.ids.push_back(id);
    }
    out.push_back(std::move(special));
  }
}

void load_post_processor(const json &root, const TokenizerFields &f, TokenizerSpec &spec) {
  const auto it = root.find("post_processor");
  if (it == root.end() || it->is_null()) return;
  std::vector<const json *> processors;
  if (type_of(*it) == "Sequence") {
    const auto list = it->find("processors");
    if (list == it->end() || !list->is_array()) fail(f.source, ": post_processor.processors is missing or not a list");
    for (const json &p : *list) processors.push_back(&p);
  } else {
    processors.push_back(&*it);
  }
  bool have_template = false;
  for (const json *p : processors) {
    const std::string type = type_of(*p);
    if (type == "ByteLevel") continue;  // only trims offsets; ids are unchanged
    if (type != "TemplateProcessing" && type != "RobertaProcessing" && type != "BertProcessing")
      fail(f.source, ": post_processor \"", type, "\" is not supported");
    if (have_template) fail(f.source, ": post_processor has more than one template step");
    load_template(*p, f, spec, spec.template_single);
    have_template = true;
  }
}

void check_decoder(const json &root, const TokenizerFields &f) {
  const auto it = root.find("decoder");
  if (it != root.end() && type_of(*it) == "ByteLevel") return;
  fail(f.source, ": decoder is \"", it == root.end() || it->is_null() ? std::string("null") : type_of(*it),
       "\"; only the ByteLevel decoder is supported");
}

// tokenizer_config.json's bos_token & co: a string, or an AddedToken object with "content".
std::optional<std::string> special_token_text(const json &config, const char *key) {
  const auto it = config.find(key);
  if (it == config.end()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  return std::nullopt;
}

void load_special_tokens(const json &tokenizer_config, const json &model_config, std::string_view config_source,
                         TokenizerSpec &spec) {
  struct Special {
    const char *name;
    int32_t *id;
    bool required;  // naming a token that does not exist is an error (not for pad / unk)
  };
  const Special specials[] = {{"bos", &spec.bos_id, true}, {"eos", &spec.eos_id, true},
                              {"pad", &spec.pad_id, false}, {"unk", &spec.unk_id, false}};
  for (const Special &s : specials) {
    if (const auto text = special_token_text(tokenizer_config, cat(s.name, "_token").c_str())) {
      *s.id = token_id_of(spec, *text);
      if (*s.id < 0 && s.required) fail(config_source, ": ", s.name, "_token \"", *text, "\" is not a token");
    }
    // config.json's <name>_token_id only where tokenizer_config.json says nothing (as llama.cpp's converter).
    if (*s.id < 0) {
      const auto it = model_config.find(cat(s.name, "_token_id"));
      if (it != model_config.end() && it->is_number_integer() && it->get<int64_t>() >= 0) *s.id = it->get<int32_t>();
    }
  }
  if (const auto it = tokenizer_config.find("add_bos_token"); it != tokenizer_config.end() && it->is_boolean())
    spec.add_bos = it->get<bool>();
  if (const auto it = tokenizer_config.find("add_eos_token"); it != tokenizer_config.end() && it->is_boolean())
    spec.add_eos = it->get<bool>();

  // Without tokenizer_config.json, the template's leading special token is the BOS.
  auto &t = spec.template_single;
  if (spec.bos_id < 0 && t.size() > 1 && !t.front().is_sequence && t.front().ids.size() == 1) spec.bos_id = t.front().ids[0];
  // No template but the config asks for BOS / EOS: transformers adds them itself.
  if (t.empty() && ((spec.add_bos.value_or(false) && spec.bos_id >= 0) || (spec.add_eos.value_or(false) && spec.eos_id >= 0))) {
    if (spec.add_bos.value_or(false) && spec.bos_id >= 0) t.push_back({false, {spec.bos_id}});
    t.push_back({true, {}});
    if (spec.add_eos.value_or(false) && spec.eos_id >= 0) t.push_back({false, {spec.eos_id}});
  }
}

}  // namespace

Tokenizer Tokenizer::from_hf_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json,
                                  std::string_view config_json, std::string_view source) {
  const std::string tokenizer_source = cat(source, "/tokenizer.json");
  const TokenizerFields f{tokenizer_source};
  const json root = parse_tokenizer_json(tokenizer_json, tokenizer_source);
  if (!root.is_object()) fail(tokenizer_source, ": not a tokenizer (the top level is not an object)");
  TokenizerSpec spec;
  spec.source = tokenizer_source;
  load_model(root, f, spec);
  load_added_tokens(root, f, spec);
  check_normalizer(root, f);
  load_pre_tokenizer(root, f, spec);
  load_post_processor(root, f, spec);
  check_decoder(root, f);

  const std::string config_source = cat(source, "/tokenizer_config.json");
  const json tokenizer_config = tokenizer_config_json.empty() ? json::object() : parse_tokenizer_json(tokenizer_config_json, config_source);
  const json model_config = config_json.empty() ? json::object() : parse_tokenizer_json(config_json, cat(source, "/config.json"));
  if (!tokenizer_config.is_object()) fail(config_source, ": the top level is not an object");
  load_special_tokens(tokenizer_config, model_config.is_object() ? model_config : json::object(), config_source, spec);
  return Tokenizer(std::move(spec));
}

Tokenizer Tokenizer::from_hf_files(const std::filesystem::path &dir) {
  const std::filesystem::path tokenizer_path = dir / "tokenizer.json";
  if (!std::filesystem::is_regular_file(tokenizer_path))
    fail(tokenizer_path.string(), ": no such file (a Hugging Face tokenizer directory needs tokenizer.json)");
  const auto optional_file = [&](const char *name) {
    const std::filesystem::path path = dir / name;
    return std::filesystem::is_regular_file(path) ? read_file(path) : std::string();
  };
  return from_hf_json(read_file(tokenizer_path), optional_file("tokenizer_config.json"), optional_file("config.json"),
                      dir.string());
}

}  // namespace qs
