// `quantscope auto`: from a model to a verified strategy in one resumable job. Its units are the
// stages: an imatrix from the calibration text, the per-tensor KLD measurement (KLD for a few probe
// types, the rest predicted; itself a measure job with its own units), the strategy for the budget,
// the strategy's GGUF, and the comparison with llama.cpp's stock mixes on held-out text. Every
// stage writes its files under one folder (atomically) before its unit is committed, so a killed
// run resumes at the stage it was in, and the measure stage at the unit it was in.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jobs/job_runner.h"
#include "jobs/job_store.h"

namespace qs {

struct AutoRequest {
  std::string model;                 // HF directory or F16/BF16/F32 GGUF (stored absolute)
  std::string text;                  // calibration text: imatrix and measurement
  std::string eval_text;             // held-out text: the comparison
  std::optional<double> target_bpw;  // exactly one of the two budgets
  std::string size;                  // "4.2GiB", as `strategy --size` takes it
  std::string out_dir;               // every file the job writes (stored absolute)
  std::vector<std::string> probes{"Q4_K", "Q2_K"};  // KLD measured for these, predicted for the rest
  std::vector<std::string> presets{"Q8_0", "Q6_K", "Q4_K_M", "Q3_K_M", "Q2_K"};  // compared against
  int64_t n_ctx = 512;
  int64_t chunks = 8;                // calibration chunks for the KLD measurement
  int64_t imatrix_chunks = -1;       // calibration chunks for the imatrix (-1: the whole text)
  int64_t eval_chunks = -1;          // held-out chunks for the comparison (-1: the whole text)

  nlohmann::json to_json() const;
  static AutoRequest from_json(const nlohmann::json &params);  // throws naming a missing field
  // Checks what needs no model run: one budget, the texts exist, presets and probes are known, the
  // output folder is no input. Paths are made absolute.
  void validate_and_resolve();
};

// The files of a finished (or partly finished) auto job, under its out_dir.
struct AutoPaths {
  std::filesystem::path imatrix, strategy, recipe, gguf, compare_dir, compare_json, report;
};
AutoPaths auto_paths(const AutoRequest &request);

// The stages, in order: the job's unit keys.
const std::vector<std::string> &auto_stages();

struct AutoJob {
  int64_t id = 0;
  bool resumed = false;  // an unfinished auto job with the same request was found and is continued
};

// Checks the request (the model opens, the budget parses) and creates its job, queued; or makes an
// unfinished auto job with exactly the same request queued again (running the same command after a
// kill continues it).
AutoJob create_auto_job(JobStore &store, AutoRequest request);

// Runs (or continues) an auto job to the end, or until paused, cancelled or failed. Nested work
// (the measure job, the builds, the perplexity runs) reports on options.progress with its own label.
RunOutcome run_auto_job(JobStore &store, int64_t job_id, const RunOptions &options, int n_threads = 0);

}  // namespace qs
