// Tokenizer <-> tokenizer.ggml.* metadata. The conventions (token types, "[PAD<id>]" fillers,
// merges with spaces written as U+0120, the special-token keys) follow llama.cpp's
// convert_hf_to_gguf.py (get_vocab_base, _set_vocab_gpt2) and gguf-py's SpecialVocab; the
// pre-tokenizer names follow src/llama-vocab.cpp.
#include "model/tokenizer_gguf.h"

#include "core/error.h"

namespace qs {
namespace {

// convert_hf_to_gguf.py's does_token_look_special: added tokens that are control tokens even when
// tokenizer.json does not mark them special.
bool looks_special(std::string_view t) {
  if (t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]") return true;
  if (t.starts_with("<|") && t.ends_with("|>")) return true;
  if (t.starts_with("<\xEF\xBD\x9C") && t.ends_with("\xEF\xBD\x9C>")) return true;  // <｜ ... ｜> (deepseek)
  return t.starts_with("<unused") && t.ends_with(">");
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
  return s;
}

bool is_only_llama3_split(const TokenizerSpec &s) {
  return s.splits.size() == 1 && s.splits[0].is_regex && s.splits[0].pattern == kLlama3Pattern &&
         s.splits[0].behavior == SplitBehavior::Isolated && !s.splits[0].invert && !s.byte_level.add_prefix_space &&
         !s.byte_level.use_regex;
}

bool is_gpt2_split(const TokenizerSpec &s) {
  if (s.byte_level.add_prefix_space) return false;
  if (s.splits.empty()) return s.byte_level.use_regex;
  return s.splits.size() == 1 && s.splits[0].is_regex && s.splits[0].pattern == kGpt2Pattern &&
         s.splits[0].behavior == SplitBehavior::Isolated && !s.splits[0].invert && !s.byte_level.use_regex;
}

}  // namespace

std::string llama_cpp_pre_tokenizer_name(const Tokenizer &tokenizer) {
  const TokenizerSpec &s = tokenizer.spec();
  // llama.cpp sets ignore_merges for llama-bpe and leaves it off for gpt-2.
  if (is_only_llama3_split(s) && s.bpe.ignore_merges) return "llama-bpe";
  if (is_gpt2_split(s) && !s.bpe.ignore_merges) return "gpt-2";
  fail(s.source, ": llama.cpp has no pre-tokenizer that splits text as this tokenizer does (it knows Llama 3's "
       "regex with ignore_merges as \"llama-bpe\" and GPT-2's without as \"gpt-2\")");
}

std::vector<gguf::KeyValue> tokenizer_gguf_metadata(const Tokenizer &tokenizer, int32_t n_vocab) {
  const TokenizerSpec &s = tokenizer.spec();
  if (n_vocab < 0) n_vocab = tokenizer.vocab_size();
  if (n_vocab < tokenizer.vocab_size())
    fail(s.source, ": the model's vocab_size ", n_vocab, " is below the tokenizer's ", tokenizer.vocab_size());

  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  tokens.reserve(size_t(n_vocab));
  types.reserve(size_t(n_vocab));
  for (int32_t id = 0; id < n_vocab; ++id) {
    if (const AddedToken *added = tokenizer.added_token(id)) {
      if (added->special || looks_special(added->content)) {
        tokens.push_back(added->content);
        types.push_back(int32_t(GgufTokenType::Control));
      } else {
        tokens.push_back(replace_all(added->content, "\xE2\x96\x81", " "));  // U+2581 -> ' ', as the converter does
        types.push_back(int32_t(GgufTokenType::UserDefined));
      }
    } else if (tokenizer.has_token(id)) {
      tokens.push_back(tokenizer.token_text(id));
      types.push_back(int32_t(GgufTokenType::Normal));
    } else {
      tokens.push_back(cat("[PAD", id, "]"));
      types.push_back(int32_t(GgufTokenType::Unused));
    }
  }
  std::vector<std::string> merges;
  merges.reserve(s.merges.size());
  for (const auto &[a, b] : s.merges)  // a space inside a part would break "a b": written as U+0120
    merges.push_back(replace_all(a, " ", "\xC4\xA0") + " " + replace_all(b, " ", "\xC4\xA0"));

  std::vector<gguf::KeyValue> kv;
  kv.push_back({"tokenizer.ggml.model", gguf::Value("gpt2")});
  kv.push_back({"tokenizer.ggml.pre", gguf::Value(llama_cpp_pre_tokenizer_name(tokenizer))});
  kv.push_back({"tokenizer.ggml.tokens", gguf::string_array(tokens)});
  kv.push_back({"tokenizer.ggml.token_type", gguf::number_array(types)});
  kv.push_back({"tokenizer.ggml.merges", gguf::string_array(merges)});
  const auto add_id = [&](const char *key, int32_t id) {
    if (id >= 0) kv.push_back({key, gguf::Value(uint32_t(id))});
  };
  add_id("tokenizer.ggml.bos_token_id", s.bos_id);
  add_id("tokenizer.ggml.eos_token_id", s.eos_id);
  add_id("tokenizer.ggml.unknown_token_id", s.unk_id);
  add_id("tokenizer.ggml.padding_token_id", s.pad_id);
  // tokenizer_config.json's flags win over the template, as in gguf-py's SpecialVocab.
  kv.push_back({"tokenizer.ggml.add_bos_token", gguf::Value(s.add_bos.value_or(tokenizer.add_bos()))});
  kv.push_back({"tokenizer.ggml.add_eos_token", gguf::Value(s.add_eos.value_or(tokenizer.add_eos()))});
  return kv;
}

namespace {

std::vector<std::string> string_list(const gguf::GgufFile &file, const char *key) {
  const gguf::Array &array = file.get(key).as_array();
  if (array.element_type != gguf::ValueType::STRING) fail(file.path().string(), ": ", key, " is not a list of strings");
  std::vector<std::string> out;
  out.reserve(array.items.size());
  for (const gguf::Value &v : array.items) out.push_back(v.as_string());
  return out;
}

int32_t optional_id(const gguf::GgufFile &file, const char *key, size_t n_tokens) {
  const gguf::Value *v = file.find(key);
  if (!v) return -1;
  const int64_t id = v->as_int();
  // llama.cpp ignores ids outside the vocabulary; so do we.
  return id >= 0 && uint64_t(id) < n_tokens ? int32_t(id) : -1;
}

}  // namespace

Tokenizer Tokenizer::from_gguf(const gguf::GgufFile &file) {
  const std::string source = file.path().string();
  const gguf::Value *model = file.find("tokenizer.ggml.model");
  if (!model) fail(source, ": no tokenizer.ggml.model; the file carries no tokenizer");
  if (model->as_string() != "gpt2")
    fail(source, ": tokenizer.ggml.model is \"", model->as_string(), "\"; only byte-level BPE (\"gpt2\") is supported");

  TokenizerSpec spec;
  spec.source = source;
  const gguf::Value *pre_value = file.find("tokenizer.ggml.pre");
  const std::string pre = pre_value ? pre_value->as_string() : std::string("(none)");
  bool default_add_bos = false;
  if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3") {
    spec.splits.push_back({std::string(kLlama3Pattern), true, SplitBehavior::Isolated, false});
    spec.byte_level = {false, false};
    spec.bpe.ignore_merges = true;
    default_add_bos = true;  // llama.cpp's default for these
  } else if (pre == "gpt-2") {
    spec.byte_level = {false, true};
  } else {
    fail(source, ": tokenizer.ggml.pre is \"", pre, "\"; only \"llama-bpe\" and \"gpt-2\" are supported");
  }

