// Tests of reports/report_html.h: self-contained, escaped, carrying the JSON's hash.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <string>

#include "encoding.h"
#include "html_escape.h"
#include "report_checks.h"
#include "report_fixture.h"
#include "report_html.h"
#include "report_json.h"
#include "report_model.h"
#include "report_schema_validator.h"

using namespace migcheck;
using namespace migcheck::test;

TEST_CASE_METHOD(PopulatedReportStore,
                 "report: HTML is self-contained, escapes keys and carries the JSON hash",
                 "[report]") {
  ReportModel m = build_report(store, {.run = runs.compare, .sample_limit = 100, .now_ms = 1});
  std::string json_text = report_json_text(m);
  std::string digest = hex(sha256(json_text));
  std::string html = report_html(m, {digest, "migcheck-report-1.json"});

  CHECK_THAT(html, StartsWith("<!DOCTYPE html>"));
  CHECK_THAT(html, ContainsSubstring("NOT READY for cutover"));
  CHECK_THAT(html, ContainsSubstring("id=\"json-sha256\">" + digest + "<"));
  CHECK_THAT(html, ContainsSubstring("migcheck-report-1.json"));

  // The hostile keys only as escaped text.
  CHECK(html.find(kScriptKey) == std::string::npos);
  CHECK(html.find(kImgKey) == std::string::npos);
  CHECK(html.find(kTitleKey) == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(count_of(html, "<script") == 1);  // the page's own
  CHECK_THAT(html, ContainsSubstring(html_bytes(kScriptKey)));
  CHECK_THAT(html, ContainsSubstring(html_bytes(kImgKey)));
  CHECK_THAT(html, ContainsSubstring(html_bytes(kTitleKey)));
  CHECK_THAT(html, ContainsSubstring("bin\\x00\\xFF\\xFE:end"));
  CHECK(is_valid_utf8(html));
  CHECK(html.find("hunter2") == std::string::npos);

  // Nothing to fetch, and a CSP naming the one script by its hash.
  for (std::string_view s : {"http:", "https:", "ftp:", "url(", "@import", " src=\"", "=\"//"}) {
    INFO(s);
    CHECK(html.find(s) == std::string::npos);
  }
  for (size_t pos = html.find("href=\""); pos != std::string::npos;
       pos = html.find("href=\"", pos + 1)) {
    std::string_view value = std::string_view(html).substr(pos + 6, 5);
    INFO(value);
    CHECK((value.starts_with("#") || value == "data:"));
  }
  std::string_view script = asset("report.js");
  CHECK_THAT(html, ContainsSubstring("<script>" + std::string(script) + "</script>"));
  Sha256 h = sha256(script);
  std::string csp_hash =
      base64_encode(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
  CHECK_THAT(html,
             ContainsSubstring(
                 "content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-" +
                 csp_hash + "'; img-src data:"));
  CHECK(script.find("innerHTML") == std::string::npos);
  CHECK(script.find("outerHTML") == std::string::npos);
  CHECK(script.find("insertAdjacentHTML") == std::string::npos);
  CHECK(script.find("document.write") == std::string::npos);

  // Charts, checklist, the filterable table and both servers are there.
  CHECK(count_of(html, "<svg class=\"chart\"") == 4);
  CHECK_THAT(html, ContainsSubstring("id=\"samples-table\""));
  CHECK(count_of(html, "<tr data-kind=") == 11);
  CHECK_THAT(html, ContainsSubstring("data-check=\"memory_headroom\""));
  CHECK_THAT(html, ContainsSubstring("valkey 8.0.1"));
  CHECK_THAT(html, ContainsSubstring("@media print"));
}

TEST_CASE_METHOD(PopulatedReportStore, "report: HTML of a repair run shows the compare it repaired",
                 "[report]") {
  ReportModel m = build_report(store, {.run = runs.repair, .sample_limit = 100, .now_ms = 1});
  std::string html = report_html(m, {"00", ""});
  CHECK_THAT(html, ContainsSubstring("id=\"parent\""));
  CHECK_THAT(html, ContainsSubstring("compare run #" + std::to_string(runs.compare)));
  CHECK_THAT(html, ContainsSubstring("id=\"outcomes\""));
  CHECK_THAT(html, ContainsSubstring("DUMP payload version or checksum are wrong"));
  CHECK_THAT(html,
             ContainsSubstring(
                 "OOM command not allowed &lt;when used memory &gt; &#39;maxmemory&#39;&gt;"));
  CHECK_THAT(html, ContainsSubstring("generated with this page (not written)"));
  CHECK(html.find(kScriptKey) == std::string::npos);
}

TEST_CASE_METHOD(PopulatedReportStore,
                 "report: where a value differs, in JSON as stored and in HTML as escaped text",
                 "[report]") {
  ReportModel m = build_report(store, {.run = runs.compare, .sample_limit = 100, .now_ms = 1});
  json j = valid_report_json(m);
  const json& s = sample_with_key(j, "emoji \xF0\x9F\x9A\x80 ok");
  CHECK(s["location"] == json::parse(report_stream_location().to_json()));
  CHECK(s["location"]["source"] == "f=<img src=x onerror=alert(2)>\\x1B[31m");
  CHECK(s["location"]["target"].is_null());
  CHECK(sample_with_key(j, "user:1001")["location"].is_null());
  // A location that is not located validates too.
  json not_located = j;
  not_located["samples"]["items"][0]["location"] = {{"located", false}, {"reason", "why"}};
  require_valid(not_located);
  not_located["samples"]["items"][0]["location"] = {{"located", false}};
  CHECK_FALSE(validate_against_schema(report_schema(), not_located).empty());

  std::string html = report_html(m, {"00", ""});
  CHECK(html.find('\x1b') == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK_THAT(html, ContainsSubstring("<div class=\"location\">entry &quot;1-1&quot;: source "
                                     "&quot;f=&lt;img src=x onerror=alert(2)&gt;\\x1B[31m&quot;, "
                                     "target absent</div>"));
}
