// Building the candidates of a comparison and measuring each against the unquantized model.
#include "verify/compare.h"

#include <set>

#include "convert/gguf_export.h"
#include "convert/model_metadata.h"
#include "convert/quant_plan.h"
#include "convert/stock_presets.h"
#include "core/error.h"
#include "core/output_path.h"
#include "core/progress.h"
#include "formats/gguf.h"
#include "formats/imatrix.h"
#include "infer/perplexity_run.h"
#include "model/model_source.h"
#include "strategy/strategy_file.h"

namespace qs {

const char *compare_kind_name(CompareKind kind) {
  switch (kind) {
    case CompareKind::preset: return "preset";
    case CompareKind::strategy: return "strategy";
    case CompareKind::gguf: return "gguf";
  }
  return "unknown";
}

namespace {

// One candidate to build (presets, strategies) or take as it is (GGUFs).
struct CompareCandidate {
  CompareRow row;
  std::optional<QuantPlan> plan;
  std::vector<gguf::KeyValue> metadata;
};

void check_imatrix_for(const QuantPlan &plan, const Imatrix *imatrix, const std::string &what) {
  if (imatrix) return;
  for (const auto &t : plan.tensors)
    if (quant_type(t.type).needs_imatrix)
      fail(what, " puts ", t.name, " in ", quant_type(t.type).name, ", which needs an importance matrix: pass --imatrix");
}

// A name for the output file that no other candidate has.
std::string unique_name(std::string name, std::set<std::string> &taken) {
  std::string candidate = name;
  for (int i = 2; taken.count(candidate); ++i) candidate = cat(name, "-", i);
  taken.insert(candidate);
  return candidate;
}

std::vector<CompareCandidate> plan_candidates(const CompareRequest &request, const ModelSource &model, const Imatrix *imatrix) {
  std::vector<CompareCandidate> out;
  std::set<std::string> taken{"base"};
  for (const auto &name : request.presets) {
    const StockPreset *preset = find_stock_preset(name);
    if (!preset) fail("--presets: unknown preset '", name, "'");
    CompareCandidate c;
    c.row.name = unique_name(preset->name, taken);
    c.row.kind = CompareKind::preset;
    c.plan = stock_preset_plan(model, *preset, imatrix != nullptr);
    if (!imatrix && stock_plan_requires_imatrix(*preset, *c.plan))
      fail("llama-quantize refuses ", preset->name, " without an importance matrix: pass --imatrix");
    c.metadata = gguf_model_metadata_with_file_type(model, static_cast<uint32_t>(preset->ftype));
    out.push_back(std::move(c));
  }
  for (const auto &path : request.strategies) {
    CompareCandidate c;
    c.row.name = unique_name(path.stem().string(), taken);
    c.row.kind = CompareKind::strategy;
    Strategy strategy = read_strategy(path);
    c.plan = strategy_plan(model, strategy, path.string());
    check_imatrix_for(*c.plan, imatrix, path.string());
    c.metadata = gguf_model_metadata(model, dominant_type(model, *c.plan));
    c.row.predicted = strategy.totals.predicted;
    c.row.predicted_metric = strategy.objective.metric;
    c.row.strategy = std::move(strategy);
    out.push_back(std::move(c));
  }
  for (const auto &path : request.ggufs) {
    if (!std::filesystem::is_regular_file(path)) fail("--gguf: ", path.string(), " is not a file");
    CompareCandidate c;
    c.row.name = unique_name(path.filename().string(), taken);
    c.row.kind = CompareKind::gguf;
    c.row.gguf = path;
    out.push_back(std::move(c));
  }
  if (out.empty()) fail("nothing to compare: give --presets, --strategy or --gguf");
  return out;
}

// Tensor bytes and parameters of a written GGUF, every tensor counted (as llama.cpp's bpw).
void size_from_file(CompareRow &row) {
  const auto file = gguf::GgufFile::open(row.gguf);
  row.tensor_bytes = 0;
  row.params = 0;
  for (const auto &t : file.tensors()) {
    row.tensor_bytes += t.n_bytes;
    row.params += t.n_elements();
  }
  row.file_bytes = std::filesystem::file_size(row.gguf);
  row.bpw = row.params ? 8.0 * static_cast<double>(row.tensor_bytes) / static_cast<double>(row.params) : 0;
}

}  // namespace

std::vector<std::filesystem::path> compare_inputs(const CompareRequest &request) {
  std::vector<std::filesystem::path> inputs{request.model, request.text, request.imatrix};
  inputs.insert(inputs.end(), request.strategies.begin(), request.strategies.end());
  inputs.insert(inputs.end(), request.ggufs.begin(), request.ggufs.end());
  return inputs;
}

CompareResult run_compare(const CompareRequest &request, ProgressSink *progress) {
  if (request.text.empty()) fail("--text: the held-out text the KLD is measured on is required");
  if (!std::filesystem::is_regular_file(request.text)) fail("--text: ", request.text.string(), " is not a file");
  if (request.out_dir.empty()) fail("--out-dir is required");
  refuse_output_over_inputs(request.out_dir, "--out-dir", compare_inputs(request));

  // Everything is checked before the first slow step.
  const auto model = ModelSource::open(request.model);
  std::optional<Imatrix> imatrix;
  if (!request.imatrix.empty()) imatrix = read_imatrix(request.imatrix);
  std::vector<CompareCandidate> candidates = plan_candidates(request, *model, imatrix ? &*imatrix : nullptr);
  std::error_code ec;
  std::filesystem::create_directories(request.out_dir, ec);
  if (ec) fail("--out-dir ", request.out_dir.string(), ": cannot create: ", ec.message());

  CompareResult result;
  result.model = request.model;
  result.text = request.text;
  result.base_log_probs = request.out_dir / "base.logprobs";
  PerplexityRequest base;
  base.model = request.model;
  base.text = request.text;
  base.n_ctx = request.n_ctx;
  base.max_chunks = request.max_chunks;
  base.n_threads = request.n_threads;
  base.save_log_probs = result.base_log_probs;
  const PerplexityReport base_report = run_perplexity(base, progress);
  result.base_ppl = base_report.result.ppl;
  result.n_scored = base_report.result.n_scored;

  for (CompareCandidate &c : candidates) {
    if (c.plan) {
      c.row.gguf = request.out_dir / (c.row.name + ".gguf");
      ExportOptions options;
      options.metadata = c.metadata;
      options.imatrix = imatrix ? &*imatrix : nullptr;
      options.n_threads = request.n_threads;
      options.progress = progress;
      export_gguf(*model, *c.plan, options, c.row.gguf);
    }
    size_from_file(c.row);
    PerplexityRequest eval;
    eval.model = c.row.gguf;
    eval.kl_base = result.base_log_probs;
    eval.n_threads = request.n_threads;
    const PerplexityReport report = run_perplexity(eval, progress);
    const KldStatistics &k = *report.result.kld;
    c.row.ppl = report.result.ppl;
    c.row.kld = k.kld;
    c.row.kld_p99 = k.kld_quantiles.p99;
    c.row.same_top = k.same_top;
    result.rows.push_back(std::move(c.row));
  }
  return result;
}

namespace {

nlohmann::ordered_json estimate_json(const Estimate &e) { return {{"value", e.value}, {"error", e.error}}; }

}  // namespace

nlohmann::ordered_json compare_result_json(const CompareResult &r) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const CompareRow &row : r.rows) {
    rows.push_back({{"name", row.name},
                    {"kind", compare_kind_name(row.kind)},
                    {"gguf", row.gguf.string()},
                    {"file_bytes", row.file_bytes},
                    {"tensor_bytes", row.tensor_bytes},
                    {"params", row.params},
                    {"bpw", row.bpw},
                    {"ppl", estimate_json(row.ppl)},
                    {"kld", estimate_json(row.kld)},
                    {"kld_p99", row.kld_p99},
                    {"same_top", estimate_json(row.same_top)},
                    {"predicted", row.predicted ? nlohmann::ordered_json(*row.predicted) : nlohmann::ordered_json()},
                    {"predicted_metric", row.predicted_metric}});
  }
  nlohmann::ordered_json j = {{"model", r.model},
                              {"text", r.text.string()},
                              {"scored_tokens", r.n_scored},
                              {"base_ppl", estimate_json(r.base_ppl)},
                              {"rows", rows}};
  return j;
}

}  // namespace qs
