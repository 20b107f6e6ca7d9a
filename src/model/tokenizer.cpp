// Tokenizer: the encode / decode pipeline over added tokens, pre-tokenizer, byte-level map and BPE.
#include "model/tokenizer.h"

#include <algorithm>
#include <deque>

#include "core/error.h"
#include "model/byte_level.h"

namespace qs {

struct Tokenizer::Impl {
  TokenizerSpec spec;
  BpeModel bpe;
  PreTokenizer pre_tokenizer;
  AddedTokenSplitter added;
  std::vector<const AddedToken *> added_by_id;  // index = id
  int32_t vocab_size = 0;

  explicit Impl(TokenizerSpec s)
      : spec(std::move(s)),
        bpe(spec.vocab, spec.merges, spec.bpe, spec.source),
        pre_tokenizer(spec.splits, spec.byte_level),
        added(spec.added_tokens) {
    vocab_size = bpe.id_limit();
    for (const AddedToken &t : added.tokens()) {
      if (t.id < 0) fail(spec.source, ": added token \"", t.content, "\" has the negative id ", t.id);
      vocab_size = std::max(vocab_size, t.id + 1);
    }
    added_by_id.assign(size_t(vocab_size), nullptr);
    for (const AddedToken &t : added.tokens()) {
      if (added_by_id[t.id]) fail(spec.source, ": added tokens \"", added_by_id[t.id]->content, "\" and \"", t.content, "\" share the id ", t.id);
      added_by_id[t.id] = &t;
    }
    const auto check = [&](int32_t id, const char *what) {
      if (id >= 0 && (id >= vocab_size || (!added_by_id[id] && !bpe.id_to_token(id))))
        fail(spec.source, ": the ", what, " id ", id, " is not a token of the vocabulary");
    };
    check(spec.bos_id, "BOS");
    check(spec.eos_id, "EOS");
    check(spec.pad_id, "PAD");
    check(spec.unk_id, "UNK");
    for (const TemplatePiece &piece : spec.template_single)
      for (int32_t id : piece.ids) check(id, "post-processor template's");
  }
};

Tokenizer::Tokenizer(TokenizerSpec spec) : impl_(std::make_shared<const Impl>(std::move(spec))) {}

const TokenizerSpec &Tokenizer::spec() const { return impl_->spec; }
const BpeModel &Tokenizer::bpe() const { return impl_->bpe; }
const PreTokenizer &Tokenizer::pre_tokenizer() const { return impl_->pre_tokenizer; }
int32_t Tokenizer::vocab_size() const { return impl_->vocab_size; }

bool Tokenizer::add_bos() const {
  const auto &t = spec().template_single;
  return !t.empty() && !t.front().is_sequence && !t.front().ids.empty() && t.front().ids.front() == bos_id();
}

bool Tokenizer::add_eos() const {
  const auto &t = spec().template_single;
  return !t.empty() && !t.back().is_sequence && !t.back().ids.empty() && t.back().ids.back() == eos_id();
}

const AddedToken *Tokenizer::added_token(int32_t id) const {
  return id >= 0 && id < impl_->vocab_size ? impl_->added_by_id[id] : nullptr;
}

bool Tokenizer::has_token(int32_t id) const { return added_token(id) || impl_->bpe.id_to_token(id); }

const std::string &Tokenizer::token_text(int32_t id) const {
  // Added tokens come first, as in HF's id_to_token.
  if (const AddedToken *t = added_token(id)) return t->content;
  if (const std::string *text = impl_->bpe.id_to_token(id)) return *text;
  fail(spec().source, ": no token has the id ", id, " (vocabulary size ", impl_->vocab_size, ")");
}

std::optional<int32_t> Tokenizer::token_id(std::string_view text) const {
  if (const AddedToken *t = impl_->added.find_by_content(text)) return t->id;
  return impl_->bpe.token_to_id(text);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  const Impl &impl = *impl_;
  if (const size_t bad = utf8::first_invalid(text); bad != std::string_view::npos)
    fail("tokenizer: the text to encode is not valid UTF-8 (ill-formed byte at offset ", bad, ")");

  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 8);
  std::vector<TextSegment> segments;
  impl.added.split(text, parse_special, segments);
  std::vector<std::string_view> pieces;
  std::deque<std::string> storage;
  std::string word;
  for (const TextSegment &segment : segments) {
    if (segment.token_id >= 0) {
      ids.push_back(segment.token_id);
      continue;
    }
    pieces.clear();
    impl.pre_tokenizer.split(text.substr(segment.start, segment.end - segment.start), pieces, storage);
    for (std::string_view piece : pieces) {
      word.clear();
      byte_level::encode_append(piece, word);
      impl.bpe.tokenize(word, ids);
    }
    storage.clear();
  }
  if (!add_special || impl.spec.template_single.empty()) return ids;

  std::vector<int32_t> out;
  out.reserve(ids.size() + 4);
  for (const TemplatePiece &piece : impl.spec.template_single) {
    if (piece.is_sequence) out.insert(out.end(), ids.begin(), ids.end());
    else out.insert(out.end(), piece.ids.begin(), piece.ids.end());
  }
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string bytes;
  for (int32_t id : ids) {
    const AddedToken *added = added_token(id);
    if (added && added->special && skip_special) continue;
    byte_level::decode_token_append(token_text(id), bytes);
  }
  return utf8::lossy(bytes);
}

}  // namespace qs
