// The GPU reference run's units from their weight's product: each equals, bit for bit, the same
// unit run from the start of its layer, for every kind of layer weight, in the first and the last
// layer and back (the kept intermediates follow the layer).
#include <gtest/gtest.h>

#include "gpu/gpu_reference_run.h"
#include "measure/shipped_calibration.h"
#include "measure/tensor_position.h"

namespace qs::gpu_reference_run_test {
namespace {

TEST(GpuReferenceRun, AUnitFromItsProductEqualsTheUnitFromItsLayer) {
  auto &shipped = test::ShippedCalibration::get();
  GpuReferenceRun run(GpuTransformer::load(*shipped.source, 2), *shipped.chunks);
  const int last = static_cast<int>(shipped.model->config().n_layer) - 1;
  int64_t staged = 0;
  for (int layer : {0, last, 0}) {
    for (const char *role : {"attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight", "ffn_gate.weight",
                             "ffn_up.weight", "ffn_down.weight"}) {
      const std::string name = "blk." + std::to_string(layer) + "." + role;
      std::vector<float> values = shipped.model->weight(name).values;
      for (size_t i = 0; i < values.size(); ++i) values[i] *= 1.0f + 0.02f * static_cast<float>(int(i % 5) - 2);
      const LayerStage stage = tensor_layer_stage(name);
      ASSERT_NE(stage, LayerStage::input) << name;
      const KldResult from_layer = run.compare_with_weight(name, values, {PassStart::At::layer, layer, LayerStage::input});
      const KldResult from_product = run.compare_with_weight(name, values, {PassStart::At::layer, layer, stage});
      EXPECT_GT(from_layer.kld, 0.0) << name;
      EXPECT_EQ(from_product.kld, from_layer.kld) << name;
      EXPECT_EQ(from_product.delta_ppl, from_layer.delta_ppl) << name;
      EXPECT_EQ(run.passes_from_a_product(), ++staged) << name << ": the pass did not start at the product";
    }
  }
}

}  // namespace
}  // namespace qs::gpu_reference_run_test
