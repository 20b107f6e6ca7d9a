// Names of the metric levels, as `measure --metric` takes them.
#include "measure/metric_level.h"

namespace qs {

const char *metric_level_name(MetricLevel level) {
  switch (level) {
    case MetricLevel::proxy: return "proxy";
    case MetricLevel::layer: return "layer";
    case MetricLevel::kld: return "kld";
  }
  return "?";
}

std::optional<MetricLevel> parse_metric_level(std::string_view name) {
  for (MetricLevel level : {MetricLevel::proxy, MetricLevel::layer, MetricLevel::kld})
    if (name == metric_level_name(level)) return level;
  return std::nullopt;
}

}  // namespace qs
