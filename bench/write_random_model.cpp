// Writes a random model of a real shape (bench/random_model_shapes.h) as a Hugging Face directory
// that every command opens: config.json, BF16 safetensors in shards of at most 5 GB with their
// index, and the shipped model's tokenizer. For benchmarks only (never shipped, never a test's
// expectation): whole-depth measurement runs of the 8B shape, host memory and wall time.
//
//   write_random_model llama3-8b|qwen2.5-7b|qwen3-30b-a3b OUT_DIR [--layers N]
//
// The tokenizer is kjv-llama's: its 3,840 ids are below every shape's vocabulary, so calibration
// text tokenizes (into the low ids). Values are made, converted to BF16 and written a chunk at a
// time on every core, so host memory is ~100 MB whatever the shape.
#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_support.h"
#include "core/half.h"
#include "random_model_shapes.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct TensorSpec {
  std::string name;            // Hugging Face name
  std::vector<int64_t> shape;  // torch order: rows first
  float spread = 0, offset = 0;
  int64_t elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

// The Hugging Face tensors of the shape, in the order the converters list them.
std::vector<TensorSpec> tensor_specs(const qs::bench::ModelShape &shape) {
  const qs::TransformerConfig &c = shape.config;
  const int64_t qw = c.n_head * c.head_dim, kvw = c.n_head_kv * c.head_dim;
  // Uniform weights of about unit output scale for unit inputs; norms near 1.
  auto matrix = [](std::string name, int64_t rows, int64_t cols) {
    return TensorSpec{std::move(name), {rows, cols}, 2.0f / std::sqrt(static_cast<float>(cols)), 0.0f};
  };
  auto norm = [](std::string name, int64_t n) { return TensorSpec{std::move(name), {n}, 0.1f, 1.0f}; };
  auto bias = [](std::string name, int64_t n) { return TensorSpec{std::move(name), {n}, 0.1f, 0.0f}; };
  std::vector<TensorSpec> specs{{"model.embed_tokens.weight", {c.n_vocab, c.n_embd}, 0.1f, 0.0f}};
  for (int64_t il = 0; il < c.n_layer; ++il) {
    const std::string p = "model.layers." + std::to_string(il) + ".";
    specs.push_back(norm(p + "input_layernorm.weight", c.n_embd));
    specs.push_back(matrix(p + "self_attn.q_proj.weight", qw, c.n_embd));
    specs.push_back(matrix(p + "self_attn.k_proj.weight", kvw, c.n_embd));
    specs.push_back(matrix(p + "self_attn.v_proj.weight", kvw, c.n_embd));
    if (shape.qkv_bias) {
      specs.push_back(bias(p + "self_attn.q_proj.bias", qw));
      specs.push_back(bias(p + "self_attn.k_proj.bias", kvw));
      specs.push_back(bias(p + "self_attn.v_proj.bias", kvw));
    }
    if (c.n_expert > 0) {  // qwen3: per-head q/k norms
      specs.push_back(norm(p + "self_attn.q_norm.weight", c.head_dim));
      specs.push_back(norm(p + "self_attn.k_norm.weight", c.head_dim));
    }
    specs.push_back(matrix(p + "self_attn.o_proj.weight", c.n_embd, qw));
    specs.push_back(norm(p + "post_attention_layernorm.weight", c.n_embd));
    if (c.n_expert > 0) {
      specs.push_back(matrix(p + "mlp.gate.weight", c.n_expert, c.n_embd));
      for (int64_t e = 0; e < c.n_expert; ++e) {
        const std::string x = p + "mlp.experts." + std::to_string(e) + ".";
        specs.push_back(matrix(x + "gate_proj.weight", c.n_ff_expert, c.n_embd));
        specs.push_back(matrix(x + "up_proj.weight", c.n_ff_expert, c.n_embd));
        specs.push_back(matrix(x + "down_proj.weight", c.n_embd, c.n_ff_expert));
      }
    } else {
      specs.push_back(matrix(p + "mlp.gate_proj.weight", c.n_ff, c.n_embd));
      specs.push_back(matrix(p + "mlp.up_proj.weight", c.n_ff, c.n_embd));
      specs.push_back(matrix(p + "mlp.down_proj.weight", c.n_embd, c.n_ff));
    }
  }
  specs.push_back(norm("model.norm.weight", c.n_embd));
  specs.push_back({"lm_head.weight", {c.n_vocab, c.n_embd}, 0.05f, 0.0f});
  return specs;
}

// The double whose shortest form is the float's (1e-06, not 9.999999974752427e-07), as the real
// config.json files spell their epsilons.
double as_written(float value) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, value).ptr;
  double parsed = 0;
  std::from_chars(text, end, parsed);
  return parsed;
}

