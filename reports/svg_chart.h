// Inline SVG charts for the HTML report: horizontal bars (counts by kind or
// type) and columns (rounds, histograms). Output is a self-contained <svg>
// element styled by classes from report.css; every label is escaped here.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace migcheck {

struct ChartBar {
  std::string label;  // any bytes: escaped and, if long, shortened
  int64_t value = 0;
  std::string css_class;  // from a fixed set chosen by the caller, never data
};

// One row per bar: label, bar scaled to the largest value, the value.
std::string svg_bar_chart(std::string_view title, std::span<const ChartBar> bars);

struct ColumnChartOptions {
  bool line = false;    // also join the column tops (convergence)
  std::string x_label;  // caption under the x axis
};
// One column per entry on a y axis from 0 to a round maximum.
std::string svg_column_chart(std::string_view title, std::span<const ChartBar> columns,
                             const ColumnChartOptions& options);

// 1234567 -> "1,234,567"
std::string group_digits(int64_t v);

}  // namespace migcheck
