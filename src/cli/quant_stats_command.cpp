// `quantscope quant-stats <model> --type T[,T...] [--imatrix F] [--json]`: like llama.cpp's
// quantize-stats, the weight-space error of every quantizable tensor for each type, and totals.
#include <cstdio>
#include <regex>

#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "core/error.h"
#include "core/progress.h"
#include "formats/imatrix.h"
#include "measure/proxy_metrics.h"
#include "model/model_source.h"
#include "model/quantizable_tensors.h"

namespace qs::cli::quant_stats_command {
namespace {

struct Options {
  std::string model;
  std::vector<std::string> types;
  std::string imatrix;
  std::string tensor_regex;
  bool json = false;
  int threads = 0;
};

struct Row {
  std::string tensor;
  const QuantType *type;
  ProxyMetrics metrics;
};

nlohmann::json metrics_json(const ProxyMetrics &m, bool with_imatrix) {
  nlohmann::json j = {{"rmse", m.rmse}, {"max_abs_error", m.max_abs_error}, {"relative_mse", m.relative_mse},
                      {"n_values", m.n_values}};
  if (with_imatrix) j["weighted_relative_mse"] = m.weighted_relative_mse;
  return j;
}

void print_quant_stats(const std::vector<Row> &rows, const std::vector<const QuantType *> &types,
                       const std::vector<ProxyAccumulator> &totals, bool with_imatrix, bool json) {
  if (json) {
    nlohmann::json out = {{"tensors", nlohmann::json::array()}, {"totals", nlohmann::json::array()}};
    for (const auto &r : rows) {
      auto j = metrics_json(r.metrics, with_imatrix);
      j["tensor"] = r.tensor;
      j["type"] = r.type->name;
      j["bpw"] = r.type->bits_per_weight();
      out["tensors"].push_back(j);
    }
    for (size_t k = 0; k < types.size(); ++k) {
      auto j = metrics_json(totals[k].result(), with_imatrix);
      j["type"] = types[k]->name;
      j["bpw"] = types[k]->bits_per_weight();
      out["totals"].push_back(j);
    }
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%-34s %-8s %7s %12s %12s %12s%s\n", "TENSOR", "TYPE", "BPW", "RMSE", "MAX-ERR", "REL-MSE",
              with_imatrix ? "     W-REL-MSE" : "");
  auto print_row = [&](const std::string &name, const QuantType &type, const ProxyMetrics &m) {
    std::printf("%-34s %-8s %7.4f %12.6g %12.6g %12.6g", name.c_str(), type.name, type.bits_per_weight(), m.rmse,
                m.max_abs_error, m.relative_mse);
    if (with_imatrix) std::printf(" %13.6g", m.weighted_relative_mse);
    std::printf("\n");
  };
  for (const auto &r : rows) print_row(r.tensor, *r.type, r.metrics);
  for (size_t k = 0; k < types.size(); ++k) print_row("TOTAL", *types[k], totals[k].result());
}

void run_quant_stats(const Options &options) {
  const auto model = ModelSource::open(options.model);
  std::vector<const QuantType *> types;
  for (const auto &name : options.types) types.push_back(&quant_type_by_name(name));
  std::optional<Imatrix> imatrix;
  if (!options.imatrix.empty()) imatrix = read_imatrix(options.imatrix);
  for (auto *t : types) {
    if (t->needs_imatrix && !imatrix) fail(t->name, " needs an importance matrix: pass --imatrix");
  }
  std::optional<std::regex> filter;
  if (!options.tensor_regex.empty()) {
    try {
      filter.emplace(options.tensor_regex);
    } catch (const std::regex_error &e) {
      fail("--tensors: bad regular expression '", options.tensor_regex, "': ", e.what());
    }
  }
  std::vector<const SourceTensor *> tensors;
  for (const auto &t : model->tensors()) {
    if (!tensor_allows_quantization(t.name, t.shape)) continue;
    if (filter && !std::regex_search(t.name, *filter)) continue;
    tensors.push_back(&t);
  }
  ProgressBar bar(!options.json);
  bar.begin("quant-stats", static_cast<int64_t>(tensors.size() * types.size()));
  std::vector<Row> rows;
  std::vector<ProxyAccumulator> totals(types.size());
  int64_t done = 0;
  for (const auto *t : tensors) {
    const auto values = model->read_f32(*t);
    const int64_t n_cols = t->row_length();
    const int64_t n_rows = t->shape.size() >= 2 ? t->shape[1] : 1;
    const int64_t n_matrices = t->n_elements() / (n_cols * n_rows);
    std::vector<std::vector<float>> importance;
    if (imatrix && imatrix->find(t->name)) {
      for (int64_t m = 0; m < n_matrices; ++m) importance.push_back(imatrix->importance(t->name, n_cols, m));
    }
    for (size_t k = 0; k < types.size(); ++k) {
      const QuantType &type = *types[k];
      bar.advance(++done);
      if (n_cols % type.block_size != 0) continue;  // as quantize-stats: incompatible rows are skipped
      if (type.needs_imatrix && importance.empty()) continue;
      const ProxyAccumulator acc =
          measure_quantization_error(type, values, n_matrices, n_rows, n_cols, importance, options.threads);
      rows.push_back({t->name, &type, acc.result()});
      totals[k].merge(acc);
    }
  }
  bar.end();
  print_quant_stats(rows, types, totals, imatrix.has_value(), options.json);
}

const CommandRegistration registration{40, [](CLI::App &app) {
  auto *cmd = app.add_subcommand("quant-stats", "Weight-space error of every quantizable tensor for each type "
                                                "(RMSE, max error, relative MSE, imatrix-weighted MSE), like "
                                                "llama.cpp's quantize-stats");
  auto options = std::make_shared<Options>();
  cmd->add_option("model", options->model, "Model directory or .gguf file")->required();
  cmd->add_option("--type,-t", options->types, "Quant types, comma separated (e.g. Q4_K,Q6_K)")
      ->required()->delimiter(',');
  cmd->add_option("--imatrix", options->imatrix, "Importance matrix (llama.cpp GGUF or legacy .dat)");
  cmd->add_option("--tensors", options->tensor_regex, "Only tensors whose GGUF name matches this regex");
  cmd->add_option("--threads", options->threads, "Worker threads (default: all cores)");
  cmd->add_flag("--json", options->json, "Print JSON instead of a table");
  cmd->callback([options] { run_quant_stats(*options); });
}};

}  // namespace
}  // namespace qs::cli::quant_stats_command