json hf_config(const std::string &shape_name, const qs::bench::ModelShape &shape) {
  const qs::TransformerConfig &c = shape.config;
  json j = {{"hidden_size", c.n_embd},
            {"num_attention_heads", c.n_head},
            {"num_key_value_heads", c.n_head_kv},
            {"head_dim", c.head_dim},
            {"num_hidden_layers", c.n_layer},
            {"vocab_size", c.n_vocab},
            {"rms_norm_eps", as_written(c.rms_norm_eps)},
            {"rope_theta", c.rope.theta},
            {"max_position_embeddings", 32768},
            {"hidden_act", "silu"},
            {"tie_word_embeddings", false},
            {"torch_dtype", "bfloat16"},
            // The shipped tokenizer's BOS and EOS (models/kjv-llama/config.json).
            {"bos_token_id", 3836},
            {"eos_token_id", 3837}};
  if (shape_name == "llama3-8b") {
    j["architectures"] = {"LlamaForCausalLM"};
    j["model_type"] = "llama";
    j["intermediate_size"] = c.n_ff;
  } else if (shape_name == "qwen2.5-7b") {
    j["architectures"] = {"Qwen2ForCausalLM"};
    j["model_type"] = "qwen2";
    j["intermediate_size"] = c.n_ff;
    j["use_sliding_window"] = false;
  } else {
    j["architectures"] = {"Qwen3MoeForCausalLM"};
    j["model_type"] = "qwen3_moe";
    j["intermediate_size"] = 6144;  // the real config's (dense layers; this model has none)
    j["moe_intermediate_size"] = c.n_ff_expert;
    j["num_experts"] = c.n_expert;
    j["num_experts_per_tok"] = c.n_expert_used;
    j["norm_topk_prob"] = c.norm_topk_prob;
    j["decoder_sparse_step"] = 1;
    j["mlp_only_layers"] = json::array();
  }
  return j;
}

// f32 -> bf16 (round to nearest even) on every core.
void to_bf16(const std::vector<float> &values, std::vector<uint16_t> &out) {
  out.resize(values.size());
  const unsigned n_threads = std::max(1u, std::thread::hardware_concurrency());
  const size_t per = (values.size() + n_threads - 1) / n_threads;
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < n_threads; ++t) {
    const size_t begin = std::min(values.size(), t * per), end = std::min(values.size(), begin + per);
    threads.emplace_back([&, begin, end] {
      qs::f32_to_bf16_row(values.data() + begin, out.data() + begin, static_cast<int64_t>(end - begin));
    });
  }
  for (auto &th : threads) th.join();
}

// A tensor is made and written in chunks of this many values (64 MB of f32), through two buffers
// reused for the whole model: host memory stays ~100 MB whatever the shape, and no time goes to
// faulting in and zeroing fresh pages for every tensor (that was half the run when whole tensors
// were made at once).
constexpr int64_t kChunkValues = int64_t{1} << 24;

struct ChunkBuffers {
  std::vector<float> values;
  std::vector<uint16_t> bf16;
};

// Each chunk gets its own seed (`next_seed`, counted over the whole model), so the output depends
// only on the shape and --layers.
void write_tensor(std::ofstream &file, const TensorSpec &spec, uint32_t &next_seed, ChunkBuffers &buffers) {
  for (int64_t done = 0, n = spec.elements(); done < n; done += kChunkValues) {
    buffers.values.resize(static_cast<size_t>(std::min(kChunkValues, n - done)));
    qs::bench::fill_random(buffers.values, spec.spread, next_seed++, spec.offset);
    to_bf16(buffers.values, buffers.bf16);
    file.write(reinterpret_cast<const char *>(buffers.bf16.data()),
               static_cast<std::streamsize>(buffers.bf16.size() * 2));
  }
}

// Shards of at most 5 GB (5·10^9 bytes, save_pretrained's default max_shard_size "5GB"), in tensor order;
// each shard is a list of indices into `specs`.
std::vector<std::vector<size_t>> plan_shards(const std::vector<TensorSpec> &specs) {
  constexpr int64_t kShardBytes = 5'000'000'000;
  std::vector<std::vector<size_t>> shards(1);
  int64_t shard_bytes = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    const int64_t bytes = specs[i].elements() * 2;
    if (shard_bytes > 0 && shard_bytes + bytes > kShardBytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(i);
    shard_bytes += bytes;
  }
  return shards;
}

