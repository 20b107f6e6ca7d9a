// The streaming export: a source read by blocks of rows gives exactly the values of a whole read
// (q/k permutation, stacked and fused experts, sharded checkpoints, GGUF sources), and an export
// in tiny blocks writes the same bytes as one in the default blocks.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "convert/gguf_export.h"
#include "convert/model_metadata.h"
#include "test_support.h"

namespace qs::gguf_export_test {
namespace {

const std::string kData = std::string(QUANTSCOPE_SOURCE_DIR) + "/tests/data/transformers5/";

std::string file_bytes(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every tensor a source reads by rows, read in blocks of 3 rows, equals its whole read.
int64_t expect_row_reads_match(const ModelSource &model) {
  int64_t checked = 0;
  for (const auto &t : model.tensors()) {
    if (!model.reads_rows(t)) continue;
    const std::vector<float> whole = model.read_f32(t);
    std::vector<float> rows(whole.size());
    const int64_t n_rows = t.n_rows(), n_cols = t.row_length();
    for (int64_t r = 0; r < n_rows; r += 3)
      model.read_f32_rows(t, r, std::min<int64_t>(3, n_rows - r), rows.data() + r * n_cols);
    EXPECT_EQ(rows, whole) << model.path() << " " << t.name;
    ++checked;
  }
  EXPECT_THROW(model.read_f32_rows(model.tensors().back(), model.tensors().back().n_rows(), 1, nullptr), Error);
  return checked;
}

TEST(GgufExport, RowReadsEqualWholeReadsForEveryArchitecture) {
  for (const char *name : {"llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen3_moe", "qwen3_moe_sharded"}) {
    const auto model = ModelSource::open(kData + name);
    // Most tensors read by rows: q/k (permuted), stacked experts, plain matrices and norms.
    EXPECT_GT(expect_row_reads_match(*model), static_cast<int64_t>(model->tensors().size()) / 2) << name;
  }
}

TEST(GgufExport, TinyBlocksWriteTheSameBytesFromSafetensorsAndGguf) {
  test::ScratchDir dir;
  for (const char *name : {"llama", "mixtral", "qwen3_moe"}) {
    const auto model = ModelSource::open(kData + name);
    for (const GgmlType type : {GgmlType::Q4_K, GgmlType::F16}) {
      const QuantPlan plan = uniform_plan(*model, type);
      ExportOptions options;
      options.metadata = gguf_model_metadata(*model, type);
      const auto whole = dir.path() / (std::string(name) + "_whole.gguf");
      const auto blocks = dir.path() / (std::string(name) + "_blocks.gguf");
      export_gguf(*model, plan, options, whole);
      options.block_elements = 64;  // a few rows, often less than one
      export_gguf(*model, plan, options, blocks);
      EXPECT_EQ(file_bytes(blocks), file_bytes(whole)) << name << " " << quant_type(type).name;
    }
    // The F16 file as a source: GGUF rows are read straight from the file.
    const auto gguf = ModelSource::open(dir.path() / (std::string(name) + "_whole.gguf"));
    EXPECT_EQ(expect_row_reads_match(*gguf), static_cast<int64_t>(gguf->tensors().size())) << name;
  }
}

}  // namespace
}  // namespace qs::gguf_export_test
