// The compare report: self-contained, numbers as documented, names escaped, points where their
// values put them (KLD on a log scale), one heat-map cell per tensor, the Pareto line when given.
#include "verify/compare_report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "test_support.h"
#include "verify/svg_chart.h"

namespace qs::compare_report_test {
namespace {

// A name as a file name may spell it: every character HTML gives a meaning.
const std::string kAwkwardName = "<b>bold</b> & \"q\" 'x'.gguf";
const std::string kAwkwardEscaped = "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;q&quot; &#39;x&#39;.gguf";

StrategyTensor tensor(std::string name, std::string type) {
  StrategyTensor t;
  t.name = std::move(name);
  t.shape = {256, 4};
  t.type = std::move(type);
  t.reason = ChoiceReason::budget;
  t.predicted = 0.001;
  return t;
}

// Two layers of three kinds plus the embeddings and the output; bits come from the type table
// (recompute_totals), the tests compare them with ggml's block sizes worked out by hand.
Strategy two_layer_strategy() {
  Strategy s;
  s.model_source = "tiny-model";
  s.objective.method = "budget";
  s.objective.metric = "kld";
  s.tensors = {tensor("token_embd.weight", "Q4_K"),    tensor("blk.0.attn_q.weight", "Q4_K"),
               tensor("blk.0.attn_v.weight", "Q6_K"),  tensor("blk.0.ffn_down.weight", "Q6_K"),
               tensor("blk.1.attn_q.weight", "Q4_K"),  tensor("blk.1.attn_v.weight", "Q8_0"),
               tensor("blk.1.ffn_down.weight", "Q4_K"), tensor("output.weight", "Q6_K")};
  recompute_totals(s);
  return s;
}

CompareRow row(std::string name, CompareKind kind, uint64_t file_bytes, double bpw, Estimate ppl, Estimate kld,
               double kld_p99, Estimate same_top) {
  CompareRow r;
  r.name = std::move(name);
  r.kind = kind;
  r.file_bytes = file_bytes;
  r.bpw = bpw;
  r.ppl = ppl;
  r.kld = kld;
  r.kld_p99 = kld_p99;
  r.same_top = same_top;
  return r;
}

// KLDs 0.001, 0.01, 0.1: equal ratios, for the log-scale check on the drawn chart.
CompareResult sample_result() {
  CompareResult result;
  result.model = "models/tiny-model";
  result.text = "wiki.test.raw";
  result.base_log_probs = "out/base.logprobs";
  result.base_ppl = {20.81234, 0.38771};
  result.n_scored = 130560;
  result.rows.push_back(row("Q4_K_M", CompareKind::preset, 4096ull * 1048576 + 524288, 4.89187, {21.47531, 0.40628},
                            {0.1, 0.00123}, 0.61, {0.9123, 0.0017}));
  result.rows.push_back(row("Q8_0", CompareKind::preset, 7000ull * 1048576, 8.5, {20.83, 0.388}, {0.001, 0.00004}, 0.012,
                            {0.991, 0.0004}));
  CompareRow strategy = row("budget-5", CompareKind::strategy, 5200ull * 1048576, 5.4, {21.1, 0.395}, {0.01, 0.0003}, 0.15,
                            {0.95, 0.001});
  strategy.predicted = 0.008;
  strategy.predicted_metric = "kld";
  strategy.strategy = two_layer_strategy();
  result.rows.push_back(std::move(strategy));
  result.rows.push_back(row(kAwkwardName, CompareKind::gguf, 4600ull * 1048576, 5.0, {21.3, 0.4}, {0.03, 0.0008}, 0.3,
                            {0.93, 0.0012}));
  return result;
}

std::vector<ParetoPoint> sample_pareto() {
  std::vector<ParetoPoint> points;
  for (int i = 0; i < 8; ++i) {
    ParetoPoint p;
    p.tensor_bytes = static_cast<uint64_t>(3000 + 700 * i) * 1048576;
    p.file_bytes = p.tensor_bytes + 50 * 1048576;
    p.bpw = 3.0 + 0.7 * i;
    p.error = 0.2 / std::pow(2.0, i);
    points.push_back(p);
  }
  return points;
}

// The text from `start` to the end of the first `end` after it ("" when start is not found).
std::string between(const std::string &text, const std::string &start, const std::string &end) {
  const size_t from = text.find(start);
  if (from == std::string::npos) return "";
  const size_t to = text.find(end, from);
  return to == std::string::npos ? "" : text.substr(from, to + end.size() - from);
}

std::string svg_with_id(const std::string &html, const std::string &id) {
  return between(html, "<svg class=\"chart\" id=\"" + id + "\"", "</svg>");
}

std::string attribute(const std::string &element, const std::string &name) {
  const std::string key = " " + name + "=\"";
  const size_t at = element.find(key);
  if (at == std::string::npos) return "";
  const size_t from = at + key.size();
  return element.substr(from, element.find('"', from) - from);
}

// The pixel position of the point named `name` in an SVG chart.
std::pair<double, double> point_position(const std::string &svg, const std::string &name) {
  const std::string group = between(svg, "data-name=\"" + name + "\"", ">");
  std::smatch m;
  static const std::regex kTranslate(R"(translate\(([-0-9.]+),([-0-9.]+)\))");
  if (!std::regex_search(group, m, kTranslate)) {
    ADD_FAILURE() << "no point named " << name;
    return {NAN, NAN};
  }
  return {std::stod(m[1]), std::stod(m[2])};
}

// Every <rect class="cell" ...> opening tag of an SVG.
std::vector<std::string> cells_of(const std::string &svg) {
  std::vector<std::string> cells;
  for (size_t at = svg.find("<rect class=\"cell\""); at != std::string::npos; at = svg.find("<rect class=\"cell\"", at + 1))
    cells.push_back(svg.substr(at, svg.find('>', at) + 1 - at));
  return cells;
}

TEST(CompareReport, IsOneSelfContainedPage) {
  const std::string html = compare_report_html(sample_result(), sample_pareto(), "tiny-model");
  ASSERT_TRUE(html.starts_with("<!DOCTYPE html>"));
  for (const char *outside : {"http://", "https://", "<script", "<link", "src=", "@import", "@font-face", "url(http", "//cdn"})
    EXPECT_EQ(html.find(outside), std::string::npos) << outside;
  EXPECT_NE(html.find("<style>"), std::string::npos);
  EXPECT_TRUE(html.ends_with("</html>\n"));
}

TEST(CompareReport, TableHasEveryRowWithItsNumbersAsDocumented) {
  const CompareResult result = sample_result();
  const std::string html = compare_report_html(result, {}, "tiny-model");
  const std::string table = between(html, "<table class=\"rows\">", "</table>");
  for (const auto &r : result.rows)
    EXPECT_NE(table.find("<tr data-name=\"" + escape_html(r.name) + "\">"), std::string::npos) << r.name;

  const std::string q4 = between(table, "<tr data-name=\"Q4_K_M\">", "</tr>");
  // 4096 MiB + 512 KiB; PPL and its error rounded to 4 decimals, KLD to 6, same top as a percentage.
  for (const char *cell : {"<td class=\"name\">Q4_K_M</td>", "<td>preset</td>", "<td class=\"num\">4295491584</td>",
                           "<td class=\"num\">4096.50</td>", "<td class=\"num\">4.8919</td>",
                           "<td class=\"num\">21.4753 ± 0.4063</td>", "<td class=\"num\">0.100000 ± 0.001230</td>",
                           "<td class=\"num\">0.610000</td>", "<td class=\"num\">91.23 ± 0.17 %</td>"})
    EXPECT_NE(q4.find(cell), std::string::npos) << cell << "\nin " << q4;
  EXPECT_NE(between(table, "<tr data-name=\"budget-5\">", "</tr>").find("<td>strategy</td>"), std::string::npos);
  EXPECT_NE(between(table, "<tr data-name=\"" + kAwkwardEscaped + "\">", "</tr>").find("<td>gguf</td>"), std::string::npos);

  const std::string facts = between(html, "<dl class=\"facts\">", "</dl>");
  for (const char *fact : {"models/tiny-model", "wiki.test.raw", "130560", "20.8123 ± 0.3877"})
    EXPECT_NE(facts.find(fact), std::string::npos) << fact;
}

TEST(CompareReport, EscapesNamesAndTitle) {
  const std::string html = compare_report_html(sample_result(), sample_pareto(), "report <i>&</i>");
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_EQ(html.find("<i>"), std::string::npos);
  EXPECT_EQ(html.find("\"q\""), std::string::npos);
  EXPECT_NE(html.find("<title>report &lt;i&gt;&amp;&lt;/i&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find(kAwkwardEscaped), std::string::npos);
  // The chart point carries the escaped name too (a raw quote would end its data-name early).
  EXPECT_NE(svg_with_id(html, "chart-size-kld").find("data-name=\"" + kAwkwardEscaped + "\""), std::string::npos);
}

TEST(CompareReport, KldChartPutsLargerKldHigherOnALogScale) {
  const std::string svg = svg_with_id(compare_report_html(sample_result(), {}, "t"), "chart-size-kld");
  ASSERT_FALSE(svg.empty());
  const auto q4 = point_position(svg, "Q4_K_M");      // KLD 0.1, 4096.5 MiB
  const auto q8 = point_position(svg, "Q8_0");        // KLD 0.001, 7000 MiB
  const auto mix = point_position(svg, "budget-5");   // KLD 0.01, 5200 MiB
  EXPECT_LT(q4.second, mix.second);  // SVG y grows downwards: larger KLD, smaller y
  EXPECT_LT(mix.second, q8.second);
  EXPECT_LT(q4.first, mix.first);    // and larger files further right
  EXPECT_LT(mix.first, q8.first);
  // 0.001 -> 0.01 and 0.01 -> 0.1 are the same ratio: the same distance (coordinates have 2 decimals).
  EXPECT_NEAR(q8.second - mix.second, mix.second - q4.second, 0.011);
}

TEST(SvgChart, LogAxisMapsEqualRatiosToEqualDistances) {
  const SvgChart chart("c", Axis{"x", AxisScale::linear, 0, 10}, Axis{"y", AxisScale::log, 1e-4, 2.0});
  for (const double start : {1.5e-4, 3e-3, 0.07}) {
    const double step1 = chart.y_pixel(start) - chart.y_pixel(start * 3);
    const double step2 = chart.y_pixel(start * 3) - chart.y_pixel(start * 9);
    EXPECT_GT(step1, 0);
    EXPECT_NEAR(step1, step2, 1e-6);
  }
  // The ends of the range are the ends of the plot area (default frame: top 40, height 420, bottom 52).
  EXPECT_NEAR(chart.y_pixel(2.0), 40, 1e-9);
  EXPECT_NEAR(chart.y_pixel(1e-4), 420 - 52, 1e-9);
  EXPECT_FALSE(chart.y_drawable(0));
}

TEST(SvgChart, LogTicksAreDecadesOrFinerSteps) {
  const auto expect_ticks = [](const Axis &axis, const std::vector<double> &expected) {
    const std::vector<double> ticks = axis_ticks(axis);
    ASSERT_EQ(ticks.size(), expected.size());
    for (size_t i = 0; i < ticks.size(); ++i) EXPECT_NEAR(ticks[i], expected[i], expected[i] * 1e-12);
  };
  expect_ticks(Axis{"", AxisScale::log, 5e-4, 0.2}, {1e-3, 1e-2, 1e-1});       // three decades: enough
  expect_ticks(Axis{"", AxisScale::log, 0.03, 0.3}, {0.05, 0.1, 0.2});          // one decade: 1-2-5
  expect_ticks(Axis{"", AxisScale::log, 0.0105, 0.0185},  // less: plain 1-2-5 steps
               {0.011, 0.012, 0.013, 0.014, 0.015, 0.016, 0.017, 0.018});
}

TEST(CompareReport, ZeroKldIsNamedInsteadOfDrawn) {
  CompareResult result = sample_result();
  result.rows[1].kld = {0, 0};
  const std::string html = compare_report_html(result, {}, "t");
  EXPECT_EQ(svg_with_id(html, "chart-size-kld").find("data-name=\"Q8_0\""), std::string::npos);
  EXPECT_NE(svg_with_id(html, "chart-size-ppl").find("data-name=\"Q8_0\""), std::string::npos);
  EXPECT_NE(html.find("Not on the log scale (mean KLD 0 or below): Q8_0."), std::string::npos);
}

TEST(CompareReport, HeatMapHasOneCellPerTensorWithItsBits) {
  const std::string html = compare_report_html(sample_result(), {}, "t");
  const std::string map = between(html, "<div class=\"bits\" data-strategy=\"budget-5\">", "</div>");
  const std::vector<std::string> cells = cells_of(map);
  ASSERT_EQ(cells.size(), 8u);

  // ggml's blocks: Q4_K 144 bytes / 256 weights, Q6_K 210 / 256, Q8_0 34 / 32.
  const std::map<std::pair<std::string, std::string>, std::string> expected_bits = {
      {{"token_embd", "token_embd"}, "4.5"}, {{"0", "attn_q"}, "4.5"}, {{"0", "attn_v"}, "6.5625"},
      {{"0", "ffn_down"}, "6.5625"},         {{"1", "attn_q"}, "4.5"}, {{"1", "attn_v"}, "8.5"},
      {{"1", "ffn_down"}, "4.5"},            {{"output", "output"}, "6.5625"}};
  std::map<std::pair<std::string, std::string>, std::string> seen;
  std::map<std::string, double> x_of_layer, y_of_kind;
  for (const auto &cell : cells) {
    const std::pair<std::string, std::string> place{attribute(cell, "data-layer"), attribute(cell, "data-kind")};
    EXPECT_TRUE(seen.emplace(place, attribute(cell, "data-bits")).second) << "two cells at " << place.first << "/" << place.second;
    x_of_layer[place.first] = std::stod(attribute(cell, "x"));
    if (place.first == "0") y_of_kind[place.second] = std::stod(attribute(cell, "y"));
  }
  EXPECT_EQ(seen, expected_bits);
  // Embeddings at the left end, output at the right, layers in order; kinds in a block's order.
  EXPECT_LT(x_of_layer["token_embd"], x_of_layer["0"]);
  EXPECT_LT(x_of_layer["0"], x_of_layer["1"]);
  EXPECT_LT(x_of_layer["1"], x_of_layer["output"]);
  EXPECT_LT(y_of_kind["attn_q"], y_of_kind["attn_v"]);
  EXPECT_LT(y_of_kind["attn_v"], y_of_kind["ffn_down"]);
  // A legend entry per type used, with how many tensors use it.
  EXPECT_NE(map.find("Q4_K 4.5 bpw ×4"), std::string::npos);
  EXPECT_NE(map.find("Q6_K 6.5625 bpw ×3"), std::string::npos);
  EXPECT_NE(map.find("Q8_0 8.5 bpw ×1"), std::string::npos);
}

TEST(CompareReport, ParetoLineOnlyWhenPointsWithFileSizesAreGiven) {
  const CompareResult result = sample_result();
  const std::string with = svg_with_id(compare_report_html(result, sample_pareto(), "t"), "chart-size-kld");
  const std::string line = between(with, "<polyline", ">");
  ASSERT_NE(line.find("data-series=\"pareto\""), std::string::npos);
  // Less error at larger sizes: the line falls (y grows) from left to right.
  std::istringstream points(attribute(line, "points"));
  std::vector<std::pair<double, double>> xy;
  for (std::string pair; points >> pair;) xy.emplace_back(std::stod(pair), std::stod(pair.substr(pair.find(',') + 1)));
  ASSERT_GE(xy.size(), 2u);
  for (size_t i = 1; i < xy.size(); ++i) {
    EXPECT_GT(xy[i].first, xy[i - 1].first);
    EXPECT_GT(xy[i].second, xy[i - 1].second);
  }

  EXPECT_EQ(compare_report_html(result, {}, "t").find("data-series=\"pareto\""), std::string::npos);
  std::vector<ParetoPoint> without_file_sizes = sample_pareto();
  for (auto &p : without_file_sizes) p.file_bytes.reset();
  EXPECT_EQ(compare_report_html(result, without_file_sizes, "t").find("data-series=\"pareto\""), std::string::npos);
}

TEST(CompareReport, PredictedAgainstMeasured) {
  const std::string html = compare_report_html(sample_result(), {}, "t");
  const std::string table = between(html, "<table class=\"predictions\">", "</table>");
  const std::string mix = between(table, "<tr data-name=\"budget-5\">", "</tr>");
  // predicted 0.008, measured 0.01: 1.25 times the prediction.
  for (const char *cell : {"<td>kld</td>", "<td class=\"num\">0.008000</td>", "<td class=\"num\">0.010000 ± 0.000300</td>",
                           "<td class=\"num\">1.250</td>"})
    EXPECT_NE(mix.find(cell), std::string::npos) << cell << "\nin " << mix;
  EXPECT_EQ(table.find("Q4_K_M"), std::string::npos);  // presets predict nothing
}

TEST(CompareReport, WritesTheFileAndRefusesAnUnwritablePath) {
  test::ScratchDir dir;
  const CompareResult result = sample_result();
  const auto path = dir / "report.html";
  write_compare_report(result, sample_pareto(), path);
  std::ifstream in(path);
  const std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(written, compare_report_html(result, sample_pareto(), "quantscope compare: models/tiny-model"));
  EXPECT_FALSE(std::filesystem::exists(dir / "report.html.tmp"));

  const auto missing = dir / "no-such-folder" / "report.html";
  test::expect_error_containing([&] { write_compare_report(result, {}, missing); }, {missing.string()});
  EXPECT_FALSE(std::filesystem::exists(missing));
}

}  // namespace
}  // namespace qs::compare_report_test
