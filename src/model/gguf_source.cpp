// Reading a model back from a GGUF file: metadata to ModelConfig, tensors as they are stored.
#include "model/gguf_source.h"

#include "core/error.h"
#include "quant/quantize_tensor.h"

namespace qs {
namespace {

class GgufSource final : public ModelSource {
 public:
  explicit GgufSource(const std::filesystem::path &path) : file_(gguf::GgufFile::open(path)) {
    path_ = path;
    architecture_ = &architecture_of_gguf(file_);
    config_ = config_from_gguf(file_, *architecture_);
    for (const auto &info : file_.tensors()) {
      SourceTensor t;
      t.name = info.name;
      t.shape = info.shape;
      t.stored_type = info.type;
      t.stored_dtype = quant_type(info.type).name;
      t.stored_bytes = info.n_bytes;
      tensors_.push_back(std::move(t));
    }
  }

  Kind kind() const override { return Kind::Gguf; }
  void release_pages() const override { file_.release_pages(); }

  bool reads_rows(const SourceTensor &) const override { return true; }  // ggml rows are contiguous
  void read_f32_rows(const SourceTensor &tensor, int64_t first_row, int64_t n_rows, float *out) const override {
    const gguf::TensorInfo *info = file_.find_tensor(tensor.name);
    if (!info) fail(path_.string(), ": no tensor named '", tensor.name, "'");
    const QuantType &type = quant_type(info->type);
    const int64_t n_cols = tensor.row_length();
    if (first_row < 0 || n_rows < 0 || first_row + n_rows > tensor.n_rows())
      fail(path_.string(), ": tensor '", tensor.name, "': rows ", first_row, "+", n_rows, " out of ", tensor.n_rows());
    const size_t row_bytes = type.row_bytes(n_cols);
    const auto data = file_.tensor_data(*info).subspan(static_cast<size_t>(first_row) * row_bytes,
                                                      static_cast<size_t>(n_rows) * row_bytes);
    dequantize_values(type, data.data(), out, n_rows * n_cols);
  }

  void read_f32(const SourceTensor &tensor, float *out) const override {
    const gguf::TensorInfo *info = file_.find_tensor(tensor.name);
    if (!info) fail(path_.string(), ": no tensor named '", tensor.name, "'");
    dequantize_values(quant_type(info->type), file_.tensor_data(*info).data(), out, info->n_elements());
  }

 private:
  gguf::GgufFile file_;
};

int64_t int_key(const gguf::GgufFile &file, const std::string &key, int64_t fallback) {
  const gguf::Value *v = file.find(key);
  if (!v) return fallback;
  try {
    return v->as_int();
  } catch (const Error &e) {
    fail(file.path().string(), ": metadata '", key, "': ", e.what());
  }
}

double float_key(const gguf::GgufFile &file, const std::string &key, double fallback) {
  const gguf::Value *v = file.find(key);
  if (!v) return fallback;
  try {
    return v->as_float();
  } catch (const Error &e) {
    fail(file.path().string(), ": metadata '", key, "': ", e.what());
  }
}

int64_t required_int(const gguf::GgufFile &file, const std::string &key) {
  const int64_t v = int_key(file, key, -1);
  if (v <= 0) fail(file.path().string(), ": missing or invalid metadata '", key, "'");
  return v;
}

}  // namespace

const Architecture &architecture_of_gguf(const gguf::GgufFile &file) {
  const gguf::Value *v = file.find("general.architecture");
  if (!v || v->type() != gguf::ValueType::STRING) fail(file.path().string(), ": no general.architecture string");
  const std::string &name = v->as_string();
  const bool has_experts = int_key(file, name + ".expert_count", 0) > 0;
  std::string supported;
  for (const auto &arch : all_architectures()) {
    if (name == arch.gguf_arch && arch.moe == has_experts) return arch;
    supported += cat(supported.empty() ? "" : ", ", arch.gguf_arch, arch.moe ? " (MoE)" : "");
  }
  fail(file.path().string(), ": unsupported architecture '", name, "'", has_experts ? " with experts" : "",
       " (supported: ", supported, ")");
}

ModelConfig config_from_gguf(const gguf::GgufFile &file, const Architecture &arch) {
  const std::string a = std::string(arch.gguf_arch) + ".";
  ModelConfig c;
  c.source = file.path().string();
  c.architecture = arch.hf_class;
  c.model_type = arch.model_type;
  c.hidden_size = required_int(file, a + "embedding_length");
  c.num_hidden_layers = required_int(file, a + "block_count");
  c.num_attention_heads = required_int(file, a + "attention.head_count");
  c.num_key_value_heads = int_key(file, a + "attention.head_count_kv", c.num_attention_heads);
  c.head_dim = int_key(file, a + "attention.key_length", c.hidden_size / c.num_attention_heads);
  c.intermediate_size = int_key(file, a + "feed_forward_length", 0);
  c.max_position_embeddings = int_key(file, a + "context_length", 0);
  c.rms_norm_eps = float_key(file, a + "attention.layer_norm_rms_epsilon", 1e-5);
  c.rope_theta = float_key(file, a + "rope.freq_base", 10000.0);
  if (const gguf::Value *type = file.find(a + "rope.scaling.type"); type && type->type() == gguf::ValueType::STRING) {
    const std::string &name = type->as_string();
    c.rope_scaling.type_name = name;
    if (name == "linear") c.rope_scaling.type = RopeScalingType::Linear;
    else if (name == "yarn") c.rope_scaling.type = RopeScalingType::Yarn;
    else if (name != "none") c.rope_scaling.type = RopeScalingType::Unsupported;
    c.rope_scaling.factor = float_key(file, a + "rope.scaling.factor", 1.0);
    if (const int64_t n = int_key(file, a + "rope.scaling.original_context_length", 0); n > 0) {
      c.rope_scaling.original_max_position_embeddings = n;
    }
  }
  int64_t vocab = int_key(file, a + "vocab_size", 0);
  if (vocab <= 0) {
    if (const gguf::Value *tokens = file.find("tokenizer.ggml.tokens"); tokens && tokens->type() == gguf::ValueType::ARRAY) {
      vocab = static_cast<int64_t>(tokens->as_array().items.size());
    } else if (const auto *embd = file.find_tensor("token_embd.weight"); embd && embd->shape.size() == 2) {
      vocab = embd->shape[1];
    }
  }
  c.vocab_size = vocab;
  c.tie_word_embeddings = file.find_tensor("output.weight") == nullptr;
  c.attention_bias = file.find_tensor("blk.0.attn_q.bias") != nullptr;
  if (arch.moe) {
    c.num_experts = required_int(file, a + "expert_count");
    c.num_experts_per_tok = required_int(file, a + "expert_used_count");
    c.moe_intermediate_size = int_key(file, a + "expert_feed_forward_length", c.intermediate_size);
    c.norm_topk_prob = true;  // llama.cpp renormalises the chosen experts of these architectures
  }
  return c;
}

std::unique_ptr<ModelSource> open_gguf_source(const std::filesystem::path &path) {
  return std::make_unique<GgufSource>(path);
}

}  // namespace qs
