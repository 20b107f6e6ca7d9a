// `quantscope quantize <model> (--type T | --strategy s.yaml) [--imatrix F] -o out.gguf`: the whole model to
// one type or each tensor to its strategy's type, llama.cpp conventions (norms and 1-D tensors F32; rows that do not fit a type fall back, and
// each fallback is reported).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "convert/gguf_export.h"
#include "convert/model_metadata.h"
#include "convert/quant_plan.h"
#include "convert/stock_presets.h"
#include "core/error.h"
#include "core/output_path.h"
#include "core/progress.h"
#include "formats/imatrix.h"
#include "model/model_source.h"
#include "strategy/strategy_file.h"

namespace qs::cli {
namespace {

struct Options {
  std::string model;
  std::string type;
  std::string strategy;
  std::string preset;
  std::string imatrix;
  std::string output;
  std::vector<std::string> tensor_types;
  int threads = 0;
  bool json = false;
};

void run_quantize(const Options &options) {
  if ((options.type.empty() ? 0 : 1) + (options.strategy.empty() ? 0 : 1) + (options.preset.empty() ? 0 : 1) != 1)
    fail("give exactly one of --type T (every tensor in T), --preset P (llama.cpp's mix P) and --strategy FILE "
         "(a type per tensor)");
  const StockPreset *preset = nullptr;
  if (!options.preset.empty()) {
    preset = find_stock_preset(options.preset);
    if (!preset) {
      std::string names;
      for (const auto &p : all_stock_presets()) names += cat(names.empty() ? "" : ", ", p.name);
      fail("--preset: unknown preset '", options.preset, "' (", names, ")");
    }
  }
  refuse_output_over_inputs(options.output, "-o", {options.model, options.imatrix, options.strategy});
  const auto model = ModelSource::open(options.model);
  std::optional<Imatrix> imatrix;
  if (!options.imatrix.empty()) imatrix = read_imatrix(options.imatrix);

  QuantPlan plan;
  if (!options.strategy.empty()) {
    if (!options.tensor_types.empty()) fail("--tensor-type changes a --type plan; edit the strategy instead");
    plan = strategy_plan(*model, read_strategy(options.strategy), options.strategy);
  } else if (preset) {
    if (!options.tensor_types.empty()) fail("--tensor-type changes a --type plan, not a preset");
    plan = stock_preset_plan(*model, *preset, imatrix.has_value());
    if (!imatrix && stock_plan_requires_imatrix(*preset, plan))
      fail("llama-quantize refuses ", preset->name, " without an importance matrix: pass --imatrix (see `quantscope imatrix`)");
  } else {
    plan = uniform_plan(*model, quant_type_by_name(options.type).id);
    std::vector<TensorTypeOverride> overrides;
    for (const auto &text : options.tensor_types) overrides.push_back(parse_tensor_type_override(text));
    apply_tensor_type_overrides(plan, *model, overrides);
  }
  for (const auto &t : plan.tensors) {
    const QuantType &planned = quant_type(t.type);
    if (planned.needs_imatrix && !imatrix)
      fail(planned.name, " (", t.name, ") needs an importance matrix: pass --imatrix (see `quantscope imatrix`)");
  }
  for (const auto &t : plan.tensors) {
    if (t.fell_back && !options.json) {
      std::fprintf(stderr, "fallback: %s: row length does not fit %s, using %s\n", t.name.c_str(),
                   quant_type(t.requested).name, quant_type(t.type).name);
    }
  }
  const QuantType &type = quant_type(dominant_type(*model, plan));
  ExportOptions export_options;
  // A preset's file says which mix it is, as llama-quantize writes it.
  export_options.metadata = preset ? gguf_model_metadata_with_file_type(*model, static_cast<uint32_t>(preset->ftype))
                                   : gguf_model_metadata(*model, type.id);
  export_options.imatrix = imatrix ? &*imatrix : nullptr;
  export_options.n_threads = options.threads;
  ProgressBar bar(!options.json);
  export_options.progress = &bar;
  const ExportReport report = export_gguf(*model, plan, export_options, options.output);
  const double bpw = 8.0 * static_cast<double>(report.bytes) / static_cast<double>(report.params);
  if (options.json) {
    nlohmann::json fallbacks = nlohmann::json::array();
    for (const auto &t : plan.tensors) {
      if (t.fell_back) fallbacks.push_back({{"tensor", t.name}, {"requested", quant_type(t.requested).name}, {"used", quant_type(t.type).name}});
    }
    const nlohmann::json out = {{"output", options.output}, {"type", type.name}, {"bytes", report.bytes},
                                {"params", report.params}, {"bpw", bpw}, {"fallbacks", fallbacks}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("wrote %s: %s of tensor data, %.4f bits per weight, %d fallback%s\n", options.output.c_str(),
                format_bytes(report.bytes).c_str(), bpw, report.n_fallbacks, report.n_fallbacks == 1 ? "" : "s");
  }
}

const CommandRegistration registration{30, [](CLI::App &app) {
  auto *cmd = app.add_subcommand("quantize", "Write a GGUF with every quantizable tensor in one type, or each in "
                                             "its strategy's type (norms and 1-D tensors stay F32; rows that do not "
                                             "fit a --type fall back as in llama.cpp)");
  auto options = std::make_shared<Options>();
  cmd->add_option("model", options->model, "Model directory or .gguf file")->required();
  cmd->add_option("--type,-t", options->type, "Target type: F32, F16, BF16, Q8_0, Q4_K, IQ4_XS, ... (see `quantscope types`)");
  cmd->add_option("--preset", options->preset, "llama.cpp's stock mix, tensor by tensor as llama-quantize makes it: "
                                               "Q8_0, Q6_K, Q5_K_M, Q5_K_S, Q4_K_M, Q4_K_S, Q3_K_L, Q3_K_M, Q3_K_S, "
                                               "Q2_K, Q2_K_S, IQ4_XS, IQ4_NL, IQ3_M, IQ3_S, IQ3_XS, IQ3_XXS, IQ2_M, ...");
  cmd->add_option("--strategy", options->strategy, "A strategy file (`quantscope strategy -o s.yaml`): each tensor "
                                                   "in its own type; must have been made for this model");
  cmd->add_option("--imatrix", options->imatrix, "Importance matrix (llama.cpp GGUF or legacy .dat)");
  cmd->add_option("--tensor-type", options->tensor_types,
                  "PATTERN=TYPE: quantizable tensors whose name matches the regex get TYPE (as llama-quantize "
                  "--tensor-type; repeatable, the first match wins)");
  cmd->add_option("-o,--output", options->output, "Output .gguf path")->required();
  cmd->add_option("--threads", options->threads, "Worker threads (default: all cores)");
  cmd->add_flag("--json", options->json, "Print the result as JSON");
  cmd->callback([options] { run_quantize(*options); });
}};

}  // namespace
}  // namespace qs::cli
