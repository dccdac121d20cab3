// SVG drawing of the report's charts. Geometry is in viewBox units; the
// element scales to its container on screen and in print.
#include "svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "encoding.h"
#include "html_escape.h"

namespace migcheck {
namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// At most `max_chars` code points of the printable form, with an ellipsis;
// the full label stays available in the <title> tooltip.
std::string shorten(std::string_view label, size_t max_chars) {
  std::string p = printable_bytes(label);
  size_t i = 0, chars = 0;
  uint32_t cp = 0;
  while (i < p.size() && chars < max_chars) {
    size_t len = utf8_sequence(p, i, cp);
    i += len ? len : 1;
    ++chars;
  }
  if (i >= p.size()) return p;
  return p.substr(0, i) + "\xE2\x80\xA6";  // U+2026
}

// A y axis: a tick step of 1, 2 or 5 x 10^k giving at most four intervals,
// and the top tick at or above the maximum.
struct Axis {
  int64_t step = 1;
  int64_t top = 1;
};

Axis axis_for(int64_t max) {
  if (max <= 0) return {};
  double raw = static_cast<double>(max) / 4.0;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  Axis a;
  for (double f : {1.0, 2.0, 5.0, 10.0})
    if (f * mag >= raw) {
      a.step = std::max<int64_t>(1, std::llround(f * mag));
      break;
    }
  a.top = (max + a.step - 1) / a.step * a.step;
  return a;
}

std::string open_svg(std::string_view title, int width, int height) {
  std::string t = html_escape(title);
  return "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 " + std::to_string(width) + " " +
         std::to_string(height) + "\" preserveAspectRatio=\"xMinYMin meet\" aria-label=\"" + t +
         "\"><title>" + t + "</title>";
}

std::string empty_chart(std::string_view title) {
  return open_svg(title, 520, 60) +
         "<text class=\"empty\" x=\"260\" y=\"34\" text-anchor=\"middle\">nothing to "
         "chart</text></svg>";
}

}  // namespace

