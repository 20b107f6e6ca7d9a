// The BPE model of HF tokenizers (tokenizers/src/models/bpe): a vocabulary, merges applied by
// rank (lowest first, leftmost first among equal ranks), and ignore_merges, under which a
// pre-token that is itself in the vocabulary is one token whatever the merges would make of it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace qs {

struct BpeOptions {
  bool ignore_merges = false;
  std::optional<std::string> unk_token;  // stands for characters missing from the vocabulary
  bool fuse_unk = false;                 // consecutive unknown characters become one unk
};

class BpeModel {
 public:
  using Merge = std::pair<std::string, std::string>;

  // vocab: token text -> id; merges in rank order (rank = index). Throws qs::Error naming source
  // when an id repeats, an id is negative, or a merge names a token (or makes one) that is not in
  // the vocabulary.
  BpeModel(std::vector<std::pair<std::string, int32_t>> vocab, std::vector<Merge> merges, BpeOptions options,
           std::string_view source);

  // Appends the ids of one pre-token, given in its byte-level form. Characters that are not in
  // the vocabulary become the unk token if there is one, and are dropped otherwise (as HF does).
  void tokenize(std::string_view word, std::vector<int32_t> &out) const;

  std::optional<int32_t> token_to_id(std::string_view text) const;
  const std::string *id_to_token(int32_t id) const;  // nullptr when no token has the id
  int32_t id_limit() const { return int32_t(id_to_token_.size()); }  // max id + 1
  size_t size() const { return vocab_.size(); }
  const std::vector<Merge> &merges() const { return merges_; }
  const BpeOptions &options() const { return options_; }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct MergeResult {
    uint32_t rank;
    int32_t new_id;
  };
  static uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  int32_t char_id(std::string_view ch) const;
  void merge_word(std::string_view word, std::vector<int32_t> &out) const;

  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> vocab_;
  std::vector<const std::string *> id_to_token_;  // points at vocab_'s keys
  std::vector<Merge> merges_;
  std::unordered_map<uint64_t, MergeResult> merge_map_;
  std::vector<int32_t> small_char_id_;  // id of the one-character token U+0000..U+01FF, or -1
  BpeOptions options_;
  int32_t unk_id_ = -1;
};

}  // namespace qs
