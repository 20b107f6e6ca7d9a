// A Llama-shaped HF checkpoint of any size, written to disk for tests and benchmarks that need a
// big model (the shipped one is 16 MB): the shipped model's tokenizer and config with larger
// dimensions, BF16 weights from a seeded generator. Not shipped: made where it is used.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace qs::test {

struct LlamaShape {
  int64_t hidden = 4096, ffn = 14336, layers = 10, heads = 32, kv_heads = 8;
  int64_t vocab = 3840;  // the shipped tokenizer's
};

struct GeneratedTensor {
  std::string name;
  std::vector<int64_t> shape;  // HF order
  int64_t n_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

inline std::vector<GeneratedTensor> llama_tensors(const LlamaShape &s) {
  const int64_t head_dim = s.hidden / s.heads, kv = s.kv_heads * head_dim;
  std::vector<GeneratedTensor> t{{"model.embed_tokens.weight", {s.vocab, s.hidden}}};
  for (int64_t l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    t.push_back({p + "input_layernorm.weight", {s.hidden}});
    t.push_back({p + "self_attn.q_proj.weight", {s.hidden, s.hidden}});
    t.push_back({p + "self_attn.k_proj.weight", {kv, s.hidden}});
    t.push_back({p + "self_attn.v_proj.weight", {kv, s.hidden}});
    t.push_back({p + "self_attn.o_proj.weight", {s.hidden, s.hidden}});
    t.push_back({p + "post_attention_layernorm.weight", {s.hidden}});
    t.push_back({p + "mlp.gate_proj.weight", {s.ffn, s.hidden}});
    t.push_back({p + "mlp.up_proj.weight", {s.ffn, s.hidden}});
    t.push_back({p + "mlp.down_proj.weight", {s.hidden, s.ffn}});
  }
  t.push_back({"model.norm.weight", {s.hidden}});
  t.push_back({"lm_head.weight", {s.vocab, s.hidden}});
  return t;
}

// Writes config.json, the tokenizer files of `tokenizer_from` and one model.safetensors (BF16) into
// `dir`; returns the bytes of weights written. Values: a xorshift stream scaled to about ±0.05,
// norms 1.
inline uint64_t write_generated_llama(const std::filesystem::path &dir, const std::filesystem::path &tokenizer_from,
                                      const LlamaShape &s) {
  std::filesystem::create_directories(dir);
  for (const char *file : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"})
    std::filesystem::copy_file(tokenizer_from / file, dir / file, std::filesystem::copy_options::overwrite_existing);
  std::ifstream config_in(tokenizer_from / "config.json");
  nlohmann::json config = nlohmann::json::parse(config_in);
  config["hidden_size"] = s.hidden;
  config["intermediate_size"] = s.ffn;
  config["num_hidden_layers"] = s.layers;
  config["num_attention_heads"] = s.heads;
  config["num_key_value_heads"] = s.kv_heads;
  config["head_dim"] = s.hidden / s.heads;
  config["vocab_size"] = s.vocab;
  std::ofstream(dir / "config.json") << config.dump(2);

  const auto tensors = llama_tensors(s);
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const auto &t : tensors) {
    const uint64_t bytes = static_cast<uint64_t>(t.n_elements()) * 2;
    header[t.name] = {{"dtype", "BF16"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.resize((text.size() + 7) / 8 * 8, ' ');
  std::ofstream out(dir / "model.safetensors", std::ios::binary);
  const uint64_t header_bytes = text.size();
  out.write(reinterpret_cast<const char *>(&header_bytes), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  uint64_t state = 0x9E3779B97F4A7C15ull;
  std::vector<uint16_t> chunk;
  for (const auto &t : tensors) {
    const bool norm = t.shape.size() == 1;
    for (int64_t done = 0; done < t.n_elements();) {
      const int64_t n = std::min<int64_t>(int64_t{1} << 20, t.n_elements() - done);
      chunk.resize(static_cast<size_t>(n));
      for (auto &v : chunk) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        // BF16 of 1.0 for norms; else sign, exponent 2^-5..2^-8 and 7 random mantissa bits.
        v = norm ? 0x3F80 : static_cast<uint16_t>((state & 0x8000) | ((0x7A - (state >> 20 & 3)) << 7) | (state >> 32 & 0x7F));
      }
      out.write(reinterpret_cast<const char *>(chunk.data()), static_cast<std::streamsize>(n * 2));
      done += n;
    }
  }
  out.close();
  if (!out) fail(dir.string(), ": cannot write the generated model");
  return offset;
}

}  // namespace qs::test
