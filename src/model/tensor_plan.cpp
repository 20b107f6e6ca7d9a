// Planning and materialising the GGUF tensors of a checkpoint. Shapes are checked against the
// dimensions llama.cpp's loaders pass to create_tensor for these architectures.
#include "model/tensor_plan.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"
#include "model/fused_experts.h"
#include "model/llama3_rope.h"
#include "model/qk_permutation.h"

namespace qs {
namespace {

// Symbolic extents of the loader's tensor shapes.
enum class Dim { Hidden, Vocab, QueryWidth, KeyValueWidth, HeadDim, HalfHeadDim, FeedForward, Experts, ExpertFeedForward };

struct ShapeRule {
  const char *base;    // name without "blk.N."
  std::vector<Dim> dims;  // ggml order
};

using enum Dim;

// llama.cpp create_tensor dimensions (llama, qwen2, qwen3, qwen3moe loaders); biases are the
// output width of their projection.
const ShapeRule kShapeRules[] = {
    {"token_embd.weight", {Hidden, Vocab}},
    {"output.weight", {Hidden, Vocab}},
    {"output_norm.weight", {Hidden}},
    {"rope_freqs.weight", {HalfHeadDim}},
    {"attn_norm.weight", {Hidden}},
    {"ffn_norm.weight", {Hidden}},
    {"attn_q.weight", {Hidden, QueryWidth}},
    {"attn_q.bias", {QueryWidth}},
    {"attn_k.weight", {Hidden, KeyValueWidth}},
    {"attn_k.bias", {KeyValueWidth}},
    {"attn_v.weight", {Hidden, KeyValueWidth}},
    {"attn_v.bias", {KeyValueWidth}},
    {"attn_output.weight", {QueryWidth, Hidden}},
    {"attn_output.bias", {Hidden}},
    {"attn_q_norm.weight", {HeadDim}},
    {"attn_k_norm.weight", {HeadDim}},
    {"ffn_gate.weight", {Hidden, FeedForward}},
    {"ffn_gate.bias", {FeedForward}},
    {"ffn_up.weight", {Hidden, FeedForward}},
    {"ffn_up.bias", {FeedForward}},
    {"ffn_down.weight", {FeedForward, Hidden}},
    {"ffn_down.bias", {Hidden}},
    {"ffn_gate_inp.weight", {Hidden, Experts}},
    {"ffn_gate_exps.weight", {Hidden, ExpertFeedForward, Experts}},
    {"ffn_up_exps.weight", {Hidden, ExpertFeedForward, Experts}},
    {"ffn_down_exps.weight", {ExpertFeedForward, Hidden, Experts}},
};

int64_t extent(const ModelConfig &c, Dim dim) {
  switch (dim) {
    case Hidden: return c.hidden_size;
    case Vocab: return c.vocab_size;
    case QueryWidth: return c.num_attention_heads * c.head_dim;
    case KeyValueWidth: return c.num_key_value_heads * c.head_dim;
    case HeadDim: return c.head_dim;
    case HalfHeadDim: return c.head_dim / 2;
    case FeedForward: return c.intermediate_size;
    case Experts: return c.num_experts;
    case ExpertFeedForward: return expert_feed_forward_length(c);
  }
  return 0;
}

std::string ggml_shape_text(const std::vector<int64_t> &shape) {
  std::string text = "{";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "}";
}

std::string where(const SafetensorsTensor &t) { return cat(t.file.string(), ": tensor \"", t.name, "\""); }

std::vector<int64_t> reversed(const std::vector<int64_t> &shape) { return {shape.rbegin(), shape.rend()}; }

// Every GGUF ".weight" tensor the architecture's patterns produce for this config: what the
// loader requires (alternative HF spellings of one tensor share its GGUF name).
std::set<std::string> required_tensors(const Architecture &arch, const ModelConfig &config) {
  std::set<std::string> required;
  for (const auto &group : arch.pattern_groups) {
    for (const auto &pattern : group) {
      for (const char *gguf : {pattern.gguf, pattern.gguf_up}) {
        if (gguf == nullptr) continue;
        const std::string name = std::string(gguf) + ".weight";
        if (name.find("{L}") == std::string::npos) {
          required.insert(name);
          continue;
        }
        for (int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
          std::string expanded = name;
          expanded.replace(expanded.find("{L}"), 3, std::to_string(layer));
          required.insert(expanded);
        }
      }
    }
  }
  // Tied embeddings: llama.cpp reuses token_embd when output is absent.
  if (config.tie_word_embeddings) required.erase("output.weight");
  return required;
}

}  // namespace

int64_t GgufTensorPlan::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ggml_shape) n *= d;
  return n;
}

