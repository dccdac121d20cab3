// Tests of reports/svg_chart.h: escaped labels, every bar drawn.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <string>
#include <vector>

#include "report_checks.h"
#include "report_fixture.h"
#include "svg_chart.h"

using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;
using namespace migcheck;
using namespace migcheck::test;

TEST_CASE("report: SVG charts escape labels and draw every bar", "[report]") {
  std::vector<ChartBar> bars = {{std::string(kScriptKey), 5, "kind-missing"},
                                {"ttl", 0, "kind-ttl"}};
  std::string svg = svg_bar_chart("Differences <by> kind", bars);
  CHECK_THAT(svg, StartsWith("<svg class=\"chart\""));
  CHECK(svg.find("<script") == std::string::npos);
  CHECK_THAT(svg, ContainsSubstring("&lt;script&gt;"));
  CHECK_THAT(svg, ContainsSubstring("Differences &lt;by&gt; kind"));
  CHECK(count_of(svg, "<rect") == 2);
  CHECK_THAT(svg_bar_chart("empty", {}), ContainsSubstring("nothing to chart"));

  std::vector<ChartBar> cols = {
      {"round 1", 40, ""}, {"round 2", 12, ""}, {"round 3", 0, "converged"}};
  std::string line = svg_column_chart("Convergence", cols, {.line = true, .x_label = "round"});
  CHECK(count_of(line, "<rect") == 3);
  CHECK(count_of(line, "<polyline") == 1);
  CHECK(count_of(line, "<circle") == 3);
  CHECK(group_digits(1234567) == "1,234,567");
  CHECK(group_digits(-1000) == "-1,000");
  CHECK(group_digits(999) == "999");
}
