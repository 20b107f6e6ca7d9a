// The auto job's stages.
#include "pipeline/auto_job.h"

#include "convert/gguf_export.h"
#include "convert/model_metadata.h"
#include "convert/quant_plan.h"
#include "convert/stock_presets.h"
#include "core/byte_size.h"
#include "core/error.h"
#include "jobs/job_json.h"
#include "core/output_path.h"
#include "core/text_file.h"
#include "formats/imatrix.h"
#include "infer/imatrix_collect.h"
#include "measure/measure_job.h"
#include "model/model_source.h"
#include "pipeline/make_strategy.h"
#include "strategy/strategy_file.h"
#include "strategy/strategy_recipe.h"
#include "verify/compare.h"
#include "verify/compare_report.h"
#include "verify/strategy_pareto.h"

namespace qs {

namespace {

template <typename T>
T auto_param(const nlohmann::json &params, const char *name) {
  return job_param<T>(params, "auto", name);
}

std::string absolute(const std::string &path) { return std::filesystem::absolute(path).lexically_normal().string(); }

MeasureRequest measure_request(const AutoRequest &r, const AutoPaths &paths) {
  MeasureRequest m;
  m.model = r.model;
  m.metric = MetricLevel::kld;
  m.probes = r.probes;
  m.text = r.text;
  m.imatrix = paths.imatrix.string();
  m.n_ctx = r.n_ctx;
  m.max_chunks = r.chunks;
  return m;
}

// The measure job of this request: a finished one is reused (its rows are the stage's result);
// an unfinished one is continued; otherwise a new one is made.
int64_t measure_job_for(JobStore &store, MeasureRequest request) {
  request.validate_and_resolve();
  const nlohmann::json params = request.to_json();
  for (const JobInfo &job : store.list_jobs())
    if (job.kind == "measure" && job.params == params && job.state == JobState::done) return job.id;
  return create_measure_job(store, request).id;
}

}  // namespace

nlohmann::json AutoRequest::to_json() const {
  nlohmann::json j = {{"model", model},   {"text", text},       {"eval_text", eval_text}, {"size", size},
                      {"out_dir", out_dir}, {"probes", probes}, {"presets", presets},     {"n_ctx", n_ctx},
                      {"chunks", chunks}, {"imatrix_chunks", imatrix_chunks}, {"eval_chunks", eval_chunks}};
  j["target_bpw"] = target_bpw ? nlohmann::json(*target_bpw) : nlohmann::json();
  return j;
}

AutoRequest AutoRequest::from_json(const nlohmann::json &params) {
  if (!params.is_object()) fail("auto job params are not a JSON object");
  AutoRequest r;
  r.model = auto_param<std::string>(params, "model");
  r.text = auto_param<std::string>(params, "text");
  r.eval_text = auto_param<std::string>(params, "eval_text");
  r.size = auto_param<std::string>(params, "size");
  r.out_dir = auto_param<std::string>(params, "out_dir");
  r.probes = auto_param<std::vector<std::string>>(params, "probes");
  r.presets = auto_param<std::vector<std::string>>(params, "presets");
  r.n_ctx = auto_param<int64_t>(params, "n_ctx");
  r.chunks = auto_param<int64_t>(params, "chunks");
  r.imatrix_chunks = auto_param<int64_t>(params, "imatrix_chunks");
  r.eval_chunks = auto_param<int64_t>(params, "eval_chunks");
  if (params.contains("target_bpw") && !params["target_bpw"].is_null()) r.target_bpw = auto_param<double>(params, "target_bpw");
  return r;
}

void AutoRequest::validate_and_resolve() {
  if (target_bpw.has_value() == !size.empty()) fail("give exactly one budget: --target-bpw X or --size S");
  if (target_bpw && !(*target_bpw > 0)) fail("--target-bpw must be positive");
  if (!size.empty()) parse_byte_size(size, "--size");
  for (auto *path : {&text, &eval_text}) {
    if (path->empty()) fail(path == &text ? "--text (the calibration text) is required" : "--eval (held-out text) is required");
    if (!std::filesystem::is_regular_file(*path)) fail(*path, ": no such file");
    *path = absolute(*path);
  }
  if (text == eval_text) fail("--eval must be other text than --text: a KLD on the calibration text flatters the strategy");
  for (const auto &p : presets)
    if (!find_stock_preset(p)) fail("--presets: unknown preset '", p, "'");
  for (const auto &p : probes) quant_type_by_name(p);
  for (int64_t n : {chunks, imatrix_chunks, eval_chunks})
    if (n == 0 || n < -1) fail("--chunks, --imatrix-chunks, --eval-chunks: ", n, " (a positive count, or -1 for all)");
  if (out_dir.empty()) fail("-o: the output folder is required");
  if (std::filesystem::exists(model)) model = absolute(model);
  out_dir = absolute(out_dir);
  refuse_output_over_inputs(out_dir, "-o", {model, text, eval_text});
}

AutoPaths auto_paths(const AutoRequest &request) {
  const std::filesystem::path out = request.out_dir;
  return {out / "imatrix.gguf", out / "strategy.yaml", out / "strategy.llama-recipe.txt", out / "model-strategy.gguf",
          out / "compare", out / "compare.json", out / "report.html"};
}

const std::vector<std::string> &auto_stages() {
  static const std::vector<std::string> stages{"imatrix", "measure", "strategy", "quantize", "compare"};
  return stages;
}

AutoJob create_auto_job(JobStore &store, AutoRequest request) {
  request.validate_and_resolve();
  ModelSource::open(request.model);  // fails now, not at the first stage
  const nlohmann::json params = request.to_json();
  if (const auto unfinished = find_unfinished_job(store, "auto", params)) {
    store.resume_job(*unfinished);
    return {*unfinished, true};
  }
  return {store.create_job("auto", params, static_cast<int64_t>(auto_stages().size())), false};
}

RunOutcome run_auto_job(JobStore &store, int64_t job_id, const RunOptions &options, int n_threads) {
  const JobInfo job = store.job(job_id);
  if (job.kind != "auto") fail("job ", job_id, " is a ", job.kind, " job, not an auto job");
  const AutoRequest request = AutoRequest::from_json(job.params);
  const AutoPaths paths = auto_paths(request);
  std::filesystem::create_directories(request.out_dir);
  NullProgress quiet;
  ProgressSink *progress = options.progress ? options.progress : &quiet;

  auto stage = [&](const std::string &name) -> UnitResult {
    UnitResult result;
    if (name == "imatrix") {
      ImatrixRequest r;
      r.model = request.model;
      r.text = request.text;
      r.output = paths.imatrix;
      r.n_ctx = request.n_ctx;
      r.max_chunks = request.imatrix_chunks;
      r.n_threads = n_threads;
      run_imatrix(r, progress);
      result.artifacts.push_back({"imatrix", paths.imatrix});
    } else if (name == "measure") {
      const int64_t measure_id = measure_job_for(store, measure_request(request, paths));
      if (store.job(measure_id).state != JobState::done) {
        RunOptions nested;
        nested.progress = options.progress;
        const RunOutcome outcome = run_measure_job(store, measure_id, nested, n_threads);
        if (outcome.state != JobState::done)
          fail("measure job ", measure_id, " ", job_state_name(outcome.state), outcome.error.empty() ? "" : ": ",
               outcome.error);
      }
    } else if (name == "strategy") {
      const int64_t measure_id = measure_job_for(store, measure_request(request, paths));
      StrategySource source;
      source.source = std::to_string(measure_id);
      source.db = store.path().string();
      StrategyRequest budget;
      budget.budget.target_bpw = request.target_bpw;
      if (!request.size.empty()) budget.budget.size_bytes = parse_byte_size(request.size, "--size");
      const MadeStrategy made = make_strategy(source, budget, std::nullopt);
      write_strategy(made.outcome.strategy, paths.strategy);
      write_file_atomically(paths.recipe, strategy_recipe_file(made.outcome.strategy, RecipeTool::llama));
      result.artifacts.push_back({"strategy", paths.strategy});
      result.artifacts.push_back({"recipe", paths.recipe});
    } else if (name == "quantize") {
      const auto model = ModelSource::open(request.model);
      const Imatrix imatrix = read_imatrix(paths.imatrix);
      const QuantPlan plan = strategy_plan(*model, read_strategy(paths.strategy), paths.strategy.string());
      ExportOptions export_options;
      export_options.metadata = gguf_model_metadata(*model, dominant_type(*model, plan));
      export_options.imatrix = &imatrix;
      export_options.n_threads = n_threads;
      export_options.progress = progress;
      export_gguf(*model, plan, export_options, paths.gguf);
      result.artifacts.push_back({"gguf", paths.gguf});
    } else if (name == "compare") {
      CompareRequest compare;
      compare.model = request.model;
      compare.text = request.eval_text;
      compare.imatrix = paths.imatrix;
      compare.presets = request.presets;
      compare.ggufs = {paths.gguf};
      compare.out_dir = paths.compare_dir;
      compare.n_threads = n_threads;
      compare.max_chunks = request.eval_chunks;
      CompareResult compared = run_compare(compare, progress);
      // The strategy's GGUF was built by the quantize stage and is compared as it is; its row then
      // gets the strategy's name, prediction and per-tensor choices for the table and the report.
      CompareRow &mine = compared.rows.back();
      mine.name = "strategy";
      mine.kind = CompareKind::strategy;
      mine.strategy = read_strategy(paths.strategy);
      mine.predicted = mine.strategy->totals.predicted;
      mine.predicted_metric = mine.strategy->objective.metric;
      write_file_atomically(paths.compare_json, compare_result_json(compared).dump(2) + "\n");
      write_compare_report(compared, measured_pareto_of(*mine.strategy), paths.report);
      result.artifacts.push_back({"compare", paths.compare_json});
      result.artifacts.push_back({"report", paths.report});
    }
    return result;
  };
  // The stages' own work shows its bars (imatrix, measure job, quantize, perplexity); the job's
  // progress (stage i of 5) goes to the database, where `jobs list` and the server read it.
  RunOptions outer = options;
  outer.progress = nullptr;
  return run_job(store, job_id, auto_stages(), stage, outer);
}

}  // namespace qs