std::vector<std::string> GgufTensorPlan::hf_names() const {
  std::vector<std::string> names;
  for (const auto &source : sources)
    if (names.empty() || names.back() != source.tensor->name) names.push_back(source.tensor->name);
  return names;
}

const GgufTensorPlan *ModelPlan::find(std::string_view gguf_name) const {
  for (const auto &tensor : tensors)
    if (tensor.name == gguf_name) return &tensor;
  return nullptr;
}

std::vector<int64_t> expected_ggml_shape(const ModelConfig &config, std::string_view gguf_name) {
  std::string_view base = gguf_name;
  if (base.starts_with("blk.")) {
    const size_t dot = base.find('.', 4);
    base = dot == std::string_view::npos ? std::string_view{} : base.substr(dot + 1);
  }
  for (const auto &rule : kShapeRules) {
    if (base != rule.base) continue;
    std::vector<int64_t> shape;
    for (Dim dim : rule.dims) shape.push_back(extent(config, dim));
    return shape;
  }
  return {};
}

ModelPlan plan_gguf_tensors(const ModelConfig &config, const SafetensorsModel &model) {
  ModelPlan plan;
  const Architecture &arch = architecture_for(config);
  plan.architecture = &arch;

  std::map<std::string, GgufTensorPlan> by_name;
  auto entry = [&](const std::string &name, const GgufTensorName &mapped) -> GgufTensorPlan & {
    GgufTensorPlan &tensor = by_name[name];
    tensor.name = name;
    tensor.layer = mapped.layer;
    return tensor;
  };
  for (const auto &hf : model.tensors()) {
    const auto mapped = map_tensor_name(arch, hf.name);
    if (!mapped) {
      if (is_ignored_hf_tensor(hf.name)) {
        plan.ignored.push_back(hf.name);
        continue;
      }
      fail(where(hf), " has no GGUF name for ", arch.hf_class);
    }
    if (!dtype_is_float(hf.dtype)) fail(where(hf), " has dtype ", dtype_name(hf.dtype), "; model weights must be floats");
    if (mapped->layer >= config.num_hidden_layers)
      fail(where(hf), " is in layer ", mapped->layer, " but config.json has ", config.num_hidden_layers, " layers");

    if (mapped->is_fused_gate_up()) {
      (void)fused_gate_up_layout(hf.shape, config, hf.name);  // throws on a shape that fits neither layout
      for (const auto &[name, part] : {std::pair{mapped->name, FusedPart::Gate}, {mapped->up_name, FusedPart::Up}}) {
        GgufTensorPlan &tensor = entry(name, *mapped);
        if (!tensor.sources.empty()) fail(where(hf), " and ", tensor.hf_names()[0], " both give ", name);
        tensor.sources.push_back({&hf, -1, part});
        tensor.ggml_shape = {config.hidden_size, expert_feed_forward_length(config), config.num_experts};
      }
      continue;
    }
    GgufTensorPlan &tensor = entry(mapped->name, *mapped);
    if (mapped->expert) {
      if (*mapped->expert >= config.num_experts)
        fail(where(hf), " is expert ", *mapped->expert, " but config.json has ", config.num_experts, " experts");
      if (hf.shape.size() != 2) fail(where(hf), " should be a 2-D expert matrix, has shape ", ggml_shape_text(hf.shape));
      for (const auto &other : tensor.sources) {
        if (other.expert < 0) fail(where(hf), " and ", other.tensor->name, " both give ", mapped->name);
        if (other.expert == *mapped->expert) fail(where(hf), " and ", other.tensor->name, " are both expert ", other.expert);
        if (other.tensor->shape != hf.shape)
          fail(where(hf), " has shape ", ggml_shape_text(hf.shape), " but ", other.tensor->name, " has ", ggml_shape_text(other.tensor->shape));
      }
      tensor.sources.push_back({&hf, *mapped->expert, FusedPart::None});
      tensor.ggml_shape = {hf.shape[1], hf.shape[0], config.num_experts};
      continue;
    }
    if (!tensor.sources.empty()) fail(where(hf), " and ", tensor.sources[0].tensor->name, " both give ", mapped->name);
    const bool fused_down = mapped->name.ends_with("ffn_down_exps.weight");
    if (fused_down) {
      (void)fused_down_layout(hf.shape, config, hf.name);
      tensor.ggml_shape = {expert_feed_forward_length(config), config.hidden_size, config.num_experts};
    } else {
      tensor.ggml_shape = reversed(hf.shape);
    }
    tensor.sources.push_back({&hf, -1, fused_down ? FusedPart::Down : FusedPart::None});
    tensor.permutation = mapped->permutation;
    tensor.permutation_heads = permutation_head_count(config, mapped->permutation);
  }

  if (config.rope_scaling.type == RopeScalingType::Llama3 && arch.supports_llama3_rope) {
    GgufTensorPlan rope;
    rope.name = kRopeFreqsTensorName;
    rope.ggml_shape = {config.head_dim / 2};
    by_name[rope.name] = rope;
  }

  for (auto &[name, tensor] : by_name) {
    // Stacks must be complete: a missing expert would leave zeros in the GGUF.
    if (!tensor.sources.empty() && tensor.sources[0].expert >= 0) {
      if (static_cast<int64_t>(tensor.sources.size()) != config.num_experts)
        fail(model.files().front().string(), ": ", name, " has ", tensor.sources.size(), " of ", config.num_experts,
             " experts (", tensor.hf_names()[0], ", ...)");
      std::sort(tensor.sources.begin(), tensor.sources.end(),
                [](const TensorSource &a, const TensorSource &b) { return a.expert < b.expert; });
    }
    const std::vector<int64_t> expected = expected_ggml_shape(config, name);
    if (!expected.empty() && expected != tensor.ggml_shape)
      fail(tensor.sources.empty() ? name : where(*tensor.sources[0].tensor), " becomes ", name, " of ggml shape ",
           ggml_shape_text(tensor.ggml_shape), ", but ", config.source, " implies ", ggml_shape_text(expected));
  }
  for (const auto &name : required_tensors(arch, config)) {
    if (by_name.count(name)) continue;
    if (name == "output.weight")
      fail(model.files().front().string(), ": no lm_head.weight, and config.json does not tie the embeddings");
    fail(model.files().front().string(), ": no tensor for ", name, ", which llama.cpp's ", arch.gguf_arch, " requires");
  }

  // GGUF order: generated and embedding tensors, the blocks in order, then the output tensors.
  for (auto &[name, tensor] : by_name) plan.tensors.push_back(std::move(tensor));
  auto rank = [](const GgufTensorPlan &t) {
    if (t.name == kRopeFreqsTensorName) return 0;
    if (t.name == "token_embd.weight") return 1;
    return t.layer >= 0 ? 2 : 3;
  };
  std::stable_sort(plan.tensors.begin(), plan.tensors.end(), [&](const GgufTensorPlan &a, const GgufTensorPlan &b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    return a.layer < b.layer;
  });
  return plan;
}

