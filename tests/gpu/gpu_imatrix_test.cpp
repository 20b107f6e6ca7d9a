// The imatrix collected on the GPU against the CPU's: the same entries, the same token counts (per
// expert too: routing is the CPU's own), and sums of squares within 1e-4 relative (the passes'
// activations differ by rounding only). Also the command end to end with --device cuda.
#include <gtest/gtest.h>

#include <cmath>

#include "cli/cli_process.h"
#include "formats/imatrix.h"
#include "gpu/gpu_transformer.h"
#include "infer/imatrix_collect.h"
#include "model/model_source.h"

namespace qs::gpu_imatrix_test {
namespace {

const std::filesystem::path kModels = std::filesystem::path(QUANTSCOPE_SOURCE_DIR) / "models";

void expect_same_imatrix(const Imatrix &gpu, const Imatrix &cpu, const std::string &model) {
  ASSERT_EQ(gpu.entries.size(), cpu.entries.size()) << model;
  double worst = 0;
  for (const auto &[name, want] : cpu.entries) {
    const ImatrixEntry *got = gpu.find(name);
    ASSERT_NE(got, nullptr) << model << " " << name;
    EXPECT_EQ(got->n_mat, want.n_mat) << name;
    EXPECT_EQ(got->counts, want.counts) << name;
    ASSERT_EQ(got->sums.size(), want.sums.size()) << name;
    for (size_t i = 0; i < want.sums.size(); ++i) {
      const double scale = std::max<double>(std::abs(want.sums[i]), 1e-6);
      worst = std::max(worst, std::abs(got->sums[i] - want.sums[i]) / scale);
    }
  }
  std::printf("%s: %zu entries, worst relative sum difference %.3g\n", model.c_str(), cpu.entries.size(), worst);
  EXPECT_LT(worst, 1e-4) << model;
}

class GpuImatrix : public testing::TestWithParam<const char *> {};

TEST_P(GpuImatrix, EqualsTheCpuCollection) {
  const std::filesystem::path dir = std::string(GetParam()) == "kjv-llama" ? kModels / "kjv-llama" : kModels / "tiny" / GetParam();
  const auto source = ModelSource::open(dir);
  const auto cpu = Transformer::load(*source, 2);
  const auto gpu = GpuTransformer::load(*source, 2);
  std::vector<int32_t> tokens(96);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>((i * 31 + 7) % cpu->config().n_vocab);
  ImatrixOptions options;
  options.n_ctx = 32;
  options.include_output = true;
  expect_same_imatrix(collect_imatrix(*gpu, tokens, options), collect_imatrix(*cpu, tokens, options), GetParam());
}

INSTANTIATE_TEST_SUITE_P(Models, GpuImatrix, testing::Values("kjv-llama", "qwen2", "qwen3", "mixtral", "qwen3_moe"));

TEST(GpuImatrixCli, TheCommandWritesTheSameImatrixOnTheGpu) {
  test::ScratchDir dir;
  const std::string model = (kModels / "kjv-llama").string();
  for (const char *device : {"cuda", "cpu"}) {
    const test::CliRun r = test::run_cli(dir, {"imatrix", model, "--text", model + "/calibration.txt", "--ctx", "128",
                                               "--chunks", "4", "--device", device, "-o",
                                               (dir / (std::string(device) + ".gguf")).string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  expect_same_imatrix(read_imatrix(dir / "cuda.gguf"), read_imatrix(dir / "cpu.gguf"), "kjv-llama (files)");
}

}  // namespace
}  // namespace qs::gpu_imatrix_test
