// `quantscope perplexity <model|gguf> --text F`: llama-perplexity's PPL (and, with --kl-base, its
// KL-divergence report) on our forward pass. Parses flags, calls run_perplexity, prints.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "cli/device_options.h"
#include "core/output_path.h"
#include "core/progress.h"
#include "infer/perplexity_run.h"

namespace qs::cli::perplexity_command {
namespace {

nlohmann::json estimate_json(const Estimate &e) { return {{"value", e.value}, {"error", e.error}}; }

nlohmann::json quantiles_json(const Quantiles &q) {
  return {{"max", q.max}, {"p99.9", q.p99_9}, {"p99", q.p99}, {"p95", q.p95}, {"p90", q.p90}, {"p75", q.p75},
          {"median", q.median}, {"p25", q.p25}, {"p10", q.p10}, {"p5", q.p5}, {"p1", q.p1}, {"p0.1", q.p0_1},
          {"min", q.min}};
}

nlohmann::json report_json(const PerplexityReport &report) {
  const PerplexityResult &r = report.result;
  nlohmann::json out = {{"model", report.model},
                        {"architecture", report.architecture},
                        {"n_ctx", r.n_ctx},
                        {"n_chunks", r.n_chunks},
                        {"n_tokens", r.n_tokens_in_text},
                        {"n_scored", r.n_scored},
                        {"ppl", r.ppl.value},
                        {"ppl_error", r.ppl.error},
                        {"mean_nll", r.mean_nll},
                        {"chunk_running_ppl", r.running_ppl},
                        {"threads", report.n_threads},
                        {"device", report.device},
                        {"load_seconds", report.load_seconds},
                        {"seconds", r.seconds},
                        {"tokens_per_second", r.tokens_per_second}};
  if (r.kld) {
    const KldStatistics &k = *r.kld;
    out["kld"] = {{"count", k.count},
                  {"ppl", estimate_json(k.ppl)},
                  {"base_ppl", estimate_json(k.base_ppl)},
                  {"ln_ppl_correlation", k.log_ppl_correlation},
                  {"ln_ppl_ratio", estimate_json(k.ln_ppl_ratio)},
                  {"ppl_ratio", estimate_json(k.ppl_ratio)},
                  {"ppl_diff", estimate_json(k.ppl_diff)},
                  {"mean", estimate_json(k.kld)},
                  {"quantiles", quantiles_json(k.kld_quantiles)},
                  {"delta_p", estimate_json(k.p_diff)},
                  {"delta_p_quantiles", quantiles_json(k.p_diff_quantiles)},
                  {"rms_delta_p", estimate_json(k.rms_p_diff)},
                  {"same_top", estimate_json(k.same_top)}};
  }
  return out;
}

void print_kld(const KldStatistics &k) {
  std::printf("\n====== Perplexity statistics ======\n");
  std::printf("Mean PPL(Q)                   : %10.6f ± %10.6f\n", k.ppl.value, k.ppl.error);
  std::printf("Mean PPL(base)                : %10.6f ± %10.6f\n", k.base_ppl.value, k.base_ppl.error);
  std::printf("Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100.0 * k.log_ppl_correlation);
  std::printf("Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", k.ln_ppl_ratio.value, k.ln_ppl_ratio.error);
  std::printf("Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", k.ppl_ratio.value, k.ppl_ratio.error);
  std::printf("Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n", k.ppl_diff.value, k.ppl_diff.error);
  std::printf("\n====== KL divergence statistics ======\n");
  std::printf("Mean    KLD: %10.6f ± %10.6f\n", k.kld.value, k.kld.error);
  const Quantiles &q = k.kld_quantiles;
  const std::pair<const char *, double> kld_rows[] = {{"Maximum", q.max}, {"99.9%  ", q.p99_9}, {"99.0%  ", q.p99},
                                                      {"95.0%  ", q.p95}, {"90.0%  ", q.p90},   {"Median ", q.median},
                                                      {"10.0%  ", q.p10}, {" 5.0%  ", q.p5},    {" 1.0%  ", q.p1},
                                                      {" 0.1%  ", q.p0_1}, {"Minimum", q.min}};
  for (const auto &[name, value] : kld_rows) std::printf("%s KLD: %10.6f\n", name, value);
  std::printf("\n====== Token probability statistics ======\n");
  std::printf("Mean    Δp: %6.3f ± %5.3f %%\n", 100.0 * k.p_diff.value, 100.0 * k.p_diff.error);
  const Quantiles &d = k.p_diff_quantiles;
  const std::pair<const char *, double> dp_rows[] = {{"Maximum", d.max}, {"99.9%  ", d.p99_9}, {"99.0%  ", d.p99},
                                                     {"95.0%  ", d.p95}, {"90.0%  ", d.p90},   {"75.0%  ", d.p75},
                                                     {"Median ", d.median}, {"25.0%  ", d.p25}, {"10.0%  ", d.p10},
                                                     {" 5.0%  ", d.p5}, {" 1.0%  ", d.p1},    {" 0.1%  ", d.p0_1},
                                                     {"Minimum", d.min}};
  for (const auto &[name, value] : dp_rows) std::printf("%s Δp: %6.3f%%\n", name, 100.0 * value);
  std::printf("RMS Δp    : %6.3f ± %5.3f %%\n", 100.0 * k.rms_p_diff.value, 100.0 * k.rms_p_diff.error);
  std::printf("Same top p: %6.3f ± %5.3f %%\n", 100.0 * k.same_top.value, 100.0 * k.same_top.error);
}

void print_report(const PerplexityReport &report, const PerplexityRequest &request) {
  const PerplexityResult &r = report.result;
  std::printf("model      %s (%s)\n", report.model.c_str(), report.architecture.c_str());
  std::printf("tokens     %lld: %lld chunks of %lld, %lld scored\n", static_cast<long long>(r.n_tokens_in_text),
              static_cast<long long>(r.n_chunks), static_cast<long long>(r.n_ctx), static_cast<long long>(r.n_scored));
  std::printf("speed      %.1f tokens/s on %s, %d threads (%s, load %s)\n", r.tokens_per_second, report.device.c_str(),
              report.n_threads, format_duration(r.seconds).c_str(), format_duration(report.load_seconds).c_str());
  if (!request.save_log_probs.empty()) std::printf("saved      %s\n", request.save_log_probs.string().c_str());
  std::printf("PPL        %.4f ± %.5f\n", r.ppl.value, r.ppl.error);
  if (r.kld) {
    std::printf("base PPL   %.4f ± %.5f  (%s)\n", r.kld->base_ppl.value, r.kld->base_ppl.error,
                request.kl_base.string().c_str());
    print_kld(*r.kld);
  }
}

const CommandRegistration registration{40, [](CLI::App &app) {
  auto *cmd = app.add_subcommand("perplexity",
                                 "Perplexity of a model on a text, computed like llama-perplexity; with --kl-base, "
                                 "the KL divergence from a base model's saved log-probs");
  auto request = std::make_shared<PerplexityRequest>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("model", request->model, "Model directory (config.json + safetensors + tokenizer) or GGUF file")
      ->required();
  cmd->add_option("--text", request->text, "Text file to evaluate (tokenized whole, BOS first if the model uses one)");
  cmd->add_option("--ctx", request->n_ctx, "Tokens per chunk (the second half of each is scored)")->default_val(512);
  cmd->add_option("--chunks", request->max_chunks, "Evaluate at most this many chunks (default: all)");
  cmd->add_option("--save-logits", request->save_log_probs,
                  "Save the log-probs of every scored token, for a later --kl-base run");
  cmd->add_option("--kl-base", request->kl_base,
                  "Compare with log-probs saved by --save-logits (its tokens and context are used)");
  cmd->add_option("--threads", request->n_threads, "Worker threads (default: all cores)");
  add_device_options(cmd, request->device, request->precision,
                     "Where the forward pass runs: auto (the GPU when there is one), cpu, cuda");
  cmd->add_flag("--json", *json, "Print JSON instead of a table");
  cmd->callback([request, json] {
    ProgressBar bar;
    refuse_output_over_inputs(request->save_log_probs, "--save-logits", {request->model, request->text, request->kl_base});
    const PerplexityReport report = run_perplexity(*request, &bar);
    if (*json) {
      std::printf("%s\n", report_json(report).dump(2).c_str());
    } else {
      print_report(report, *request);
    }
  });
}};

}  // namespace
}  // namespace qs::cli::perplexity_command
