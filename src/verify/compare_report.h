// The HTML report of `quantscope compare`: one self-contained page (inline CSS and SVG, no script,
// no font, no URL of any kind, so it opens offline and from an archive) with size vs KLD and size vs
// PPL charts, each strategy's bits per tensor by layer, predicted vs measured error, and a table of
// every row.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "strategy/strategy_builder.h"
#include "verify/compare.h"

namespace qs {

// The page. `pareto` (may be empty) is the predicted curve of summed error vs size the strategies
// were chosen from; its points with file_bytes are drawn on the KLD chart. Every name is escaped.
//
// Numbers in the table: file size in bytes and in MiB (2 decimals), bpw 4 decimals, PPL
// "21.4753 ± 0.4063" (4 decimals each), mean KLD "0.012345 ± 0.000321" and KLD p99 (6 decimals),
// same top token "95.12 ± 0.08 %" (a percentage, 2 decimals).
//
// For tools and tests the SVG carries data: each chart point is <g data-name="..."
// transform="translate(x,y)">, the predicted curve <polyline data-series="pareto">, each heat-map
// cell <rect class="cell" data-tensor data-layer data-kind data-type data-bits>, each table row
// <tr data-name="...">.
std::string compare_report_html(const CompareResult &result, const std::vector<ParetoPoint> &pareto,
                                std::string_view title);

// Writes the page (titled after the model) to path atomically; throws qs::Error naming the path when
// it cannot be written.
void write_compare_report(const CompareResult &result, const std::vector<ParetoPoint> &pareto,
                          const std::filesystem::path &path);

}  // namespace qs
