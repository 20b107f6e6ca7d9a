// `quantscope inspect <model>`: the model's configuration and its tensor table (GGUF name, HF
// name, shape, dtype, parameters, bytes, quant types the row length allows), for an HF directory
// or a GGUF file; --json for machines.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "core/progress.h"
#include "model/model_source.h"
#include "model/model_summary_json.h"
#include "model/quantizable_tensors.h"

namespace qs::cli::inspect_command {
namespace {

long long ll(int64_t v) { return static_cast<long long>(v); }

std::string shape_string(const std::vector<int64_t> &shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? " x " : "") + std::to_string(shape[i]);
  return s;
}

// A short description of which quant types apply, for the table; --json lists them all.
std::string allowed_summary(const std::vector<const QuantType *> &allowed) {
  size_t quantized = 0;
  bool has_256 = false;
  for (auto *t : allowed) {
    if (t->is_quantized()) ++quantized;
    if (t->block_size == 256) has_256 = true;
  }
  if (allowed.size() == all_quant_types().size()) return "all";
  if (quantized == 0) return "float only";
  if (!has_256) return "32-blocks only";
  return std::to_string(allowed.size()) + " types";
}

void run_inspect(const std::string &path, bool json) {
  const auto model = ModelSource::open(path);
  if (json) {
    std::printf("%s\n", model_summary_json(*model, path).dump(2).c_str());
    return;
  }
  int64_t total_params = 0;
  uint64_t total_bytes = 0;
  for (const auto &t : model->tensors()) {
    total_params += t.n_elements();
    total_bytes += t.stored_bytes;
  }
  const ModelConfig &c = model->config();
  std::printf("model:        %s (%s)\n", path.c_str(), model->kind() == ModelSource::Kind::Gguf ? "GGUF" : "safetensors");
  std::printf("architecture: %s (GGUF: %s)\n", c.architecture.c_str(), model->architecture().gguf_arch);
  std::printf("layers %lld, hidden %lld, heads %lld (kv %lld, dim %lld), ffn %lld, vocab %lld, context %lld\n",
              ll(c.num_hidden_layers), ll(c.hidden_size), ll(c.num_attention_heads), ll(c.num_key_value_heads),
              ll(c.head_dim), ll(c.intermediate_size), ll(c.vocab_size), ll(c.max_position_embeddings));
  std::printf("rms_norm_eps %g, rope theta %g, rope scaling %s, %s embeddings%s%s\n", c.rms_norm_eps, c.rope_theta,
              c.rope_scaling.type_name.c_str(), c.tie_word_embeddings ? "tied" : "untied", c.dtype.empty() ? "" : ", dtype ",
              c.dtype.c_str());
  if (c.is_moe()) {
    std::printf("experts %lld, %lld used per token, expert ffn %lld\n", ll(c.num_experts), ll(c.num_experts_per_tok),
                ll(expert_feed_forward_length(c)));
  }
  std::printf("parameters %lld, stored %s\n\n", static_cast<long long>(total_params), format_bytes(total_bytes).c_str());
  std::printf("%-34s %-22s %-6s %12s %12s  %s\n", "TENSOR", "SHAPE", "DTYPE", "PARAMS", "BYTES", "QUANT TYPES");
  for (const auto &t : model->tensors()) {
    std::printf("%-34s %-22s %-6s %12lld %12llu  %s\n", t.name.c_str(), shape_string(t.shape).c_str(),
                t.stored_dtype.c_str(), static_cast<long long>(t.n_elements()),
                static_cast<unsigned long long>(t.stored_bytes),
                allowed_summary(allowed_quant_types(t.name, t.shape)).c_str());
  }
}

const CommandRegistration registration{20, [](CLI::App &app) {
  auto *cmd = app.add_subcommand("inspect", "Show a model's configuration and tensor table (an HF directory with "
                                            "config.json + safetensors, or a GGUF file)");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("model", *path, "Model directory or .gguf file")->required();
  cmd->add_flag("--json", *json, "Print JSON instead of tables");
  cmd->callback([path, json] { run_inspect(*path, *json); });
}};

}  // namespace
}  // namespace qs::cli::inspect_command
