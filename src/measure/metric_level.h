// The three levels a measurement can go to, each a superset of the one before: weight-space
// proxies (seconds), the tensor's own output error on captured inputs, and the whole model's KLD
// and perplexity change with only that tensor quantized.
#pragma once

#include <optional>
#include <string_view>

namespace qs {

enum class MetricLevel { proxy, layer, kld };

const char *metric_level_name(MetricLevel level);
std::optional<MetricLevel> parse_metric_level(std::string_view name);

}  // namespace qs
