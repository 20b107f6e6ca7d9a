// Inline SVG charts: axes and ticks, labelled markers, lines, heat-map cells.
#include "verify/svg_chart.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace qs {

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string fixed_decimals(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

namespace {

// Coordinates and tick labels: short, and never in exponent form for pixel values.
std::string pixel(double value) { return fixed_decimals(value, 2); }

std::string tick_label(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

// Widths are estimated (no font metrics offline): 11px sans-serif averages about 6.2px a character.
double text_width(std::string_view text) { return 6.2 * static_cast<double>(text.size()); }

// Where a value lies along the axis, 0 at min and 1 at max.
double axis_fraction(const Axis &axis, double value) {
  if (axis.scale == AxisScale::log)
    return (std::log(value) - std::log(axis.min)) / (std::log(axis.max) - std::log(axis.min));
  return (value - axis.min) / (axis.max - axis.min);
}

bool axis_drawable(const Axis &axis, double value) {
  return std::isfinite(value) && (axis.scale == AxisScale::linear || value > 0);
}

std::vector<double> linear_ticks(double min, double max) {
  const double raw = (max - min) / 6;
  if (!(raw > 0) || !std::isfinite(raw)) return {min};
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double normalized = raw / magnitude;
  const double step = magnitude * (normalized < 1.5 ? 1 : normalized < 3.5 ? 2 : normalized < 7.5 ? 5 : 10);
  std::vector<double> ticks;
  for (double k = std::ceil(min / step); k * step <= max + step * 1e-9; k += 1) {
    const double tick = k * step;
    ticks.push_back(std::fabs(tick) < step * 1e-9 ? 0.0 : tick);  // no "-0"
  }
  return ticks;
}

std::vector<double> log_ticks(double min, double max) {
  static const std::vector<std::vector<double>> kMultiples = {{1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
  std::vector<double> ticks;
  for (const auto &multiples : kMultiples) {
    ticks.clear();
    for (int exponent = static_cast<int>(std::floor(std::log10(min)));
         exponent <= static_cast<int>(std::ceil(std::log10(max))); ++exponent)
      for (const double m : multiples) {
        const double tick = m * std::pow(10.0, exponent);
        if (tick >= min * (1 - 1e-9) && tick <= max * (1 + 1e-9)) ticks.push_back(tick);
      }
    if (ticks.size() >= 3) return ticks;
  }
  if (ticks.size() >= 2) return ticks;
  // Less than one step of the finest set (0.011 to 0.018): plain 1-2-5 steps, all positive.
  ticks = linear_ticks(min, max);
  std::erase_if(ticks, [](double t) { return t <= 0; });
  return ticks;
}

// A marker of the shape, centred on the origin of its group.
std::string marker_svg(MarkerShape shape) {
  switch (shape) {
    case MarkerShape::circle: return "<circle class=\"marker\" r=\"5\"/>";
    case MarkerShape::ring: return "<circle class=\"marker hollow\" r=\"5\"/>";
    case MarkerShape::diamond: return "<path class=\"marker\" d=\"M0,-6.5L6.5,0L0,6.5L-6.5,0Z\"/>";
    case MarkerShape::triangle: return "<path class=\"marker\" d=\"M0,-6L5.5,4.5L-5.5,4.5Z\"/>";
    case MarkerShape::square: return "<rect class=\"marker\" x=\"-4.5\" y=\"-4.5\" width=\"9\" height=\"9\"/>";
  }
  return "";
}

struct Box {
  double x0, y0, x1, y1;
  bool overlaps(const Box &o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

}  // namespace

Axis fit_axis(std::string label, AxisScale scale, std::span<const double> values) {
  Axis axis;
  axis.label = std::move(label);
  axis.scale = scale;
  double lo = INFINITY, hi = -INFINITY;
  for (const double v : values)
    if (axis_drawable(axis, v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (lo > hi) {
    axis.min = scale == AxisScale::log ? 0.1 : 0;
    axis.max = 1;
    return axis;
  }
  if (scale == AxisScale::log) {
    // A margin of the same ratio at both ends keeps the points off the frame.
    const double factor = lo == hi ? 2.0 : std::max(1.15, std::pow(hi / lo, 0.06));
    axis.min = lo / factor;
    axis.max = hi * factor;
  } else {
    const double pad = lo == hi ? std::max(std::fabs(lo) * 0.1, 1.0) : (hi - lo) * 0.06;
    axis.min = lo - pad;
    axis.max = hi + pad;
  }
  return axis;
}

std::vector<double> axis_ticks(const Axis &axis) {
  return axis.scale == AxisScale::log ? log_ticks(axis.min, axis.max) : linear_ticks(axis.min, axis.max);
}

SvgChart::SvgChart(std::string id, Axis x, Axis y, ChartFrame frame)
    : id_(std::move(id)), x_(std::move(x)), y_(std::move(y)), frame_(frame) {
  for (const Axis *axis : {&x_, &y_}) {
    if (!(axis->max > axis->min)) fail("chart ", id_, ": axis '", axis->label, "' has an empty range");
    if (axis->scale == AxisScale::log && !(axis->min > 0))
      fail("chart ", id_, ": log axis '", axis->label, "' must start above 0");
  }
}

double SvgChart::x_pixel(double x) const {
  return frame_.left + (frame_.width - frame_.left - frame_.right) * axis_fraction(x_, x);
}

double SvgChart::y_pixel(double y) const {
  return frame_.top + (frame_.height - frame_.top - frame_.bottom) * (1 - axis_fraction(y_, y));
}

bool SvgChart::x_drawable(double x) const { return axis_drawable(x_, x); }
bool SvgChart::y_drawable(double y) const { return axis_drawable(y_, y); }

void SvgChart::add_point(ChartPoint point) {
  if (x_drawable(point.x) && y_drawable(point.y)) points_.push_back(std::move(point));
}

void SvgChart::add_line(ChartLine line) {
  std::erase_if(line.xy, [&](const auto &p) { return !x_drawable(p.first) || !y_drawable(p.second); });
  if (line.xy.size() >= 2) lines_.push_back(std::move(line));
}

void SvgChart::add_horizontal_rule(double y, std::string label, std::string css_class) {
  if (y_drawable(y)) rules_.push_back({y, std::move(label), std::move(css_class)});
}

void SvgChart::add_legend(LegendEntry entry) { legend_.push_back(std::move(entry)); }

std::string SvgChart::axes_svg() const {
  const double left = frame_.left, right = frame_.width - frame_.right;
  const double top = frame_.top, bottom = frame_.height - frame_.bottom;
  std::string out;
  for (const double tick : axis_ticks(x_)) {
    const std::string px = pixel(x_pixel(tick));
    out += cat("<line class=\"grid\" x1=\"", px, "\" y1=\"", pixel(top), "\" x2=\"", px, "\" y2=\"", pixel(bottom), "\"/>");
    out += cat("<text class=\"tick-label\" x=\"", px, "\" y=\"", pixel(bottom + 16), "\" text-anchor=\"middle\">",
               tick_label(tick), "</text>");
  }
  for (const double tick : axis_ticks(y_)) {
    const std::string py = pixel(y_pixel(tick));
    out += cat("<line class=\"grid\" x1=\"", pixel(left), "\" y1=\"", py, "\" x2=\"", pixel(right), "\" y2=\"", py, "\"/>");
    out += cat("<text class=\"tick-label\" x=\"", pixel(left - 6), "\" y=\"", pixel(y_pixel(tick) + 4),
               "\" text-anchor=\"end\">", tick_label(tick), "</text>");
  }
  out += cat("<rect class=\"frame\" x=\"", pixel(left), "\" y=\"", pixel(top), "\" width=\"", pixel(right - left),
             "\" height=\"", pixel(bottom - top), "\"/>");
  out += cat("<text class=\"axis-label\" x=\"", pixel((left + right) / 2), "\" y=\"", pixel(frame_.height - 10),
             "\" text-anchor=\"middle\">", escape_html(x_.label), "</text>");
  const double label_y = (top + bottom) / 2;
  out += cat("<text class=\"axis-label\" x=\"14\" y=\"", pixel(label_y), "\" text-anchor=\"middle\" transform=\"rotate(-90 14 ",
             pixel(label_y), ")\">", escape_html(y_.label), "</text>");
  return out;
}

std::string SvgChart::legend_svg() const {
  std::string out;
  double x = frame_.left;
  const double y = frame_.top - 18;
  for (const auto &entry : legend_) {
    out += cat("<g class=\"legend ", escape_html(entry.css_class), "\" transform=\"translate(", pixel(x + 8), ",", pixel(y), ")\">");
    if (entry.marker)
      out += marker_svg(*entry.marker);
    else
      out += "<line class=\"line-sample\" x1=\"-8\" y1=\"0\" x2=\"10\" y2=\"0\"/>";
    out += cat("<text class=\"legend-label\" x=\"16\" y=\"4\">", escape_html(entry.label), "</text></g>");
    x += 36 + text_width(entry.label);
  }
  return out;
}

std::string SvgChart::points_svg() const {
  // Markers first claim their space, then each label takes the first spot beside its marker that
  // no marker or earlier label covers, so that close points stay readable.
  std::vector<Box> taken;
  for (const auto &p : points_) {
    const double px = x_pixel(p.x), py = y_pixel(p.y);
    taken.push_back({px - 6, py - 6, px + 6, py + 6});
  }
  static constexpr std::array<std::pair<double, double>, 8> kOffsets = {
      {{8, 4}, {8, -8}, {8, 16}, {-8, 4}, {-8, -8}, {-8, 16}, {8, -20}, {8, 28}}};
  std::string out;
  for (const auto &p : points_) {
    const double px = x_pixel(p.x), py = y_pixel(p.y);
    out += cat("<g class=\"point ", escape_html(p.css_class), "\" data-name=\"", escape_html(p.name), "\" transform=\"translate(",
               pixel(px), ",", pixel(py), ")\"><title>", escape_html(p.tooltip.empty() ? p.name : p.tooltip), "</title>");
    if (p.y_error && *p.y_error > 0) {
      const double plot_bottom = frame_.height - frame_.bottom;
      const double low = y_drawable(p.y - *p.y_error) ? y_pixel(p.y - *p.y_error) : plot_bottom;
      const double high = y_pixel(p.y + *p.y_error);
      const std::string y0 = pixel(low - py), y1 = pixel(high - py);
      out += cat("<line class=\"error-bar\" x1=\"0\" y1=\"", y0, "\" x2=\"0\" y2=\"", y1, "\"/>",
                 "<line class=\"error-bar\" x1=\"-4\" y1=\"", y0, "\" x2=\"4\" y2=\"", y0, "\"/>",
                 "<line class=\"error-bar\" x1=\"-4\" y1=\"", y1, "\" x2=\"4\" y2=\"", y1, "\"/>");
    }
    out += marker_svg(p.shape);
    if (p.show_label) {
      const double width = text_width(p.name);
      auto box_at = [&](std::pair<double, double> offset) {
        const double x0 = offset.first > 0 ? px + offset.first : px + offset.first - width;
        return Box{x0, py + offset.second - 10, x0 + width, py + offset.second + 2};
      };
      auto chosen = kOffsets[0];
      for (const auto &offset : kOffsets) {
        const Box box = box_at(offset);
        const bool inside = box.x0 >= 0 && box.x1 <= frame_.width && box.y0 >= frame_.top;
        if (inside && std::none_of(taken.begin(), taken.end(), [&](const Box &t) { return t.overlaps(box); })) {
          chosen = offset;
          break;
        }
      }
      taken.push_back(box_at(chosen));
      out += cat("<text class=\"point-label\" x=\"", pixel(chosen.first), "\" y=\"", pixel(chosen.second), "\"",
                 chosen.first < 0 ? " text-anchor=\"end\"" : "", ">", escape_html(p.name), "</text>");
    }
    out += "</g>";
  }
  return out;
}

std::string SvgChart::svg() const {
  const double left = frame_.left, top = frame_.top;
  const double plot_width = frame_.width - frame_.left - frame_.right;
  const double plot_height = frame_.height - frame_.top - frame_.bottom;
  const std::string clip = escape_html(id_) + "-plot";
  // No xmlns: inline <svg> in HTML gets the SVG namespace from the parser, and the page must not
  // contain any URL at all.
  std::string out = cat("<svg class=\"chart\" id=\"", escape_html(id_), "\" viewBox=\"0 0 ", pixel(frame_.width), " ",
                        pixel(frame_.height), "\" width=\"", pixel(frame_.width), "\" height=\"", pixel(frame_.height),
                        "\" role=\"img\"><defs><clipPath id=\"", clip, "\"><rect x=\"", pixel(left), "\" y=\"", pixel(top),
                        "\" width=\"", pixel(plot_width), "\" height=\"", pixel(plot_height), "\"/></clipPath></defs>");
  out += axes_svg();
  for (const auto &rule : rules_) {
    const std::string py = pixel(y_pixel(rule.y));
    out += cat("<line class=\"rule ", escape_html(rule.css_class), "\" x1=\"", pixel(left), "\" y1=\"", py, "\" x2=\"",
               pixel(left + plot_width), "\" y2=\"", py, "\"/><text class=\"rule-label\" x=\"", pixel(left + plot_width - 4),
               "\" y=\"", pixel(y_pixel(rule.y) - 4), "\" text-anchor=\"end\">", escape_html(rule.label), "</text>");
  }
  for (const auto &line : lines_) {
    std::string points;
    for (const auto &[x, y] : line.xy) points += cat(points.empty() ? "" : " ", pixel(x_pixel(x)), ",", pixel(y_pixel(y)));
    out += cat("<polyline class=\"line ", escape_html(line.css_class), "\" data-series=\"", escape_html(line.series),
               "\" clip-path=\"url(#", clip, ")\" points=\"", points, "\"><title>",
               escape_html(line.tooltip.empty() ? line.series : line.tooltip), "</title></polyline>");
  }
  out += points_svg();
  out += legend_svg();
  out += "</svg>";
  return out;
}

std::string heat_map_svg(const HeatMap &map) {
  const double cell_height = 18;
  const double cell_width = std::clamp(720.0 / std::max<size_t>(map.columns.size(), 1), 8.0, 26.0);
  double row_label_width = 0;
  for (const auto &row : map.rows) row_label_width = std::max(row_label_width, text_width(row));
  const double left = row_label_width + 14, top = 8;
  const double grid_width = cell_width * static_cast<double>(map.columns.size());
  const double grid_height = cell_height * static_cast<double>(map.rows.size());

  // Numbered columns (layers) are labelled on the first line, as often as their width allows;
  // named columns (a tensor of its own) on a second line, each of them.
  const auto is_number = [](const std::string &s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  double widest_number = 0;
  for (const auto &c : map.columns)
    if (is_number(c)) widest_number = std::max(widest_number, text_width(c));
  const size_t label_every = std::max<size_t>(1, static_cast<size_t>(std::ceil((widest_number + 6) / cell_width)));

  std::string labels;
  size_t number_index = 0;
  for (size_t c = 0; c < map.columns.size(); ++c) {
    const double x = left + cell_width * (static_cast<double>(c) + 0.5);
    if (is_number(map.columns[c])) {
      if (number_index++ % label_every == 0)
        labels += cat("<text class=\"tick-label\" x=\"", pixel(x), "\" y=\"", pixel(top + grid_height + 14),
                      "\" text-anchor=\"middle\">", escape_html(map.columns[c]), "</text>");
    } else {
      const bool at_start = c == 0, at_end = c + 1 == map.columns.size();
      const char *anchor = at_start ? "start" : at_end ? "end" : "middle";
      const double anchor_x = at_start ? left : at_end ? left + grid_width : x;
      labels += cat("<text class=\"tick-label\" x=\"", pixel(anchor_x), "\" y=\"", pixel(top + grid_height + 28),
                    "\" text-anchor=\"", anchor, "\">", escape_html(map.columns[c]), "</text>");
    }
  }
  for (size_t r = 0; r < map.rows.size(); ++r)
    labels += cat("<text class=\"tick-label\" x=\"", pixel(left - 6), "\" y=\"",
                  pixel(top + cell_height * (static_cast<double>(r) + 0.5) + 4), "\" text-anchor=\"end\">",
                  escape_html(map.rows[r]), "</text>");
  labels += cat("<text class=\"axis-label\" x=\"", pixel(left + grid_width / 2), "\" y=\"", pixel(top + grid_height + 46),
                "\" text-anchor=\"middle\">", escape_html(map.x_label), "</text>");

  std::string cells;
  for (const auto &cell : map.cells) {
    if (cell.column >= map.columns.size() || cell.row >= map.rows.size()) fail("heat map: a cell lies outside the grid");
    const double x = left + cell_width * static_cast<double>(cell.column);
    const double y = cell.whole_column ? top : top + cell_height * static_cast<double>(cell.row);
    const double height = cell.whole_column ? grid_height : cell_height;
    cells += cat("<rect class=\"cell\" x=\"", pixel(x), "\" y=\"", pixel(y), "\" width=\"", pixel(cell_width), "\" height=\"",
                 pixel(height), "\" fill=\"", escape_html(cell.fill), "\"");
    for (const auto &[key, value] : cell.data) cells += cat(" data-", escape_html(key), "=\"", escape_html(value), "\"");
    cells += cat("><title>", escape_html(cell.tooltip), "</title></rect>");
  }

  // The legend wraps into as many lines as the width needs.
  const double width = std::max(left + grid_width + 16, 480.0);
  std::string legend;
  double lx = left, ly = top + grid_height + 64;
  for (const auto &swatch : map.legend) {
    const double entry_width = 26 + text_width(swatch.label);
    if (lx + entry_width > width && lx > left) lx = left, ly += 20;
    legend += cat("<g class=\"swatch\" transform=\"translate(", pixel(lx), ",", pixel(ly), ")\"><rect x=\"0\" y=\"-10\" width=\"14\" height=\"14\" fill=\"",
                  escape_html(swatch.fill), "\"/><text class=\"legend-label\" x=\"19\" y=\"1\">", escape_html(swatch.label), "</text></g>");
    lx += entry_width + 8;
  }
  const double height = ly + 14;
  return cat("<svg class=\"chart heat-map\" viewBox=\"0 0 ", pixel(width), " ", pixel(height), "\" width=\"", pixel(width),
             "\" height=\"", pixel(height), "\" role=\"img\">", cells, labels, legend, "</svg>");
}

std::string viridis_colour(double t) {
  // matplotlib's viridis at 0, 0.1, ..., 1 (linear interpolation between them is visually even).
  static constexpr std::array<std::array<int, 3>, 11> kStops = {{{68, 1, 84},    {72, 36, 117},  {65, 68, 135},
                                                                 {53, 95, 141},  {42, 120, 142}, {33, 145, 140},
                                                                 {34, 168, 132}, {68, 191, 112}, {122, 209, 81},
                                                                 {189, 223, 38}, {253, 231, 37}}};
  if (!std::isfinite(t)) t = 0;
  t = std::clamp(t, 0.0, 1.0) * 10;
  const size_t i = std::min<size_t>(static_cast<size_t>(t), 9);
  const double f = t - static_cast<double>(i);
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x",
                static_cast<int>(std::lround(kStops[i][0] + f * (kStops[i + 1][0] - kStops[i][0]))),
                static_cast<int>(std::lround(kStops[i][1] + f * (kStops[i + 1][1] - kStops[i][1]))),
                static_cast<int>(std::lround(kStops[i][2] + f * (kStops[i + 1][2] - kStops[i][2]))));
  return buffer;
}

std::string svg_chart_css() {
  return R"(svg.chart { font: 11px system-ui, sans-serif; background: #fff; display: block; max-width: 100%; height: auto; }
svg.chart .frame { fill: none; stroke: #999; }
svg.chart .grid { stroke: #ececec; }
svg.chart .tick-label, svg.chart .rule-label { fill: #555; }
svg.chart .axis-label { fill: #222; font-size: 12px; }
svg.chart .point-label, svg.chart .legend-label { fill: #222; stroke: none; }
svg.chart .hollow { fill: #fff; stroke-width: 1.6; }
svg.chart .error-bar { stroke-width: 1.2; }
svg.chart .line, svg.chart .line-sample { fill: none; stroke-width: 2; }
svg.chart .rule { stroke: #888; stroke-dasharray: 5 4; }
svg.chart g.point:hover .point-label { font-weight: bold; }
svg.chart .cell { stroke: #fff; stroke-width: 0.6; }
svg.chart .cell:hover { stroke: #000; stroke-width: 1.5; }
)";
}

}  // namespace qs
