// Tests of reports/assets.h: the compiled-in assets are the files.
#include <catch2/catch_test_macros.hpp>

#include <filesystem>
#include <string>

#include "assets.h"
#include "report_fixture.h"
#include "report_json.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace migcheck;
using namespace migcheck::test;

TEST_CASE("report: the embedded schema is the file in reports/assets", "[report]") {
  std::string file =
      read_report_file(fs::path(MIGCHECK_SOURCE_DIR) / "reports/assets/report.schema.json");
  CHECK(asset("report.schema.json") == file);
  json schema = json::parse(file);
  CHECK(schema["$schema"] == "https://json-schema.org/draft/2020-12/schema");
  CHECK(schema["properties"]["schema_version"]["const"] == kReportSchemaVersion);
  CHECK(asset("no-such-asset").empty());
}
