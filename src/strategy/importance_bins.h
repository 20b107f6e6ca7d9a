// The importance-bin rule of the strategy step (the alternative to the knee): tensors are binned by
// their imatrix importance percentile, and each bin names the least type its tensors may get.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "quant/types.h"

namespace qs {

struct ImportanceBin {
  double min_percentile = 0;          // holds tensors at or above this, below the next bin's
  const QuantType *min_type = nullptr;  // a row of the type table (static storage)
};

// Parses "90:Q6_K,50:Q5_K,0:Q4_K" (items in any order, type names case-insensitive, spaces
// around items and parts allowed): tensors at or above the 90th percentile get at least Q6_K,
// those in [50, 90) at least Q5_K, the rest at least Q4_K. Returns the bins highest percentile
// first. Throws qs::Error quoting the bad item for a missing ':', a percentile that is not a
// number or is outside [0, 100], an unknown type, a repeated percentile; and for an empty spec,
// an empty item, or no bin at 0 (a tensor of least importance would fit none).
std::vector<ImportanceBin> parse_importance_bins(std::string_view spec);

// The percentile of each importance among all of them: 100 * (how many are strictly lower) /
// (n - 1). Ties share a percentile; the least important tensor is at 0 and the most important at
// 100 whatever the model's size, so a 90 bin is not left empty by a small tensor count (with
// "/ n" the top of 5 tensors would sit at 80). A lone tensor gets 100: the strictest bin, the
// safe side. Throws qs::Error for a non-finite importance.
std::vector<double> importance_percentiles(std::span<const double> importances);

// The bin holding a percentile in [0, 100]: the one with the highest min_percentile at or below
// it. Throws qs::Error when the percentile is out of range or no bin holds it.
const ImportanceBin &bin_for_percentile(std::span<const ImportanceBin> bins, double percentile);

// A type a tensor may get (its measured or allowed types).
struct TypeCandidate {
  std::string type;
  double bits = 0;  // bits per weight
};

struct BinTypeChoice {
  size_t index = 0;            // into the candidates
  bool below_minimum = false;  // no candidate reached the bin's minimum: the one with most bits
};

// The cheapest candidate with at least the bits of the bin's minimum type (compared by bits, so
// Q4_0 meets a Q4_K minimum: both 4.5 bpw; ties go to the first listed). Bits within 1e-6 count
// as equal: they may have been rounded on their way through a CSV. If no candidate reaches the
// minimum, the one with the most bits, flagged. Throws qs::Error for no candidates.
BinTypeChoice choose_bin_type(std::span<const TypeCandidate> candidates, const ImportanceBin &bin);

}  // namespace qs
