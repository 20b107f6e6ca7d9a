// Imatrix collection against quantities computed by hand from the weights, and the written file
// read back in llama.cpp's layout.
#include <gtest/gtest.h>

#include <cmath>

#include "formats/imatrix.h"
#include "infer/imatrix_collect.h"
#include "model/model_source.h"
#include "test_support.h"

namespace qs::imatrix_collect_test {
namespace {

const std::filesystem::path kModels = std::filesystem::path(QUANTSCOPE_SOURCE_DIR) / "models";

TEST(ImatrixCollect, FirstLayerQueryInputIsTheNormalisedEmbedding) {
  // The input of blk.0.attn_q is RMSNorm(embedding) * attn_norm.weight: computed here directly.
  const auto source = ModelSource::open(kModels / "tiny" / "qwen2");
  const auto model = Transformer::load(*source, 1);
  const std::vector<int32_t> tokens = {5, 17, 300, 42, 9, 111, 2, 77};
  ImatrixOptions options;
  options.n_ctx = 4;
  const Imatrix imatrix = collect_imatrix(*model, tokens, options);
  EXPECT_EQ(imatrix.chunk_count, 2u);
  const ImatrixEntry *q = imatrix.find("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->counts, std::vector<float>{8.0f});
  const int64_t n_embd = source->config().hidden_size;
  const auto embd = source->read_f32(source->get("token_embd.weight"));
  const auto norm = source->read_f32(source->get("blk.0.attn_norm.weight"));
  std::vector<double> expected(static_cast<size_t>(n_embd), 0.0);
  for (int32_t t : tokens) {
    const float *e = embd.data() + static_cast<int64_t>(t) * n_embd;
    double mean_square = 0;
    for (int64_t c = 0; c < n_embd; ++c) mean_square += static_cast<double>(e[c]) * e[c];
    const double scale = 1.0 / std::sqrt(mean_square / static_cast<double>(n_embd) + source->config().rms_norm_eps);
    for (int64_t c = 0; c < n_embd; ++c) expected[static_cast<size_t>(c)] += std::pow(e[c] * scale * norm[static_cast<size_t>(c)], 2);
  }
  for (int64_t c = 0; c < n_embd; ++c) EXPECT_NEAR(q->sums[static_cast<size_t>(c)], expected[static_cast<size_t>(c)], 1e-4 * expected[static_cast<size_t>(c)] + 1e-7) << c;
  // q, k and v share their input.
  EXPECT_EQ(imatrix.find("blk.0.attn_k.weight")->sums, q->sums);
  // llama-imatrix leaves the output head out.
  EXPECT_EQ(imatrix.find("output.weight"), nullptr);
}

TEST(ImatrixCollect, ExpertsCountTheTokensRoutedToThem) {
  const auto source = ModelSource::open(kModels / "tiny" / "mixtral");
  const auto model = Transformer::load(*source, 1);
  std::vector<int32_t> tokens(16);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<int32_t>(i * 31 % 500);
  ImatrixOptions options;
  options.n_ctx = 16;
  const Imatrix imatrix = collect_imatrix(*model, tokens, options);
  const ImatrixEntry *up = imatrix.find("blk.1.ffn_up_exps.weight");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->n_mat, 4);
  float routed = 0;
  for (float c : up->counts) routed += c;
  EXPECT_EQ(routed, 16.0f * 2.0f);  // every token goes to its top-2 experts
}

TEST(ImatrixCollect, RunWritesAFileQuantizeCanRead) {
  test::ScratchDir dir;
  ImatrixRequest request;
  request.model = kModels / "kjv-llama";
  request.text = kModels / "kjv-llama" / "calibration.txt";
  request.output = dir / "i.gguf";
  request.n_ctx = 128;
  request.max_chunks = 2;
  const Imatrix written = run_imatrix(request);
  const Imatrix read = read_imatrix(dir / "i.gguf");
  EXPECT_EQ(read.entries.size(), written.entries.size());
  EXPECT_EQ(read.entries.size(), 8u * 7u);  // q, k, v, output, gate, up, down in 8 layers
  EXPECT_EQ(read.chunk_count, 2u);
  EXPECT_EQ(read.chunk_size, 128u);
  const auto w = read.importance("blk.3.ffn_down.weight", 768);
  EXPECT_EQ(w.size(), 768u);
  for (float v : w) EXPECT_GE(v, 0.0f);
  test::expect_error_containing([&] {
    ImatrixRequest bad = request;
    bad.text = dir / "missing.txt";
    run_imatrix(bad);
  }, {"missing.txt"});
}

}  // namespace
}  // namespace qs::imatrix_collect_test