std::string group_digits(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

std::string svg_bar_chart(std::string_view title, std::span<const ChartBar> bars) {
  if (bars.empty()) return empty_chart(title);
  constexpr int kWidth = 520, kLabel = 150, kValue = 80, kRow = 26, kBar = 16, kTop = 6;
  const int area = kWidth - kLabel - kValue;
  const int height = kTop * 2 + static_cast<int>(bars.size()) * kRow;
  int64_t max = 0;
  for (const auto& b : bars) max = std::max(max, b.value);

  std::string out = open_svg(title, kWidth, height);
  for (size_t i = 0; i < bars.size(); ++i) {
    const ChartBar& b = bars[i];
    double y = kTop + static_cast<double>(i) * kRow;
    double w = max > 0 ? static_cast<double>(area) * static_cast<double>(b.value) /
                             static_cast<double>(max)
                       : 0;
    if (b.value > 0) w = std::max(w, 2.0);  // a tiny count still shows
    std::string value = group_digits(b.value);
    out += "<g class=\"bar " + b.css_class + "\"><title>" + html_bytes(b.label) + ": " + value +
           "</title>";
    out += "<text class=\"label\" x=\"" + std::to_string(kLabel - 8) + "\" y=\"" +
           num(y + kRow / 2.0 + 4) + "\" text-anchor=\"end\">" + html_escape(shorten(b.label, 20)) +
           "</text>";
    out += "<rect x=\"" + std::to_string(kLabel) + "\" y=\"" + num(y + (kRow - kBar) / 2.0) +
           "\" width=\"" + num(w) + "\" height=\"" + std::to_string(kBar) + "\" rx=\"2\"></rect>";
    out += "<text class=\"value\" x=\"" + num(kLabel + w + 6) + "\" y=\"" +
           num(y + kRow / 2.0 + 4) + "\">" + value + "</text></g>";
  }
  return out + "</svg>";
}

std::string svg_column_chart(std::string_view title, std::span<const ChartBar> cols,
                             const ColumnChartOptions& o) {
  if (cols.empty()) return empty_chart(title);
  constexpr int kWidth = 520, kHeight = 230, kLeft = 56, kRight = 12, kTop = 18;
  const int bottom = o.x_label.empty() ? 28 : 44;
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - bottom;
  int64_t max = 0;
  for (const auto& c : cols) max = std::max(max, c.value);
  const Axis axis = axis_for(max);
  const int64_t top = axis.top;
  const double slot = plot_w / static_cast<double>(cols.size());
  const double bar_w = std::min(slot * 0.62, 64.0);
  // Labels stay legible by thinning them out when the columns are many.
  const size_t label_every = std::max<size_t>(1, (cols.size() + 11) / 12);
  const bool values = cols.size() <= 16;
  auto y_of = [&](int64_t v) {
    return kTop + plot_h - plot_h * static_cast<double>(v) / static_cast<double>(top);
  };

  std::string out = open_svg(title, kWidth, kHeight);
  for (int64_t v = 0; v <= top; v += axis.step) {
    double y = y_of(v);
    out += "<line class=\"grid\" x1=\"" + std::to_string(kLeft) + "\" x2=\"" +
           std::to_string(kWidth - kRight) + "\" y1=\"" + num(y) + "\" y2=\"" + num(y) +
           "\"></line>";
    out += "<text class=\"tick\" x=\"" + std::to_string(kLeft - 6) + "\" y=\"" + num(y + 4) +
           "\" text-anchor=\"end\">" + group_digits(v) + "</text>";
  }
  std::string points;
  for (size_t i = 0; i < cols.size(); ++i) {
    const ChartBar& c = cols[i];
    double cx = kLeft + slot * (static_cast<double>(i) + 0.5);
    double y = y_of(c.value);
    std::string value = group_digits(c.value);
    out += "<g class=\"column " + c.css_class + "\"><title>" + html_bytes(c.label) + ": " + value +
           "</title>";
    out += "<rect x=\"" + num(cx - bar_w / 2) + "\" y=\"" + num(y) + "\" width=\"" + num(bar_w) +
           "\" height=\"" + num(kTop + plot_h - y) + "\" rx=\"2\"></rect>";
    if (values)
      out += "<text class=\"value\" x=\"" + num(cx) + "\" y=\"" + num(y - (o.line ? 9 : 5)) +
             "\" text-anchor=\"middle\">" + value + "</text>";
    if (i % label_every == 0)
      out += "<text class=\"label\" x=\"" + num(cx) + "\" y=\"" + num(kTop + plot_h + 16) +
             "\" text-anchor=\"middle\">" + html_escape(shorten(c.label, 10)) + "</text>";
    out += "</g>";
    points += (points.empty() ? "" : " ") + num(cx) + "," + num(y);
  }
  out += "<line class=\"axis\" x1=\"" + std::to_string(kLeft) + "\" x2=\"" +
         std::to_string(kWidth - kRight) + "\" y1=\"" + num(kTop + plot_h) + "\" y2=\"" +
         num(kTop + plot_h) + "\"></line>";
  if (o.line && cols.size() > 1) {
    out += "<polyline class=\"trend\" points=\"" + points + "\"></polyline>";
    for (size_t i = 0; i < cols.size(); ++i)
      out += "<circle class=\"trend-point\" cx=\"" +
             num(kLeft + slot * (static_cast<double>(i) + 0.5)) + "\" cy=\"" +
             num(y_of(cols[i].value)) + "\" r=\"3\"></circle>";
  }
  if (!o.x_label.empty())
    out += "<text class=\"axis-label\" x=\"" + num(kLeft + plot_w / 2) + "\" y=\"" +
           std::to_string(kHeight - 8) + "\" text-anchor=\"middle\">" + html_escape(o.x_label) +
           "</text>";
  return out + "</svg>";
}

}  // namespace migcheck
