// The JSON of `inspect --json` and /api/models/inspect.
#include "model/model_summary_json.h"

#include "model/quantizable_tensors.h"

namespace qs {

nlohmann::json model_config_json(const ModelSource &model) {
  const ModelConfig &c = model.config();
  nlohmann::json j = {{"architecture", c.architecture},
                      {"model_type", c.model_type},
                      {"hidden_size", c.hidden_size},
                      {"num_hidden_layers", c.num_hidden_layers},
                      {"num_attention_heads", c.num_attention_heads},
                      {"num_key_value_heads", c.num_key_value_heads},
                      {"head_dim", c.head_dim},
                      {"intermediate_size", c.intermediate_size},
                      {"vocab_size", c.vocab_size},
                      {"max_position_embeddings", c.max_position_embeddings},
                      {"rms_norm_eps", c.rms_norm_eps},
                      {"rope_theta", c.rope_theta},
                      {"rope_scaling", c.rope_scaling.type_name},
                      {"tie_word_embeddings", c.tie_word_embeddings},
                      {"dtype", c.dtype}};
  if (c.is_moe()) {
    j["num_experts"] = c.num_experts;
    j["num_experts_per_tok"] = c.num_experts_per_tok;
    j["expert_feed_forward_length"] = expert_feed_forward_length(c);
    j["norm_topk_prob"] = c.norm_topk_prob;
  }
  return j;
}

nlohmann::json model_summary_json(const ModelSource &model, const std::string &path) {
  int64_t total_params = 0;
  uint64_t total_bytes = 0;
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto &t : model.tensors()) {
    total_params += t.n_elements();
    total_bytes += t.stored_bytes;
    nlohmann::json allowed = nlohmann::json::array();
    for (auto *q : allowed_quant_types(t.name, t.shape)) allowed.push_back(q->name);
    tensors.push_back({{"name", t.name},
                       {"hf_names", t.hf_names},
                       {"shape", t.shape},
                       {"dtype", t.stored_dtype},
                       {"params", t.n_elements()},
                       {"bytes", t.stored_bytes},
                       {"quantizable", tensor_allows_quantization(t.name, t.shape)},
                       {"allowed_types", allowed}});
  }
  return {{"path", path},
          {"format", model.kind() == ModelSource::Kind::Gguf ? "gguf" : "safetensors"},
          {"architecture", model.architecture().gguf_arch},
          {"config", model_config_json(model)},
          {"params", total_params},
          {"bytes", total_bytes},
          {"tensors", tensors}};
}

}  // namespace qs
