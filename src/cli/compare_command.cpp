// `quantscope compare <model> --text F [--strategy s.yaml ...] [--presets Q8_0,Q6_K,Q4_K_M] [--gguf f.gguf ...]
// [--imatrix F] [--out-dir D] [--report r.html]`: every candidate built, its perplexity and KLD against
// the unquantized model on held-out text, a table, and a self-contained HTML report with charts.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "core/error.h"
#include "core/output_path.h"
#include "core/progress.h"
#include "strategy/strategy_file.h"
#include "verify/compare.h"
#include "verify/compare_report.h"
#include "verify/strategy_pareto.h"

namespace qs::cli::compare_command {
namespace {

struct Options {
  CompareRequest request;
  std::vector<std::string> strategies, ggufs;
  std::string report;
  bool json = false;
};

void print_table(const CompareResult &r) {
  std::printf("\nreference %s: PPL %.4f ± %.4f on %s (%lld scored tokens)\n\n", r.model.c_str(), r.base_ppl.value,
              r.base_ppl.error, r.text.string().c_str(), static_cast<long long>(r.n_scored));
  std::printf("%-22s %-8s %12s %7s %19s %21s %9s %9s %12s\n", "name", "kind", "file bytes", "bpw", "PPL", "KLD mean",
              "KLD p99", "same top", "predicted");
  for (const CompareRow &row : r.rows) {
    std::printf("%-22s %-8s %12llu %7.4f %9.4f ± %7.4f %10.6f ± %8.6f %9.5f %8.2f%% %12s\n", row.name.c_str(),
                compare_kind_name(row.kind), static_cast<unsigned long long>(row.file_bytes), row.bpw, row.ppl.value,
                row.ppl.error, row.kld.value, row.kld.error, row.kld_p99, 100.0 * row.same_top.value,
                row.predicted ? cat(std::scientific, *row.predicted).c_str() : "-");
  }
}

void run_compare_command(Options o) {
  for (const auto &s : o.strategies) o.request.strategies.emplace_back(s);
  for (const auto &g : o.ggufs) o.request.ggufs.emplace_back(g);
  if (o.request.out_dir.empty()) o.request.out_dir = "compare-out";
  // The Pareto curve drawn through the report's chart is the first strategy's, rebuilt from its own
  // measurements before the slow part, so a moved database fails now and not after the builds.
  std::vector<ParetoPoint> pareto;
  if (!o.report.empty()) {
    refuse_output_over_inputs(o.report, "--report", compare_inputs(o.request));
    if (!o.request.strategies.empty()) pareto = measured_pareto_of(read_strategy(o.request.strategies.front()));
  }
  ProgressBar bar(!o.json);
  const CompareResult result = run_compare(o.request, &bar);
  if (!o.report.empty()) write_compare_report(result, pareto, o.report);
  if (o.json) {
    nlohmann::ordered_json j = compare_result_json(result);
    if (!o.report.empty()) j["report"] = o.report;
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  print_table(result);
  if (!o.report.empty()) std::printf("\nwrote %s\n", o.report.c_str());
}

const CommandRegistration registration{55, [](CLI::App &app) {
  auto *cmd = app.add_subcommand(
      "compare", "Build llama.cpp's stock mixes and your strategies (or take GGUFs), measure each one's perplexity and "
                 "KLD against the unquantized model on held-out text, and write a table and an HTML report");
  auto o = std::make_shared<Options>();
  CompareRequest &r = o->request;
  cmd->add_option("model", r.model, "The unquantized model: HF directory or F16/BF16/F32 GGUF")->required();
  cmd->add_option("--text", r.text, "Held-out text the KLD is measured on (not the calibration text)")->required();
  cmd->add_option("--presets", r.presets, "llama.cpp mixes to build, comma separated (Q8_0,Q6_K,Q4_K_M,...)")
      ->delimiter(',');
  cmd->add_option("--strategy", o->strategies, "A strategy file made for this model (repeatable)");
  cmd->add_option("--gguf", o->ggufs, "A quantized GGUF of this model to take as it is (repeatable)");
  cmd->add_option("--imatrix", r.imatrix, "Importance matrix for the builds (the presets' IQ types need one)");
  cmd->add_option("--out-dir", r.out_dir, "Where the built GGUFs and the reference log-probs go (default: compare-out)");
  cmd->add_option("--report", o->report, "Write the self-contained HTML report here");
  cmd->add_option("--ctx", r.n_ctx, "Tokens per chunk")->capture_default_str();
  cmd->add_option("--chunks", r.max_chunks, "Chunks of the text (-1: all)")->capture_default_str();
  cmd->add_option("--threads", r.n_threads, "Worker threads (default: all cores)");
  cmd->add_flag("--json", o->json, "Print the table as JSON");
  cmd->callback([o] { run_compare_command(*o); });
}};

}  // namespace
}  // namespace qs::cli::compare_command
