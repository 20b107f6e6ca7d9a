// The exact KLD of a MoE model's weights (expert tensors start at their layer's feed-forward
// block, attention weights at their own product) against a plain full forward pass per chunk with
// the weight replaced; the shipped model has no experts, so a small random one stands in.
#include <gtest/gtest.h>

#include <cmath>

#include "infer/kld.h"
#include "infer/synthetic_model.h"
#include "measure/tensor_measurer.h"

namespace qs::tensor_measurer_moe_test {
namespace {

TEST(TensorMeasurerMoe, KldOfExpertAndAttentionWeightsEqualsAFullPassWithTheWeightReplaced) {
  test::SyntheticOptions o;
  o.moe = true;
  const auto config = test::synthetic_config(o);
  Transformer model(config, test::synthetic_weights(config, o, 3), 2);
  std::vector<int32_t> text(80);
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<int32_t>((i * 29 + 7) % config.n_vocab);
  const CalibrationChunks chunks(text, 16, 4, 0);
  TensorMeasurer measurer(model, nullptr, MetricLevel::kld, &chunks);
  const int64_t n_vocab = config.n_vocab, rows = chunks.n_ctx() - chunks.first_scored();

  for (const std::string tensor : {"blk.0.ffn_gate_exps.weight", "blk.1.attn_k.weight", "blk.1.ffn_up_exps.weight",
                                   "blk.1.attn_output.weight", "blk.2.ffn_gate_exps.weight"}) {
    const QuantType &type = quant_type(GgmlType::Q4_0);
    const MeasurementRow row = measurer.measure(tensor, type);
    ASSERT_TRUE(row.get(Metric::kld)) << tensor;
    // Independent: each chunk from its tokens through the plain forward pass, unchanged and with
    // the weight replaced.
    std::vector<float> base(static_cast<size_t>(rows * n_vocab)), ours(base.size());
    double sum_kld = 0;
    for (int64_t c = 0; c < chunks.n_chunks(); ++c) {
      model.forward(chunks.input(c), base.data(), nullptr, chunks.first_scored());
      auto original = model.set_weight(tensor, measurer.quantized_values(tensor, type));
      model.forward(chunks.input(c), ours.data(), nullptr, chunks.first_scored());
      model.set_weight(tensor, std::move(original));
      for (int64_t i = 0; i < chunks.n_scored_per_chunk(); ++i)
        sum_kld += compare_logits(ours.data() + i * n_vocab, base.data() + i * n_vocab, n_vocab, chunks.target(c, i)).kld;
    }
    const double kld = sum_kld / static_cast<double>(chunks.n_scored());
    EXPECT_GT(kld, 0) << tensor;
    EXPECT_NEAR(*row.get(Metric::kld), kld, 1e-5 * kld + 1e-8) << tensor;
  }
}

}  // namespace
}  // namespace qs::tensor_measurer_moe_test