// One safetensors file (https://github.com/huggingface/safetensors, "Format"): an 8-byte
// little-endian header length, the JSON header (dtype, shape, data_offsets per tensor), the data.
// Returns the data bytes written.
int64_t write_shard(const fs::path &path, const std::vector<TensorSpec> &specs, const std::vector<size_t> &shard,
                    uint32_t &next_seed, ChunkBuffers &buffers) {
  json header = {{"__metadata__", {{"format", "pt"}}}};
  int64_t offset = 0;
  for (const size_t i : shard) {
    const int64_t bytes = specs[i].elements() * 2;
    header[specs[i].name] = {{"dtype", "BF16"}, {"shape", specs[i].shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  std::ofstream file(path, std::ios::binary);
  const uint64_t header_size = header_text.size();
  static_assert(std::endian::native == std::endian::little, "the length is written as the host stores it");
  file.write(reinterpret_cast<const char *>(&header_size), sizeof header_size);
  file.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
  for (const size_t i : shard) write_tensor(file, specs[i], next_seed, buffers);
  file.close();
  if (!file) throw std::runtime_error("writing " + path.string() + " failed (disk full?)");
  return offset;
}

void write_text(const fs::path &path, const std::string &text) {
  std::ofstream file(path);
  file << text << "\n";
  file.close();
  if (!file) throw std::runtime_error("writing " + path.string() + " failed");
}

int refuse(const std::string &message) {
  std::fprintf(stderr, "write_random_model: %s\n", message.c_str());
  return 2;
}

int run(int argc, char **argv) {
  const std::string usage = "usage: write_random_model llama3-8b|qwen2.5-7b|qwen3-30b-a3b OUT_DIR [--layers N]";
  if (argc != 3 && !(argc == 5 && std::strcmp(argv[3], "--layers") == 0)) return refuse(usage);
  const std::string shape_name = argv[1];
  const fs::path out = argv[2];
  qs::bench::ModelShape shape;
  if (shape_name == "llama3-8b") shape = qs::bench::llama3_8b(32);
  else if (shape_name == "qwen2.5-7b") shape = qs::bench::qwen2_5_7b(28);
  else if (shape_name == "qwen3-30b-a3b") shape = qs::bench::qwen3_30b_a3b(48);
  else return refuse("no shape '" + shape_name + "' (llama3-8b, qwen2.5-7b or qwen3-30b-a3b)");
  if (argc == 5) {
    const std::string_view text = argv[4];
    int64_t layers = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), layers);
    if (error != std::errc() || end != text.data() + text.size() || layers < 1 || layers > shape.full_layers)
      return refuse("--layers must be a whole number 1.." + std::to_string(shape.full_layers) + ", not '" +
                    std::string(text) + "'");
    shape.config.n_layer = layers;
  }
  if (fs::exists(out) && (!fs::is_directory(out) || !fs::is_empty(out)))
    return refuse(out.string() + " exists and is not an empty directory");
  fs::create_directories(out);

  const auto start = std::chrono::steady_clock::now();
  const std::vector<TensorSpec> specs = tensor_specs(shape);
  const std::vector<std::vector<size_t>> shards = plan_shards(specs);
  json weight_map = json::object();
  ChunkBuffers buffers;
  uint32_t next_seed = 1;
  int64_t total_bytes = 0;
  for (size_t s = 0; s < shards.size(); ++s) {
    char file_name[64];
    std::snprintf(file_name, sizeof file_name, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    for (const size_t i : shards[s]) weight_map[specs[i].name] = file_name;
    const int64_t bytes = write_shard(out / file_name, specs, shards[s], next_seed, buffers);
    total_bytes += bytes;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %zu tensors, %.2f GB (%.1f s)\n", file_name, shards[s].size(), static_cast<double>(bytes) / 1e9,
                seconds);
    std::fflush(stdout);
  }
  // The index and config.json come last: a run stopped half way leaves a directory no command opens.
  write_text(out / "model.safetensors.index.json",
             json({{"metadata", {{"total_size", total_bytes}}}, {"weight_map", weight_map}}).dump(1));
  write_text(out / "config.json", hf_config(shape_name, shape).dump(2));
  const fs::path shipped = qs::bench::model_path();
  for (const char *name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    fs::copy_file(shipped / name, out / name, fs::copy_options::overwrite_existing);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double gigabytes = static_cast<double>(total_bytes) / 1e9;
  std::printf("%s (%s, %lld of %lld layers): %zu tensors, %lld bytes (%.2f GB) in %zu shards, %.1f s (%.2f GB/s)\n",
              out.string().c_str(), shape.name.c_str(), static_cast<long long>(shape.config.n_layer),
              static_cast<long long>(shape.full_layers), specs.size(), static_cast<long long>(total_bytes), gigabytes,
              shards.size(), seconds, gigabytes / seconds);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception &e) {  // file-system errors: one line, as for the refusals
    return refuse(e.what());
  }
}