  const std::vector<std::string> tokens = string_list(file, "tokenizer.ggml.tokens");
  std::vector<int32_t> types(tokens.size(), int32_t(GgufTokenType::Normal));
  if (const gguf::Value *v = file.find("tokenizer.ggml.token_type")) {
    const gguf::Array &array = v->as_array();
    if (array.items.size() != tokens.size())
      fail(source, ": tokenizer.ggml.token_type has ", array.items.size(), " entries for ", tokens.size(), " tokens");
    for (size_t i = 0; i < tokens.size(); ++i) types[i] = int32_t(array.items[i].as_int());
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    const int32_t id = int32_t(i);
    switch (GgufTokenType(types[i])) {
      case GgufTokenType::Unused: break;  // "[PAD<id>]" fillers are no tokens
      case GgufTokenType::Control:
      case GgufTokenType::UserDefined: {
        AddedToken t;
        t.content = tokens[i];
        t.id = id;
        t.special = types[i] == int32_t(GgufTokenType::Control);
        t.normalized = false;  // llama.cpp matches all of them in one pass over the raw text
        spec.added_tokens.push_back(std::move(t));
        break;
      }
      default: spec.vocab.emplace_back(tokens[i], id);
    }
  }

  for (const std::string &merge : string_list(file, "tokenizer.ggml.merges")) {
    const size_t space = merge.find(' ', 1);  // as llama.cpp: the first part is never empty
    if (space == std::string::npos) fail(source, ": tokenizer.ggml.merges entry \"", merge, "\" has no space");
    spec.merges.emplace_back(merge.substr(0, space), merge.substr(space + 1));
  }

  spec.bos_id = optional_id(file, "tokenizer.ggml.bos_token_id", tokens.size());
  spec.eos_id = optional_id(file, "tokenizer.ggml.eos_token_id", tokens.size());
  spec.unk_id = optional_id(file, "tokenizer.ggml.unknown_token_id", tokens.size());
  spec.pad_id = optional_id(file, "tokenizer.ggml.padding_token_id", tokens.size());
  if (const gguf::Value *v = file.find("tokenizer.ggml.add_bos_token")) spec.add_bos = v->as_int() != 0;
  if (const gguf::Value *v = file.find("tokenizer.ggml.add_eos_token")) spec.add_eos = v->as_int() != 0;
  if (spec.add_bos.value_or(default_add_bos) && spec.bos_id >= 0) spec.template_single.push_back({false, {spec.bos_id}});
  spec.template_single.push_back({true, {}});
  if (spec.add_eos.value_or(false) && spec.eos_id >= 0) spec.template_single.push_back({false, {spec.eos_id}});
  if (spec.template_single.size() == 1) spec.template_single.clear();
  return Tokenizer(std::move(spec));
}

}  // namespace qs
