// BPE merging by rank, step for step as HF tokenizers' Word::merge_all (models/bpe/word.rs).
#include "model/bpe.h"

#include <algorithm>

#include "core/error.h"
#include "model/byte_level.h"

namespace qs {

BpeModel::BpeModel(std::vector<std::pair<std::string, int32_t>> vocab, std::vector<Merge> merges, BpeOptions options,
                   std::string_view source)
    : merges_(std::move(merges)), options_(std::move(options)) {
  int32_t max_id = -1;
  for (const auto &[text, id] : vocab) {
    if (id < 0) fail(source, ": token \"", text, "\" has the negative id ", id);
    max_id = std::max(max_id, id);
  }
  id_to_token_.assign(size_t(max_id + 1), nullptr);
  vocab_.reserve(vocab.size());
  for (auto &[text, id] : vocab) {
    if (id_to_token_[id]) fail(source, ": tokens \"", *id_to_token_[id], "\" and \"", text, "\" share the id ", id);
    auto [it, inserted] = vocab_.emplace(std::move(text), id);
    if (!inserted) fail(source, ": token \"", it->first, "\" appears twice in the vocabulary");
    id_to_token_[id] = &it->first;
  }

  merge_map_.reserve(merges_.size());
  std::string joined;
  for (size_t rank = 0; rank < merges_.size(); ++rank) {
    // Named references, not a structured binding: clang 14 cannot capture bindings in a lambda.
    const std::string &a = merges_[rank].first;
    const std::string &b = merges_[rank].second;
    const auto find = [&](const std::string &text) {
      auto it = vocab_.find(text);
      if (it == vocab_.end())
        fail(source, ": merge ", rank, " (\"", a, "\" \"", b, "\") uses \"", text, "\", which is not in the vocabulary");
      return it->second;
    };
    joined = a + b;
    // A repeated pair keeps its last rank, as HF's map built from the list does.
    merge_map_.insert_or_assign(pair_key(find(a), find(b)), MergeResult{uint32_t(rank), find(joined)});
  }

  small_char_id_.assign(0x200, -1);
  std::string ch;
  for (char32_t cp = 0; cp < 0x200; ++cp) {
    ch.clear();
    utf8::append(cp, ch);
    if (auto it = vocab_.find(ch); it != vocab_.end()) small_char_id_[cp] = it->second;
  }
  if (options_.unk_token) {
    if (auto it = vocab_.find(*options_.unk_token); it != vocab_.end()) unk_id_ = it->second;
  }
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view text) const {
  auto it = vocab_.find(text);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string *BpeModel::id_to_token(int32_t id) const {
  return id >= 0 && id < int32_t(id_to_token_.size()) ? id_to_token_[id] : nullptr;
}

int32_t BpeModel::char_id(std::string_view ch) const {
  size_t pos = 0;
  const char32_t cp = utf8::next(ch, pos);
  if (cp < small_char_id_.size()) return small_char_id_[cp];
  auto it = vocab_.find(ch);
  return it == vocab_.end() ? -1 : it->second;
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t> &out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    if (auto it = vocab_.find(word); it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  merge_word(word, out);
}

void BpeModel::merge_word(std::string_view word, std::vector<int32_t> &out) const {
  struct Symbol {
    int32_t id;
    int32_t prev, next;  // neighbour indices, -1 at the ends
    uint32_t n_bytes;    // 0 once merged into its left neighbour
  };
  struct Candidate {
    uint32_t rank;
    int32_t pos;
    int32_t new_id;
  };
  // Reused between calls (per thread): allocating these for every word costs more than merging.
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  symbols.clear();
  heap.clear();
  const auto add = [&](int32_t id, uint32_t n_bytes) {
    const int32_t index = int32_t(symbols.size());
    if (!symbols.empty()) symbols.back().next = index;
    symbols.push_back({id, index - 1, -1, n_bytes});
  };

  // One symbol per character; unknown characters become unk (fused if asked) or vanish.
  int32_t pending_unk_bytes = 0;
  for (size_t pos = 0; pos < word.size();) {
    const size_t n = size_t(utf8::sequence_length(uint8_t(word[pos])));
    const int32_t id = char_id(word.substr(pos, n));
    pos += n;
    if (id >= 0) {
      if (pending_unk_bytes) add(unk_id_, uint32_t(pending_unk_bytes)), pending_unk_bytes = 0;
      add(id, uint32_t(n));
    } else if (options_.unk_token) {
      if (unk_id_ < 0) fail("BPE: the unk token \"", *options_.unk_token, "\" is not in the vocabulary");
      if (pending_unk_bytes && !options_.fuse_unk) add(unk_id_, uint32_t(pending_unk_bytes)), pending_unk_bytes = 0;
      pending_unk_bytes += int32_t(n);
    }
  }
  if (pending_unk_bytes) add(unk_id_, uint32_t(pending_unk_bytes));

  // A heap with the lowest rank on top; among equal ranks the leftmost.
  const auto later = [](const Candidate &x, const Candidate &y) {
    return x.rank != y.rank ? x.rank > y.rank : x.pos > y.pos;
  };
  const auto push = [&](Candidate c) {
    heap.push_back(c);
    std::push_heap(heap.begin(), heap.end(), later);
  };
  const auto lookup = [&](int32_t a, int32_t b) -> const MergeResult * {
    auto it = merge_map_.find(pair_key(a, b));
    return it == merge_map_.end() ? nullptr : &it->second;
  };
  for (size_t i = 0; i + 1 < symbols.size(); ++i)
    if (const MergeResult *m = lookup(symbols[i].id, symbols[i + 1].id))
      push({m->rank, int32_t(i), m->new_id});

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol &left = symbols[top.pos];
    if (left.n_bytes == 0 || left.next < 0) continue;
    const Symbol right = symbols[left.next];
    // Skip entries made stale by an earlier merge: the pair there must still make new_id.
    const MergeResult *current = lookup(left.id, right.id);
    if (!current || current->new_id != top.new_id) continue;

    const int32_t right_index = left.next;
    left.id = top.new_id;
    left.n_bytes += right.n_bytes;
    left.next = right.next;
    symbols[right_index].n_bytes = 0;
    if (right.next >= 0) symbols[right.next].prev = top.pos;

    if (left.prev >= 0)
      if (const MergeResult *m = lookup(symbols[left.prev].id, left.id))
        push({m->rank, left.prev, m->new_id});
    if (left.next >= 0)
      if (const MergeResult *m = lookup(left.id, symbols[left.next].id))
        push({m->rank, top.pos, m->new_id});
  }
  for (const Symbol &s : symbols)
    if (s.n_bytes != 0) out.push_back(s.id);
}

}  // namespace qs
