// `quantscope imatrix <model> --text F -o imatrix.gguf`: importance matrix of a model on a text,
// written in llama.cpp's GGUF imatrix layout (usable by llama-quantize and by quantscope).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "cli/device_options.h"
#include "core/output_path.h"
#include "core/progress.h"
#include "infer/imatrix_collect.h"

namespace qs::cli::imatrix_command {
namespace {

struct Options {
  std::string model, text, output;
  int64_t n_ctx = 512;
  int64_t chunks = -1;
  int threads = 0;
  std::string device = "auto";
  std::string precision = "fp32";
  bool process_output = false;
  bool json = false;
};

void run_imatrix_command(const Options &o) {
  refuse_output_over_inputs(o.output, "-o", {o.model, o.text});
  ImatrixRequest request;
  request.model = o.model;
  request.text = o.text;
  request.output = o.output;
  request.n_ctx = o.n_ctx;
  request.max_chunks = o.chunks;
  request.n_threads = o.threads;
  request.device = o.device;
  request.precision = o.precision;
  request.include_output = o.process_output;
  ProgressBar bar(!o.json);
  const Imatrix imatrix = run_imatrix(request, &bar);
  if (o.json) {
    const nlohmann::json out = {{"output", o.output},
                                {"entries", imatrix.entries.size()},
                                {"chunks", imatrix.chunk_count},
                                {"chunk_size", imatrix.chunk_size}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("wrote %s: %zu weight tensors, %u chunks of %u tokens\n", o.output.c_str(), imatrix.entries.size(),
                imatrix.chunk_count, imatrix.chunk_size);
  }
}

const CommandRegistration registration{55, [](CLI::App &app) {
  auto *cmd = app.add_subcommand("imatrix", "Collect an importance matrix (mean squared input activation of every "
                                            "matmul column) on a text, in llama.cpp's GGUF imatrix layout");
  auto o = std::make_shared<Options>();
  cmd->add_option("model", o->model, "Model directory or .gguf file")->required();
  cmd->add_option("--text,-f", o->text, "Calibration text")->required();
  cmd->add_option("-o,--output", o->output, "Output imatrix (.gguf)")->required();
  cmd->add_option("--ctx", o->n_ctx, "Tokens per chunk")->capture_default_str();
  cmd->add_option("--chunks", o->chunks, "Process at most this many chunks (default: all)");
  cmd->add_option("--threads", o->threads, "Worker threads (default: all cores)");
  add_device_options(cmd, o->device, o->precision,
                     "Where the forward pass runs: auto (the GPU when there is one), cpu, cuda");
  cmd->add_flag("--process-output", o->process_output, "Also collect output.weight (llama-imatrix leaves it out)");
  cmd->add_flag("--json", o->json, "Print the result as JSON");
  cmd->callback([o] { run_imatrix_command(*o); });
}};

}  // namespace
}  // namespace qs::cli::imatrix_command
