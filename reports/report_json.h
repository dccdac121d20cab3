// The JSON report: ReportModel -> the document described by
// reports/assets/report.schema.json (and reports/README.md).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "report_model.h"

namespace migcheck {

// Fields in schema order (verdict near the top) for people reading the file.
nlohmann::ordered_json report_json(const ReportModel& m);

// The exact bytes written to the .json file (and hashed into the HTML):
// two-space indented, one trailing newline, invalid UTF-8 in free text
// replaced by U+FFFD (keys that are not UTF-8 travel as key_base64).
std::string report_json_text(const ReportModel& m);

// "2024-05-01T12:00:00.123Z"
std::string iso8601_utc(int64_t epoch_ms);

// A key as JSON: {"key": text} when valid UTF-8, else {"key_base64": ...},
// merged into `into`.
void put_key(nlohmann::ordered_json& into, std::string_view key);

}  // namespace migcheck
