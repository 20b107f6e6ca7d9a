// Choosing where the pass runs: words other than auto/cpu/cuda are refused naming the word, and
// "cuda" on a machine (or build) without a GPU is refused saying which is missing, before any
// model is read. (The GPU side is tests/gpu/, run where there is one.)
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "infer/compute_device.h"
#include "model/model_source.h"

namespace qs::compute_device_test {
namespace {

std::string error_of(std::string_view flag) {
  try {
    parse_compute_device(flag);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

TEST(ComputeDevice, UnknownWordsAreRefusedByName) {
  EXPECT_NE(error_of("gpu").find("'gpu' is not one of auto, cpu, cuda"), std::string::npos) << error_of("gpu");
  EXPECT_NE(error_of("").find("is not one of"), std::string::npos);
}

TEST(ComputeDevice, CpuIsAlwaysThereAndAutoFallsBackToIt) {
  EXPECT_EQ(parse_compute_device("cpu"), ComputeDevice::cpu);
  EXPECT_EQ(parse_compute_device("auto"), cuda_device_count() > 0 ? ComputeDevice::cuda : ComputeDevice::cpu);
  const auto source = ModelSource::open(std::string(QUANTSCOPE_SOURCE_DIR) + "/models/kjv-llama");
  EXPECT_EQ(load_logits_pass(*source, ComputeDevice::cpu, 1)->device_name(), "cpu");
}

TEST(ComputeDevice, CudaWithoutAGpuSaysWhatIsMissing) {
  if (built_with_cuda() && cuda_device_count() > 0) {
    EXPECT_EQ(parse_compute_device("cuda"), ComputeDevice::cuda);
  } else if (built_with_cuda()) {
    EXPECT_NE(error_of("cuda").find("no NVIDIA GPU is visible"), std::string::npos) << error_of("cuda");
  } else {
    EXPECT_NE(error_of("cuda").find("built without the CUDA backend"), std::string::npos) << error_of("cuda");
  }
}

std::string precision_error_of(std::string_view flag, ComputeDevice device) {
  try {
    parse_product_precision(flag, device);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

// TF32 is the GPU's mode only: asked of the CPU it is refused, never quietly fp32; the default
// fp32 is there on both; other words are refused by name.
TEST(ComputeDevice, Tf32IsTheGpusAndFp32Everywhere) {
  EXPECT_EQ(parse_product_precision("fp32", ComputeDevice::cpu), ProductPrecision::fp32);
  EXPECT_EQ(parse_product_precision("fp32", ComputeDevice::cuda), ProductPrecision::fp32);
  EXPECT_EQ(parse_product_precision("tf32", ComputeDevice::cuda), ProductPrecision::tf32);
  EXPECT_NE(precision_error_of("tf32", ComputeDevice::cpu).find("--precision tf32"), std::string::npos);
  EXPECT_NE(precision_error_of("tf32", ComputeDevice::cpu).find("--device cuda"), std::string::npos);
  EXPECT_NE(precision_error_of("bf16", ComputeDevice::cuda).find("'bf16' is not one of fp32, tf32"), std::string::npos)
      << precision_error_of("bf16", ComputeDevice::cuda);
  EXPECT_STREQ(product_precision_name(ProductPrecision::tf32), "tf32");
  EXPECT_STREQ(product_precision_name(ProductPrecision::fp32), "fp32");
}

}  // namespace
}  // namespace qs::compute_device_test
