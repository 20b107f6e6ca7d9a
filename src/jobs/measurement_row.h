// One measured (tensor, type) pair and the table of metrics it may carry. The metric table is the
// single place a metric is described: adding one is a row here plus a migration in schema.cpp that
// adds its column (a test checks every row has its column).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace qs {

enum class Metric {
  rmse,                   // sqrt(mean (W - Q)^2)
  max_abs_error,          // max |W - Q|
  relative_mse,           // ||W - Q||^2 / ||W||^2
  weighted_relative_mse,  // the same, each column weighted by its imatrix importance
  layer_error,            // ||X (W - Q)^T||^2 / ||X W^T||^2 on captured calibration inputs
  kld,                    // mean KL divergence of the model's next-token distribution, only this tensor quantized
  delta_ppl,              // perplexity change, only this tensor quantized
};
inline constexpr size_t kMetricCount = 7;

struct MetricInfo {
  Metric metric;
  const char *column;  // the column in `measurements` and in the CSV header
  const char *description;
};

std::span<const MetricInfo> all_metrics();  // in column order
const MetricInfo &metric_info(Metric metric);
const MetricInfo *find_metric(std::string_view column);  // nullptr when unknown

struct MeasurementRow {
  std::string tensor;  // GGUF tensor name
  std::string type;    // quant type name, as `quantscope types` prints it
  double bits = 0;     // bits per weight of the tensor stored in that type
  int64_t params = 0;  // parameter count of the tensor
  std::array<std::optional<double>, kMetricCount> metrics{};

  std::optional<double> get(Metric m) const { return metrics[static_cast<size_t>(m)]; }
  MeasurementRow &set(Metric m, std::optional<double> value) {
    metrics[static_cast<size_t>(m)] = value;
    return *this;
  }
  bool operator==(const MeasurementRow &) const = default;
};

// A measurement row read from a file, with the line it came from (for error messages).
struct SourcedRow {
  MeasurementRow row;
  int64_t line = 0;
};

// Throws qs::Error naming `where` when the row cannot be stored: empty names, negative counts, a
// NaN anywhere (SQLite would store it as NULL, silently turning a value into "not measured").
void validate_measurement_row(const MeasurementRow &row, std::string_view where);

// The shortest text that reads back as exactly `value` ("0.1", "1e-07", "inf"): CSV cells, messages.
std::string format_metric_value(double value);

// The unit key the measurement sweep uses for one (tensor, type) pair, so that rows imported from
// a CSV count as finished units of the job they are merged into.
std::string measurement_unit_key(std::string_view tensor, std::string_view type);

}  // namespace qs
