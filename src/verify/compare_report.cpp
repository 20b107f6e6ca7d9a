// Assembling the compare report: facts, charts, heat maps and tables as one HTML string.
#include "verify/compare_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "core/error.h"
#include "core/text_file.h"
#include "verify/svg_chart.h"

namespace qs {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

double mib(uint64_t bytes) { return static_cast<double>(bytes) / kMiB; }

std::string short_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

std::string ppl_text(const Estimate &e) { return cat(fixed_decimals(e.value, 4), " ± ", fixed_decimals(e.error, 4)); }
std::string kld_text(const Estimate &e) { return cat(fixed_decimals(e.value, 6), " ± ", fixed_decimals(e.error, 6)); }
std::string percent_text(const Estimate &e) {
  return cat(fixed_decimals(100 * e.value, 2), " ± ", fixed_decimals(100 * e.error, 2), " %");
}

// One look per kind of row, used by markers and legends alike.
struct KindStyle {
  CompareKind kind;
  MarkerShape shape;
  const char *css_class;
  const char *legend;
};
constexpr KindStyle kKindStyles[] = {
    {CompareKind::preset, MarkerShape::circle, "series-preset", "stock preset"},
    {CompareKind::strategy, MarkerShape::diamond, "series-strategy", "strategy"},
    {CompareKind::gguf, MarkerShape::triangle, "series-gguf", "GGUF"},
};

const KindStyle &style_of(CompareKind kind) {
  for (const auto &style : kKindStyles)
    if (style.kind == kind) return style;
  return kKindStyles[0];
}

std::string row_tooltip(const CompareRow &row) {
  return cat(row.name, " (", compare_kind_name(row.kind), ")\n", fixed_decimals(mib(row.file_bytes), 2), " MiB, ",
             fixed_decimals(row.bpw, 4), " bpw\nPPL ", ppl_text(row.ppl), "\nKLD ", kld_text(row.kld), "\nsame top token ",
             percent_text(row.same_top));
}

// The metric the strategies' predictions are in: the first one named ("" when none is).
std::string prediction_metric(const CompareResult &result) {
  for (const auto &row : result.rows)
    if (row.predicted && !row.predicted_metric.empty()) return row.predicted_metric;
  return "";
}

void add_kind_legend(SvgChart &chart, const CompareResult &result) {
  for (const auto &style : kKindStyles)
    if (std::any_of(result.rows.begin(), result.rows.end(), [&](const CompareRow &r) { return r.kind == style.kind; }))
      chart.add_legend({style.legend, style.shape, style.css_class});
}

Axis size_axis(const CompareResult &result) {
  std::vector<double> sizes;
  for (const auto &row : result.rows) sizes.push_back(mib(row.file_bytes));
  return fit_axis("file size (MiB)", AxisScale::linear, sizes);
}

// --- size vs KLD ----------------------------------------------------------------------------

// The Pareto points inside the x range, plus the nearest one beyond each edge so the clipped line
// runs to the frame.
std::vector<std::pair<double, double>> pareto_in_view(const std::vector<ParetoPoint> &pareto, const Axis &x) {
  std::vector<std::pair<double, double>> all;
  for (const auto &p : pareto)
    if (p.file_bytes && p.error > 0) all.emplace_back(mib(*p.file_bytes), p.error);
  std::sort(all.begin(), all.end());
  std::vector<std::pair<double, double>> view;
  for (size_t i = 0; i < all.size(); ++i) {
    const bool inside = all[i].first >= x.min && all[i].first <= x.max;
    const bool next_inside = i + 1 < all.size() && all[i + 1].first >= x.min && all[i + 1].first <= x.max;
    const bool previous_inside = i > 0 && all[i - 1].first >= x.min && all[i - 1].first <= x.max;
    if (inside || (all[i].first < x.min && next_inside) || (all[i].first > x.max && previous_inside)) view.push_back(all[i]);
  }
  return view;
}

std::string kld_section(const CompareResult &result, const std::vector<ParetoPoint> &pareto) {
  const Axis x = size_axis(result);
  const std::string metric = prediction_metric(result);
  const bool predictions_are_kld = metric == "kld";
  const auto curve = pareto_in_view(pareto, x);

  std::vector<double> ys;
  for (const auto &row : result.rows) {
    ys.push_back(row.kld.value);
    if (predictions_are_kld && row.predicted) ys.push_back(*row.predicted);
  }
  for (const auto &[size, error] : curve)
    if (size >= x.min && size <= x.max) ys.push_back(error);
  SvgChart chart("chart-size-kld", x, fit_axis("mean KLD (log scale)", AxisScale::log, ys));

  std::vector<std::string> not_drawn;
  for (const auto &row : result.rows) {
    if (!chart.y_drawable(row.kld.value)) not_drawn.push_back(row.name);
    const KindStyle &style = style_of(row.kind);
    chart.add_point({row.name, mib(row.file_bytes), row.kld.value, std::nullopt, style.shape, style.css_class, row_tooltip(row)});
    if (predictions_are_kld && row.predicted)
      chart.add_point({row.name + " (predicted)", mib(row.file_bytes), *row.predicted, std::nullopt, MarkerShape::ring,
                       "series-predicted", cat(row.name, ": predicted summed KLD ", short_number(*row.predicted)), false});
  }
  add_kind_legend(chart, result);
  const std::string predicted_label = metric.empty() || predictions_are_kld ? "predicted" : cat("predicted (", metric, ")");
  if (curve.size() >= 2) {
    chart.add_line({"pareto", curve, "series-predicted", cat("predicted summed ", metric.empty() ? "error" : metric, " vs file size")});
    chart.add_legend({predicted_label, std::nullopt, "series-predicted"});
  }
  if (predictions_are_kld && std::any_of(result.rows.begin(), result.rows.end(), [](const CompareRow &r) { return r.predicted.has_value(); }))
    chart.add_legend({"strategy, predicted", MarkerShape::ring, "series-predicted"});

  std::string out = "<h2>Size and KL divergence</h2>\n" + chart.svg() + "\n";
  if (curve.size() >= 2 && !predictions_are_kld)
    out += cat("<p class=\"note\">The predicted curve is the strategies' summed ", escape_html(metric.empty() ? "error" : metric),
               ", which is not in KLD units: compare its shape, not its height.</p>\n");
  else if (curve.size() >= 2)
    out += "<p class=\"note\">The predicted curve is the least summed per-tensor KLD the strategy builder found at each file size.</p>\n";
  if (!not_drawn.empty()) {
    std::string names;
    for (const auto &name : not_drawn) names += (names.empty() ? "" : ", ") + escape_html(name);
    out += cat("<p class=\"note\">Not on the log scale (mean KLD 0 or below): ", names, ".</p>\n");
  }
  return out;
}

// --- size vs PPL ----------------------------------------------------------------------------

std::string ppl_section(const CompareResult &result) {
  std::vector<double> ys{result.base_ppl.value};
  for (const auto &row : result.rows) {
    ys.push_back(row.ppl.value - row.ppl.error);
    ys.push_back(row.ppl.value + row.ppl.error);
  }
  SvgChart chart("chart-size-ppl", size_axis(result), fit_axis("perplexity", AxisScale::linear, ys));
  chart.add_horizontal_rule(result.base_ppl.value, cat("unquantized ", fixed_decimals(result.base_ppl.value, 4)), "base");
  for (const auto &row : result.rows) {
    const KindStyle &style = style_of(row.kind);
    chart.add_point({row.name, mib(row.file_bytes), row.ppl.value, row.ppl.error, style.shape, style.css_class, row_tooltip(row)});
  }
  add_kind_legend(chart, result);
  return "<h2>Size and perplexity</h2>\n" + chart.svg() +
         "\n<p class=\"note\">Bars: ± one standard error. The dashed line is the unquantized model.</p>\n";
}

// --- all rows -------------------------------------------------------------------------------

std::string rows_table(const CompareResult &result) {
  std::string out =
      "<h2>All files</h2>\n<table class=\"rows\"><thead><tr><th>name</th><th>kind</th><th>file bytes</th><th>MiB</th>"
      "<th>bpw</th><th>PPL</th><th>mean KLD</th><th>KLD p99</th><th>same top token</th></tr></thead><tbody>\n";
  for (const auto &row : result.rows) {
    out += cat("<tr data-name=\"", escape_html(row.name), "\"><td class=\"name\">", escape_html(row.name), "</td><td>",
               compare_kind_name(row.kind), "</td><td class=\"num\">", row.file_bytes, "</td><td class=\"num\">",
               fixed_decimals(mib(row.file_bytes), 2), "</td><td class=\"num\">", fixed_decimals(row.bpw, 4),
               "</td><td class=\"num\">", ppl_text(row.ppl), "</td><td class=\"num\">", kld_text(row.kld),
               "</td><td class=\"num\">", fixed_decimals(row.kld_p99, 6), "</td><td class=\"num\">",
               percent_text(row.same_top), "</td></tr>\n");
  }
  return out + "</tbody></table>\n";
}

// --- predicted vs measured ------------------------------------------------------------------

std::string prediction_section(const CompareResult &result) {
  std::vector<const CompareRow *> predicted;
  for (const auto &row : result.rows)
    if (row.predicted) predicted.push_back(&row);
  if (predicted.empty()) return "";
  std::string out =
      "<h2>Predicted and measured error</h2>\n<table class=\"predictions\"><thead><tr><th>strategy</th><th>metric</th>"
      "<th>predicted sum</th><th>measured mean KLD</th><th>measured / predicted</th></tr></thead><tbody>\n";
  bool other_units = false;
  for (const CompareRow *row : predicted) {
    other_units |= row->predicted_metric != "kld";
    const std::string ratio = *row->predicted > 0 ? fixed_decimals(row->kld.value / *row->predicted, 3) : "–";
    out += cat("<tr data-name=\"", escape_html(row->name), "\"><td class=\"name\">", escape_html(row->name), "</td><td>",
               escape_html(row->predicted_metric), "</td><td class=\"num\">", fixed_decimals(*row->predicted, 6),
               "</td><td class=\"num\">", kld_text(row->kld), "</td><td class=\"num\">", ratio, "</td></tr>\n");
  }
  out += "</tbody></table>\n";
  if (other_units)
    out += "<p class=\"note\">A prediction in another metric than kld is in its own units: its ratio is a scale, not an error.</p>\n";

  // With three or more, a scatter shows whether the prediction ranks them right.
  std::vector<double> xs, ys;
  for (const CompareRow *row : predicted) xs.push_back(*row->predicted), ys.push_back(row->kld.value);
  if (predicted.size() >= 3) {
    SvgChart chart("chart-predicted-measured", fit_axis("predicted sum (log scale)", AxisScale::log, xs),
                   fit_axis("measured mean KLD (log scale)", AxisScale::log, ys), ChartFrame{560, 380});
    for (const CompareRow *row : predicted)
      chart.add_point({row->name, *row->predicted, row->kld.value, std::nullopt, MarkerShape::diamond, "series-strategy",
                       cat(row->name, ": predicted ", short_number(*row->predicted), ", measured ", kld_text(row->kld))});
    if (!other_units) {
      std::vector<double> all = xs;
      all.insert(all.end(), ys.begin(), ys.end());
      const auto [lo, hi] = std::minmax_element(all.begin(), all.end());
      chart.add_line({"equal", {{*lo, *lo}, {*hi, *hi}}, "series-equal", "measured = predicted"});
      chart.add_legend({"measured = predicted", std::nullopt, "series-equal"});
    }
    out += chart.svg() + "\n";
  }
  return out;
}

// --- bits per tensor by layer ---------------------------------------------------------------

// Where a tensor sits in the heat map: "blk.N.<kind>.weight" is layer N; any other tensor has a
// column of its own, token embeddings on the left and the rest (output, ...) on the right.
struct TensorPlace {
  std::optional<int64_t> layer;
  std::string kind;  // "attn_v"; for a tensor outside the blocks its own name ("token_embd")
};

TensorPlace place_of(std::string_view name) {
  std::string_view stem = name;
  if (stem.ends_with(".weight")) stem.remove_suffix(7);
  TensorPlace place;
  if (stem.starts_with("blk.")) {
    const std::string_view rest = stem.substr(4);
    const size_t dot = rest.find('.');
    const std::string_view digits = rest.substr(0, dot);
    if (dot != std::string_view::npos && !digits.empty() && digits.size() <= 9 &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      place.layer = std::stoll(std::string(digits));
      place.kind = std::string(rest.substr(dot + 1));
      return place;
    }
  }
  place.kind = std::string(stem);
  return place;
}

// Rows top to bottom in the order of a block's computation; kinds not listed follow by name.
constexpr const char *kKindOrder[] = {
    "attn_q",        "attn_k",         "attn_v",         "attn_qkv",      "attn_q_a",      "attn_q_b",
    "attn_kv_a_mqa", "attn_kv_b",      "attn_k_b",       "attn_v_b",      "attn_output",   "ffn_gate_inp",
    "ffn_gate",      "ffn_up",         "ffn_down",       "ffn_gate_exps", "ffn_up_exps",   "ffn_down_exps",
    "ffn_gate_shexp", "ffn_up_shexp",  "ffn_down_shexp",
};

size_t kind_rank(const std::string &kind) {
  const auto *found = std::find(std::begin(kKindOrder), std::end(kKindOrder), kind);
  return static_cast<size_t>(found - std::begin(kKindOrder));
}

// Colour by bits on a log scale fixed from 1.5 to 16 bpw, so that a type has the same colour in
// every strategy and every report (F32 shares F16's end of the scale).
std::string bits_colour(double bits) {
  return viridis_colour(std::log(std::max(bits, 1e-3) / 1.5) / std::log(16.0 / 1.5));
}

HeatMap bits_heat_map(const Strategy &strategy) {
  std::vector<TensorPlace> places;
  std::set<int64_t> layers;
  std::vector<std::string> left_columns, right_columns;
  std::set<std::string> kinds;
  for (const auto &tensor : strategy.tensors) {
    places.push_back(place_of(tensor.name));
    const TensorPlace &place = places.back();
    if (place.layer)
      layers.insert(*place.layer), kinds.insert(place.kind);
    else
      (place.kind.starts_with("token_embd") ? left_columns : right_columns).push_back(place.kind);
  }
  std::vector<std::string> rows(kinds.begin(), kinds.end());
  std::stable_sort(rows.begin(), rows.end(), [](const std::string &a, const std::string &b) { return kind_rank(a) < kind_rank(b); });
  if (rows.empty()) rows.push_back("");  // only whole-column tensors: they still need a row's height

  HeatMap map;
  map.x_label = "layer";
  map.rows = rows;
  std::map<std::string, size_t> column_of_tensor;
  std::map<int64_t, size_t> column_of_layer;
  for (const auto &name : left_columns) column_of_tensor[name] = map.columns.size(), map.columns.push_back(name);
  for (const int64_t layer : layers) column_of_layer[layer] = map.columns.size(), map.columns.push_back(std::to_string(layer));
  for (const auto &name : right_columns) column_of_tensor[name] = map.columns.size(), map.columns.push_back(name);

  struct TypeUse {
    double bits;
    int64_t count;
  };
  std::map<std::string, TypeUse> types;
  for (size_t i = 0; i < strategy.tensors.size(); ++i) {
    const StrategyTensor &tensor = strategy.tensors[i];
    const TensorPlace &place = places[i];
    HeatCell cell;
    cell.whole_column = !place.layer;
    cell.column = place.layer ? column_of_layer.at(*place.layer) : column_of_tensor.at(place.kind);
    cell.row = place.layer ? static_cast<size_t>(std::find(rows.begin(), rows.end(), place.kind) - rows.begin()) : 0;
    cell.fill = bits_colour(tensor.bits);
    std::string tooltip = cat(tensor.name, "\n", tensor.type, ", ", short_number(tensor.bits), " bpw, ",
                              fixed_decimals(mib(tensor.bytes), 2), " MiB (", choice_reason_name(tensor.reason), ")");
    if (tensor.predicted) tooltip += cat("\npredicted ", short_number(*tensor.predicted));
    cell.tooltip = std::move(tooltip);
    cell.data = {{"tensor", tensor.name},
                 {"layer", place.layer ? std::to_string(*place.layer) : place.kind},
                 {"kind", place.kind},
                 {"type", tensor.type},
                 {"bits", short_number(tensor.bits)}};
    map.cells.push_back(std::move(cell));
    auto [use, inserted] = types.try_emplace(tensor.type, TypeUse{tensor.bits, 0});
    ++use->second.count;
  }
  std::vector<std::pair<std::string, TypeUse>> by_bits(types.begin(), types.end());
  std::stable_sort(by_bits.begin(), by_bits.end(), [](const auto &a, const auto &b) { return a.second.bits < b.second.bits; });
  for (const auto &[type, use] : by_bits)
    map.legend.push_back({bits_colour(use.bits), cat(type, " ", short_number(use.bits), " bpw ×", use.count)});
  return map;
}

std::string bits_section(const CompareResult &result) {
  std::string out;
  for (const auto &row : result.rows) {
    if (!row.strategy || row.strategy->tensors.empty()) continue;
    const Strategy &s = *row.strategy;
    std::string summary = cat(s.tensors.size(), " tensors, ", fixed_decimals(s.totals.bpw, 4), " bpw over them");
    if (!s.objective.method.empty()) summary += cat(", method ", s.objective.method);
    if (!s.objective.metric.empty()) summary += cat(", metric ", s.objective.metric);
    if (s.totals.predicted) summary += cat(", predicted sum ", short_number(*s.totals.predicted));
    out += cat("<h3>", escape_html(row.name), "</h3>\n<p class=\"note\">", escape_html(summary), "</p>\n",
               "<div class=\"bits\" data-strategy=\"", escape_html(row.name), "\">", heat_map_svg(bits_heat_map(s)), "</div>\n");
  }
  if (out.empty()) return "";
  return "<h2>Bits per weight by layer</h2>\n<p class=\"note\">One cell per tensor, coloured by its type's bits per "
         "weight (the same colour for a type in every strategy). Hover a cell for its tensor and type.</p>\n" + out;
}

// --- the page -------------------------------------------------------------------------------

std::string facts(const CompareResult &result) {
  std::string out = "<dl class=\"facts\">";
  const auto fact = [&](std::string_view term, const std::string &value) {
    out += cat("<dt>", term, "</dt><dd>", escape_html(value), "</dd>");
  };
  fact("model", result.model);
  fact("text", result.text.string());
  fact("scored tokens", std::to_string(result.n_scored));
  fact("unquantized PPL", ppl_text(result.base_ppl));
  if (!result.base_log_probs.empty()) fact("reference log-probs", result.base_log_probs.string());
  return out + "</dl>\n";
}

std::string page_css() {
  return R"(body { font: 14px/1.45 system-ui, sans-serif; color: #222; max-width: 1120px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 8px; }
h2 { font-size: 17px; margin-top: 36px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 22px 0 2px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.facts dt { color: #666; } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: left; }
th { background: #f6f6f6; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:hover { background: #f3f7fc; }
.note { color: #666; font-size: 13px; margin: 4px 0 8px; }
.series-preset { fill: #1f77b4; stroke: #1f77b4; }
.series-strategy { fill: #d62728; stroke: #d62728; }
.series-gguf { fill: #2ca02c; stroke: #2ca02c; }
.series-predicted { fill: #9467bd; stroke: #9467bd; }
.series-equal { stroke: #aaa; stroke-dasharray: 3 3; }
)" + svg_chart_css();
}

}  // namespace

std::string compare_report_html(const CompareResult &result, const std::vector<ParetoPoint> &pareto, std::string_view title) {
  // The policy forbids every fetch, so a later edit that adds a URL fails visibly instead of
  // silently needing the network.
  std::string out = cat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
      escape_html(title), "</title>\n<style>\n", page_css(), "</style>\n</head>\n<body>\n<h1>", escape_html(title), "</h1>\n");
  out += facts(result);
  if (result.rows.empty()) {
    out += "<p>Nothing was compared.</p>\n";
  } else {
    out += kld_section(result, pareto);
    out += ppl_section(result);
    out += rows_table(result);
    out += prediction_section(result);
    out += bits_section(result);
  }
  return out + "</body>\n</html>\n";
}

void write_compare_report(const CompareResult &result, const std::vector<ParetoPoint> &pareto, const std::filesystem::path &path) {
  write_file_atomically(path, compare_report_html(result, pareto, cat("quantscope compare: ", result.model)));
}

}  // namespace qs
