// The metric table and the checks a measurement row passes before it is stored.
#include "jobs/measurement_row.h"

#include <charconv>
#include <cmath>

#include "core/error.h"

namespace qs {
namespace {

constexpr std::array<MetricInfo, kMetricCount> kMetrics{{
    {Metric::rmse, "rmse", "root mean square weight error"},
    {Metric::max_abs_error, "max_abs_error", "largest absolute weight error"},
    {Metric::relative_mse, "relative_mse", "squared weight error relative to the squared weights"},
    {Metric::weighted_relative_mse, "weighted_relative_mse", "relative squared error weighted by the imatrix"},
    {Metric::layer_error, "layer_error", "relative squared error of the layer's output on calibration inputs"},
    {Metric::kld, "kld", "mean KL divergence of the model output, only this tensor quantized"},
    {Metric::delta_ppl, "delta_ppl", "perplexity change of the model, only this tensor quantized"},
}};

// The enum and the table must stay in the same order: metrics[i] is kMetrics[i].
constexpr bool table_matches_enum() {
  for (size_t i = 0; i < kMetrics.size(); ++i)
    if (static_cast<size_t>(kMetrics[i].metric) != i) return false;
  return true;
}
static_assert(table_matches_enum(), "kMetrics must list the metrics in enum order");

}  // namespace

std::span<const MetricInfo> all_metrics() { return kMetrics; }

const MetricInfo &metric_info(Metric metric) { return kMetrics[static_cast<size_t>(metric)]; }

const MetricInfo *find_metric(std::string_view column) {
  for (const auto &info : kMetrics)
    if (column == info.column) return &info;
  return nullptr;
}

void validate_measurement_row(const MeasurementRow &row, std::string_view where) {
  if (row.tensor.empty()) fail(where, ": the tensor name is empty");
  if (row.type.empty()) fail(where, ": the type of tensor ", row.tensor, " is empty");
  if (!std::isfinite(row.bits) || row.bits < 0)
    fail(where, ": ", row.tensor, " ", row.type, ": bits per weight ", row.bits, " is not a non-negative number");
  if (row.params < 0) fail(where, ": ", row.tensor, " ", row.type, ": parameter count ", row.params, " is negative");
  for (const auto &info : kMetrics) {
    const auto value = row.get(info.metric);
    if (value && std::isnan(*value))
      fail(where, ": ", row.tensor, " ", row.type, ": metric ", info.column, " is NaN (leave it empty if not measured)");
  }
}

std::string format_metric_value(double value) {
  char text[64];
  const auto written = std::to_chars(text, text + sizeof text, value);
  return std::string(text, written.ptr);
}

std::string measurement_unit_key(std::string_view tensor, std::string_view type) {
  return cat(tensor, ":", type);
}

}  // namespace qs
