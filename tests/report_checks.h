// Helpers of the report tests: the JSON report (of a model) against the
// embedded schema, readiness checks looked up by id, a model on which every
// check passes, counting occurrences in a page, and the string matchers
// pages are checked with.
#pragma once

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "assets.h"
#include "readiness.h"
#include "report_fixture.h"
#include "report_json.h"
#include "report_model.h"
#include "report_schema_validator.h"

namespace migcheck::test {

using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;
using nlohmann::json;

inline json report_schema() {
  std::string_view text = asset("report.schema.json");
  REQUIRE_FALSE(text.empty());
  return json::parse(text);
}

inline void require_valid(const json& doc) {
  auto errors = validate_against_schema(report_schema(), doc);
  for (const auto& e : errors) UNSCOPED_INFO(e);
  REQUIRE(errors.empty());
}

// The JSON report of `m`, which must validate against the schema.
inline json valid_report_json(const ReportModel& m) {
  json doc = json::parse(report_json_text(m));
  require_valid(doc);
  return doc;
}

inline size_t count_of(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string_view::npos;
       pos = haystack.find(needle, pos + 1))
    ++n;
  return n;
}

inline const Check& check(const std::vector<Check>& checks, std::string_view id) {
  auto it = std::find_if(checks.begin(), checks.end(), [&](const Check& c) { return c.id == id; });
  REQUIRE(it != checks.end());
  return *it;
}

inline const json& sample_with_key(const json& report, std::string_view key) {
  for (const auto& s : report["samples"]["items"])
    if (s.contains("key") && s["key"] == key) return s;
  FAIL("no sample with key " << key);
  throw;  // unreachable
}

// A model on which every check passes; tests break one thing at a time.
inline ReportModel ready_model() {
  ReportModel m;
  m.run.id = 1;
  m.run.command = "compare";
  m.run.status = "done";
  m.run.exit_code = 0;
  m.run.source = "rediss://10.0.0.5:6380";
  m.run.target = "rediss://10.0.1.9:6379";
  m.options = json::object();
  m.totals = json::object();
  m.source = {m.run.source, true, "", report_source_facts()};
  m.target = {m.run.target, true, "", report_target_facts()};
  m.rounds = {RoundRecord{1, 1, 1050, 3, 0, 0}, RoundRecord{1, 2, 1050, 0, 0, 0}};
  m.differences.round = 2;
  m.big_keys.evaluated = true;
  return m;
}

// The checks of a JSON report as id -> status.
inline std::map<std::string, std::string> json_checks(const json& report) {
  std::map<std::string, std::string> out;
  for (const auto& c : report["checks"])
    out[c["id"].get<std::string>()] = c["status"].get<std::string>();
  return out;
}
inline std::string check(const std::map<std::string, std::string>& checks, const std::string& id) {
  auto it = checks.find(id);
  return it == checks.end() ? "" : it->second;
}

inline CheckStatus status_of(const ReportModel& m, std::string_view id) {
  return check(readiness_checks(m), id).status;
}
inline std::string detail_of(const ReportModel& m, std::string_view id) {
  return check(readiness_checks(m), id).detail;
}

}  // namespace migcheck::test