void read_planned_tensor(const GgufTensorPlan &plan, const ModelConfig &config, float *out) {
  if (plan.sources.empty()) {
    const std::vector<float> factors = llama3_rope_freqs(config);
    std::copy(factors.begin(), factors.end(), out);
    return;
  }
  const TensorSource &first = plan.sources[0];
  switch (first.fused) {
    case FusedPart::Gate:
    case FusedPart::Up: {
      const std::vector<float> fused = read_as_f32(*first.tensor);
      std::vector<float> other(static_cast<size_t>(plan.n_elements()));
      float *gate = first.fused == FusedPart::Gate ? out : other.data();
      float *up = first.fused == FusedPart::Up ? out : other.data();
      split_fused_gate_up(fused.data(), first.tensor->shape, config, first.tensor->name, gate, up);
      return;
    }
    case FusedPart::Down: {
      const std::vector<float> fused = read_as_f32(*first.tensor);
      fused_down_to_stacked(fused.data(), first.tensor->shape, config, first.tensor->name, out);
      return;
    }
    case FusedPart::None:
      break;
  }
  if (first.expert >= 0) {
    const int64_t per_expert = plan.n_elements() / static_cast<int64_t>(plan.sources.size());
    for (const auto &source : plan.sources) read_as_f32(*source.tensor, out + source.expert * per_expert);
    return;
  }
  if (plan.permutation == RowPermutation::None) {
    read_as_f32(*first.tensor, out);
    return;
  }
  const std::vector<float> rows = read_as_f32(*first.tensor);
  const int64_t n_rows = first.tensor->shape.empty() ? 1 : first.tensor->shape[0];
  permute_qk_rows(rows.data(), out, plan.permutation_heads, n_rows, n_rows == 0 ? 0 : plan.n_elements() / n_rows);
}


