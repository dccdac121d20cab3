// The HTML report: one self-contained page (inline CSS, inline SVG, one
// inline script admitted by its CSP hash) rendered from a ReportModel.
#pragma once

#include <string>
#include <string_view>

#include "report_model.h"

namespace migcheck {

struct HtmlContext {
  std::string json_sha256;  // hex SHA-256 of the JSON report bytes
  std::string json_file;    // the JSON file written alongside; empty when none was
};

std::string report_html(const ReportModel& m, const HtmlContext& ctx);

// The page's Content-Security-Policy: nothing may load, styles are inline,
// and only the script whose exact text is `script` may run.
std::string report_csp(std::string_view script);

}  // namespace migcheck
