// Tests of the report tests' JSON Schema validator (tests/report_schema_validator.h):
// it rejects what the schema forbids.
#include <catch2/catch_test_macros.hpp>

#include "report_checks.h"
#include "report_fixture.h"
#include "report_json.h"
#include "report_model.h"
#include "report_schema_validator.h"

using nlohmann::json;
using namespace migcheck;
using namespace migcheck::test;

TEST_CASE_METHOD(PopulatedReportStore,
                 "report: the schema validator rejects what the schema forbids", "[report]") {
  const json good = json::parse(report_json_text(
      build_report(store, {.run = runs.repair, .sample_limit = 100, .now_ms = 0})));
  const json schema = report_schema();
  REQUIRE(validate_against_schema(schema, good).empty());

  auto invalid = [&](auto mutate) {
    json doc = good;
    mutate(doc);
    return !validate_against_schema(schema, doc).empty();
  };
  CHECK(invalid([](json& d) { d.erase("verdict"); }));
  CHECK(invalid([](json& d) { d["verdict"] = "MAYBE"; }));
  CHECK(invalid([](json& d) { d["unexpected"] = 1; }));
  CHECK(invalid([](json& d) { d["schema_version"] = 2; }));
  CHECK(invalid([](json& d) { d["checks"][0]["status"] = "ok"; }));
  CHECK(invalid([](json& d) { d["run"]["id"] = "1"; }));
  CHECK(invalid([](json& d) { d["differences"]["by_kind"]["ttl"] = -1; }));
  CHECK(invalid(
      [](json& d) { d["repair"]["failures"][0]["key_base64"] = "AA=="; }));  // key and key_base64
  CHECK(invalid([](json& d) { d["repair"]["failures"][0].erase("key"); }));  // neither
  CHECK(invalid([](json& d) { d["source"].erase("rdb_version"); }));
  CHECK(invalid([](json& d) { d["target"]["available"] = false; }));  // no unavailable_reason
  CHECK(invalid([](json& d) { d["parent"]["rounds"][0]["extra"] = true; }));

  // The validator refuses keywords it does not implement instead of passing them.
  json loose = {{"type", "object"}, {"patternProperties", json::object()}};
  CHECK_FALSE(validate_against_schema(loose, json::object()).empty());
}
