// The relative costs the measure job's ETA weighs its units by: on the shipped model, larger
// weights cost more than smaller ones at the same level, an exact unit more than the same weight at
// the layer metric, and an exact unit from an early layer more than one from a late layer.
#include <gtest/gtest.h>

#include "jobs/measurement_row.h"
#include "measure/measure_plan.h"
#include "measure/unit_cost.h"
#include "quant/types.h"

namespace qs::unit_cost_test {
namespace {

MeasurementUnit unit(const std::string &tensor, MetricLevel level) {
  MeasurementUnit u;
  u.tensor = tensor;
  u.type = &quant_type_by_name("Q4_K");
  u.level = level;
  u.key = measurement_unit_key(tensor, u.type->name) + (level == MetricLevel::kld ? "/exact" : "");
  return u;
}

TEST(MeasurementUnitCosts, RankUnitsByTheWorkTheyDo) {
  const auto model = ModelSource::open(std::string(QUANTSCOPE_SOURCE_DIR) + "/models/kjv-llama");
  const std::vector<MeasurementUnit> units = {
      unit("token_embd.weight", MetricLevel::layer), unit("blk.0.attn_k.weight", MetricLevel::layer),
      unit("blk.0.ffn_up.weight", MetricLevel::layer), unit("blk.0.ffn_up.weight", MetricLevel::kld),
      unit("blk.7.ffn_up.weight", MetricLevel::kld),   unit("output.weight", MetricLevel::kld)};
  const auto costs = measurement_unit_costs(units, *model);
  ASSERT_EQ(costs.size(), units.size());
  auto cost = [&](size_t i) { return costs.at(units[i].key); };
  for (size_t i = 0; i < units.size(); ++i) EXPECT_GT(cost(i), 0) << units[i].key;
  // The shipped model: embedding 8192 x 256 (2.1 M weights), attn_k 256 x 256, ffn_up 256 x 1024.
  EXPECT_GT(cost(0), cost(2));
  EXPECT_GT(cost(2), cost(1));
  EXPECT_GT(cost(3), cost(2)) << "an exact unit also runs the model from its layer";
  EXPECT_GT(cost(3), cost(4)) << "from layer 0 the pass runs through eight layers, from layer 7 one";
  EXPECT_GT(cost(4), cost(2));
}

}  // namespace
}  // namespace qs::unit_cost_test
