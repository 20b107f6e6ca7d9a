// Small inline-SVG charts for the offline HTML reports: an x/y chart (linear or log axes, labelled
// markers with tooltips and error bars, lines) and a grid of coloured cells (a heat map). Output is
// plain SVG text with no external references; colours and fonts come from svg_chart_css().
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qs {

// &, <, >, " and ' as entities: safe in HTML/SVG text and in quoted attribute values.
std::string escape_html(std::string_view text);

// printf-style "%.*f" in the C locale's notation ("21.4753").
std::string fixed_decimals(double value, int decimals);

enum class AxisScale { linear, log };

struct Axis {
  std::string label;
  AxisScale scale = AxisScale::linear;
  double min = 0, max = 1;  // log: both > 0
};

// An axis whose range covers every value with a small margin. A log axis ignores values <= 0 (they
// have no place on it); with no usable value at all the range is [0, 1] (linear) or [0.1, 1] (log).
Axis fit_axis(std::string label, AxisScale scale, std::span<const double> values);

// Tick positions: 1-2-5 steps on a linear axis; decades on a log axis, with 2× and 5× (or every
// integer multiple) added while fewer than three ticks fall in the range.
std::vector<double> axis_ticks(const Axis &axis);

// Pixel layout of a chart: the plot area is the whole minus the margins.
struct ChartFrame {
  double width = 760, height = 420;
  double left = 78, right = 24, top = 40, bottom = 52;
};

enum class MarkerShape { circle, diamond, triangle, square, ring };

struct ChartPoint {
  std::string name;       // drawn beside the marker and kept as data-name
  double x = 0, y = 0;
  std::optional<double> y_error;  // error bar from y - e to y + e
  MarkerShape shape = MarkerShape::circle;
  std::string css_class;  // the series' colour class
  std::string tooltip;    // the hover text (<title>); the name when empty
  bool show_label = true;
};

struct ChartLine {
  std::string series;     // data-series
  std::vector<std::pair<double, double>> xy;  // points outside a log axis's domain are dropped
  std::string css_class;
  std::string tooltip;
};

struct LegendEntry {
  std::string label;
  std::optional<MarkerShape> marker;  // a line sample when none
  std::string css_class;
};

// An x/y chart. Points are drawn as <g class="point ..." data-name="..." transform="translate(px,py)">
// so a reader (or a test) finds each point's pixel position; lines as <polyline class="line ..."
// data-series="...">, clipped to the plot area.
class SvgChart {
 public:
  // `id` must be unique within the page (it names the clip path).
  SvgChart(std::string id, Axis x, Axis y, ChartFrame frame = {});

  // The pixel of a value (SVG y grows downwards). A log axis maps equal ratios to equal distances.
  double x_pixel(double x) const;
  double y_pixel(double y) const;
  // Whether the value can be drawn on the axis at all (log: > 0).
  bool x_drawable(double x) const;
  bool y_drawable(double y) const;

  void add_point(ChartPoint point);           // ignored when not drawable
  void add_line(ChartLine line);
  void add_horizontal_rule(double y, std::string label, std::string css_class);
  void add_legend(LegendEntry entry);

  std::string svg() const;

 private:
  std::string axes_svg() const;
  std::string legend_svg() const;
  std::string points_svg() const;

  std::string id_;
  Axis x_, y_;
  ChartFrame frame_;
  std::vector<ChartPoint> points_;
  std::vector<ChartLine> lines_;
  struct Rule {
    double y;
    std::string label, css_class;
  };
  std::vector<Rule> rules_;
  std::vector<LegendEntry> legend_;
};

// A heat map: named columns and rows, one coloured cell per (column, row) given; a cell with
// whole_column set spans every row (for a tensor that has a column to itself). Cells are
// <rect class="cell" data-...> with the given data attributes, and a <title> tooltip.
struct HeatCell {
  size_t column = 0, row = 0;
  bool whole_column = false;
  std::string fill;                      // "#rrggbb"
  std::string tooltip;
  std::vector<std::pair<std::string, std::string>> data;  // ("bits", "4.5") -> data-bits="4.5"
};

struct HeatSwatch {
  std::string fill;
  std::string label;
};

struct HeatMap {
  std::string x_label, y_label;
  std::vector<std::string> columns, rows;
  std::vector<HeatCell> cells;
  std::vector<HeatSwatch> legend;  // shown under the grid
};

std::string heat_map_svg(const HeatMap &map);

// A colour from a perceptually even blue-green-yellow scale (viridis): t = 0 dark blue, t = 1
// yellow; t is clamped to [0, 1].
std::string viridis_colour(double t);

// The CSS the charts' classes need (axes, grid, labels, tooltips); a page includes it once.
std::string svg_chart_css();

}  // namespace qs
