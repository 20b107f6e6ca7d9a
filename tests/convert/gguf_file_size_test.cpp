// The size a plan will write, known before writing: checked against files really written.
#include <gtest/gtest.h>

#include <filesystem>

#include "convert/gguf_export.h"
#include "convert/gguf_file_size.h"
#include "convert/model_metadata.h"
#include "model/quantizable_tensors.h"
#include "test_support.h"

namespace qs::gguf_file_size_test {
namespace {

std::string model_dir(const std::string &name) { return std::string(QUANTSCOPE_SOURCE_DIR) + "/models/" + name; }

uint64_t written_size(const ModelSource &model, const QuantPlan &plan, GgmlType dominant, const std::filesystem::path &out) {
  ExportOptions options;
  options.metadata = gguf_model_metadata(model, dominant);
  export_gguf(model, plan, options, out);
  return std::filesystem::file_size(out);
}

uint64_t padded_quantizable_bytes(const ModelSource &model, const QuantPlan &plan) {
  uint64_t sum = 0;
  for (const auto &t : model.tensors())
    if (tensor_allows_quantization(t.name, t.shape)) sum += gguf::padded_bytes(gguf::tensor_bytes(plan.find(t.name)->type, t.shape));
  return sum;
}

TEST(GgufFileSize, PlannedBytesAreTheWrittenFileSize) {
  test::ScratchDir dir;
  for (const std::string name : {"kjv-llama", "tiny/qwen3_moe"}) {
    const auto model = ModelSource::open(model_dir(name));
    for (GgmlType type : {GgmlType::Q4_K, GgmlType::Q8_0, GgmlType::IQ4_NL}) {
      const QuantPlan plan = uniform_plan(*model, type);
      const auto metadata = gguf_model_metadata(*model, type);
      const auto out = dir / "model.gguf";
      EXPECT_EQ(planned_gguf_bytes(*model, plan, metadata), written_size(*model, plan, type, out)) << name;
    }
  }
}

TEST(GgufFileSize, FixedBytesPlusPaddedTensorsBoundTheFile) {
  test::ScratchDir dir;
  const auto model = ModelSource::open(model_dir("kjv-llama"));
  const uint64_t fixed = fixed_gguf_bytes(*model);
  // Q8_0 has a llama.cpp file type: its header is the one counted, so the sum is exact.
  const QuantPlan q8 = uniform_plan(*model, GgmlType::Q8_0);
  EXPECT_EQ(fixed + padded_quantizable_bytes(*model, q8), written_size(*model, q8, GgmlType::Q8_0, dir / "q8.gguf"));
  // Q4_K has none (it only exists as the S/M mixes): a smaller header, never a larger file.
  const QuantPlan q4 = uniform_plan(*model, GgmlType::Q4_K);
  const uint64_t q4_size = written_size(*model, q4, GgmlType::Q4_K, dir / "q4.gguf");
  EXPECT_LE(q4_size, fixed + padded_quantizable_bytes(*model, q4));
  EXPECT_GE(q4_size + 64, fixed + padded_quantizable_bytes(*model, q4));  // one key, one alignment step at most
  // The fixed part is more than the norms: the tokenizer alone is tens of kilobytes.
  EXPECT_GT(fixed, 20000u);
}

}  // namespace
}  // namespace qs::gguf_file_size_test