namespace {

// Rows of a source tensor as floats: a view of just their bytes, converted like a whole tensor.
void read_source_rows(const SafetensorsTensor &tensor, int64_t first_row, int64_t n_rows, int64_t n_cols, float *out) {
  const size_t element_bytes = dtype_size(tensor.dtype);
  const size_t begin = static_cast<size_t>(first_row * n_cols) * element_bytes;
  const size_t count = static_cast<size_t>(n_rows * n_cols) * element_bytes;
  if (begin + count > tensor.bytes.size()) fail(tensor.file.string(), ": tensor \"", tensor.name, "\": rows out of range");
  SafetensorsTensor rows = tensor;
  rows.bytes = tensor.bytes.subspan(begin, count);
  rows.shape = {n_rows * n_cols};
  read_as_f32(rows, out);
}

}  // namespace

bool planned_rows_readable(const GgufTensorPlan &plan) {
  // A permuted 1-D bias moves values within its one ggml row: only whole reads do that.
  return !plan.sources.empty() && plan.sources[0].fused == FusedPart::None &&
         (plan.permutation == RowPermutation::None || plan.ggml_shape.size() >= 2);
}

void read_planned_rows(const GgufTensorPlan &plan, int64_t first_row, int64_t n_rows, float *out) {
  if (!planned_rows_readable(plan)) fail("tensor '", plan.name, "' cannot be read by rows");
  const int64_t n_cols = plan.ggml_shape.empty() ? 1 : plan.ggml_shape[0];
  const int64_t total_rows = n_cols == 0 ? 0 : plan.n_elements() / n_cols;
  if (first_row < 0 || n_rows < 0 || first_row + n_rows > total_rows)
    fail("tensor '", plan.name, "': rows ", first_row, "+", n_rows, " out of ", total_rows);
  const TensorSource &first = plan.sources[0];
  if (first.expert >= 0) {
    const int64_t rows_per_expert = total_rows / static_cast<int64_t>(plan.sources.size());
    for (int64_t done = 0; done < n_rows;) {
      const int64_t row = first_row + done;
      const int64_t expert = row / rows_per_expert, local = row % rows_per_expert;
      const int64_t run = std::min(n_rows - done, rows_per_expert - local);
      const TensorSource *source = nullptr;
      for (const auto &s : plan.sources)
        if (s.expert == expert) source = &s;
      if (!source) fail("tensor '", plan.name, "': no source for expert ", expert);
      read_source_rows(*source->tensor, local, run, n_cols, out + done * n_cols);
      done += run;
    }
    return;
  }
  if (plan.permutation == RowPermutation::None) {
    read_source_rows(*first.tensor, first_row, n_rows, n_cols, out);
    return;
  }
  for (int64_t r = 0; r < n_rows; ++r) {
    const int64_t source_row = permuted_qk_source_row(first_row + r, plan.permutation_heads, total_rows);
    read_source_rows(*first.tensor, source_row, 1, n_cols, out + r * n_cols);
  }
}

}  // namespace qs
