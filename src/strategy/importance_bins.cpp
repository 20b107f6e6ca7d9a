// Importance bins: the spec parser, importance percentiles and the per-tensor minimum-type choice.
#include "strategy/importance_bins.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

#include "core/error.h"

namespace qs {
namespace {

constexpr char kSpecExample[] = "expected PERCENTILE:TYPE items such as 90:Q6_K,50:Q5_K,0:Q4_K";
// Bits printed to a CSV and read back may differ from the type table's in the last digits.
constexpr double kBitsTolerance = 1e-6;

std::string_view trim_spaces_and_tabs(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

ImportanceBin parse_bin(std::string_view item) {
  const auto colon = item.find(':');
  if (colon == std::string_view::npos) fail("importance bin '", item, "' has no ':' (", kSpecExample, ")");
  const std::string_view percentile_text = trim_spaces_and_tabs(item.substr(0, colon));
  const std::string_view type_text = trim_spaces_and_tabs(item.substr(colon + 1));

  double percentile = 0;
  const char *end = percentile_text.data() + percentile_text.size();
  const auto [stop, ec] = std::from_chars(percentile_text.data(), end, percentile);
  if (percentile_text.empty() || ec != std::errc() || stop != end || !std::isfinite(percentile))
    fail("importance bin '", item, "': '", percentile_text, "' is not a percentile (", kSpecExample, ")");
  if (percentile < 0 || percentile > 100)
    fail("importance bin '", item, "': percentile ", percentile_text, " is outside [0, 100]");

  const QuantType *type = find_quant_type(type_text);
  if (type == nullptr)
    fail("importance bin '", item, "': unknown type '", type_text, "' (`quantscope types` lists them)");
  return ImportanceBin{percentile, type};
}

}  // namespace

std::vector<ImportanceBin> parse_importance_bins(std::string_view spec) {
  if (trim_spaces_and_tabs(spec).empty()) fail("importance bins: empty spec (", kSpecExample, ")");
  std::vector<ImportanceBin> bins;
  std::vector<std::string_view> items;
  for (size_t start = 0;;) {
    const size_t comma = spec.find(',', start);
    const std::string_view item = trim_spaces_and_tabs(spec.substr(start, comma == std::string_view::npos ? spec.npos : comma - start));
    if (item.empty()) fail("importance bins '", spec, "': empty item (", kSpecExample, ")");
    ImportanceBin bin = parse_bin(item);
    for (size_t k = 0; k < bins.size(); ++k)
      if (bins[k].min_percentile == bin.min_percentile)
        fail("importance bins: '", items[k], "' and '", item, "' repeat percentile ", bin.min_percentile);
    bins.push_back(bin);
    items.push_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::sort(bins.begin(), bins.end(),
            [](const ImportanceBin &a, const ImportanceBin &b) { return a.min_percentile > b.min_percentile; });
  if (bins.back().min_percentile != 0)
    fail("importance bins '", spec, "': no bin starts at 0, so the least important tensors fit none (add e.g. 0:Q4_K)");
  return bins;
}

std::vector<double> importance_percentiles(std::span<const double> importances) {
  for (size_t i = 0; i < importances.size(); ++i)
    if (!std::isfinite(importances[i])) fail("importance percentiles: importance ", i, " is ", importances[i]);
  std::vector<double> sorted(importances.begin(), importances.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<double> percentiles;
  percentiles.reserve(importances.size());
  for (double importance : importances) {
    if (sorted.size() == 1) {
      percentiles.push_back(100);
      continue;
    }
    const auto n_lower = std::lower_bound(sorted.begin(), sorted.end(), importance) - sorted.begin();
    percentiles.push_back(100.0 * static_cast<double>(n_lower) / static_cast<double>(sorted.size() - 1));
  }
  return percentiles;
}

const ImportanceBin &bin_for_percentile(std::span<const ImportanceBin> bins, double percentile) {
  if (!(percentile >= 0 && percentile <= 100)) fail("importance bins: percentile ", percentile, " is outside [0, 100]");
  const ImportanceBin *holder = nullptr;
  for (const auto &bin : bins)
    if (bin.min_percentile <= percentile && (holder == nullptr || bin.min_percentile > holder->min_percentile))
      holder = &bin;
  if (holder == nullptr) fail("importance bins: no bin holds percentile ", percentile);
  return *holder;
}

BinTypeChoice choose_bin_type(std::span<const TypeCandidate> candidates, const ImportanceBin &bin) {
  if (candidates.empty()) fail("importance bins: no candidate types for a tensor (bin minimum ", bin.min_type->name, ")");
  const double min_bits = bin.min_type->bits_per_weight() - kBitsTolerance;
  std::optional<size_t> cheapest_enough;
  size_t most_bits = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const double bits = candidates[i].bits;
    if (bits > candidates[most_bits].bits) most_bits = i;
    if (bits >= min_bits && (!cheapest_enough || bits < candidates[*cheapest_enough].bits)) cheapest_enough = i;
  }
  if (cheapest_enough) return BinTypeChoice{*cheapest_enough, false};
  return BinTypeChoice{most_bits, true};
}

}  // namespace qs
