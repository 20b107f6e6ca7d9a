// The quantize request: validation, its job params, and the plan it asks for.
#include "convert/quantize_request.h"

#include "convert/model_metadata.h"
#include "core/error.h"
#include "core/output_path.h"
#include "jobs/job_json.h"
#include "strategy/strategy_file.h"

namespace qs {

nlohmann::json QuantizeRequest::to_json() const {
  return {{"model", model},     {"type", type},       {"preset", preset}, {"strategy", strategy},
          {"tensor_types", tensor_types}, {"imatrix", imatrix}, {"output", output}};
}

QuantizeRequest QuantizeRequest::from_json(const nlohmann::json &params) {
  QuantizeRequest r;
  r.model = job_param<std::string>(params, "quantize", "model");
  r.type = job_param<std::string>(params, "quantize", "type");
  r.preset = job_param<std::string>(params, "quantize", "preset");
  r.strategy = job_param<std::string>(params, "quantize", "strategy");
  r.tensor_types = job_param<std::vector<std::string>>(params, "quantize", "tensor_types");
  r.imatrix = job_param<std::string>(params, "quantize", "imatrix");
  r.output = job_param<std::string>(params, "quantize", "output");
  return r;
}

namespace {

std::string absolute_path(const std::string &path) {
  return path.empty() ? path : std::filesystem::absolute(path).lexically_normal().string();
}

std::string preset_names() {
  std::string names;
  for (const auto &p : all_stock_presets()) names += cat(names.empty() ? "" : ", ", p.name);
  return names;
}

}  // namespace

void QuantizeRequest::validate_and_resolve() {
  if ((type.empty() ? 0 : 1) + (strategy.empty() ? 0 : 1) + (preset.empty() ? 0 : 1) != 1)
    fail("give exactly one of --type T (every tensor in T), --preset P (llama.cpp's mix P) and --strategy FILE "
         "(a type per tensor)");
  if (!preset.empty() && !find_stock_preset(preset))
    fail("--preset: unknown preset '", preset, "' (", preset_names(), ")");
  if (!type.empty()) quant_type_by_name(type);  // throws naming the unknown type
  if (!tensor_types.empty() && !strategy.empty()) fail("--tensor-type changes a --type plan; edit the strategy instead");
  if (!tensor_types.empty() && !preset.empty()) fail("--tensor-type changes a --type plan, not a preset");
  if (output.empty()) fail("-o: no output path");
  refuse_output_over_inputs(output, "-o", {model, imatrix, strategy});
  for (std::string *path : {&strategy, &imatrix, &output}) *path = absolute_path(*path);
  if (std::filesystem::exists(model)) model = absolute_path(model);
}

QuantizeSetup prepare_quantize(const QuantizeRequest &request) {
  QuantizeSetup setup;
  setup.model = ModelSource::open(request.model);
  const ModelSource &model = *setup.model;
  if (!request.imatrix.empty()) setup.imatrix = read_imatrix(request.imatrix);
  const bool has_imatrix = setup.imatrix.has_value();
  if (!request.strategy.empty()) {
    setup.plan = strategy_plan(model, read_strategy(request.strategy), request.strategy);
  } else if (!request.preset.empty()) {
    setup.preset = find_stock_preset(request.preset);
    if (!setup.preset) fail("--preset: unknown preset '", request.preset, "' (", preset_names(), ")");
    setup.plan = stock_preset_plan(model, *setup.preset, has_imatrix);
    if (!has_imatrix && stock_plan_requires_imatrix(*setup.preset, setup.plan))
      fail("llama-quantize refuses ", setup.preset->name,
           " without an importance matrix: pass --imatrix (see `quantscope imatrix`)");
  } else {
    setup.plan = uniform_plan(model, quant_type_by_name(request.type).id);
    std::vector<TensorTypeOverride> overrides;
    for (const auto &text : request.tensor_types) overrides.push_back(parse_tensor_type_override(text));
    apply_tensor_type_overrides(setup.plan, model, overrides);
  }
  for (const auto &t : setup.plan.tensors) {
    const QuantType &planned = quant_type(t.type);
    if (planned.needs_imatrix && !has_imatrix)
      fail(planned.name, " (", t.name, ") needs an importance matrix: pass --imatrix (see `quantscope imatrix`)");
  }
  setup.dominant_type = dominant_type(model, setup.plan);
  // A preset's file says which mix it is, as llama-quantize writes it.
  setup.metadata = setup.preset
                       ? gguf_model_metadata_with_file_type(model, static_cast<uint32_t>(setup.preset->ftype))
                       : gguf_model_metadata(model, setup.dominant_type);
  return setup;
}

}  // namespace qs
