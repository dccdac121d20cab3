// Tests of reports/partition_check.h: a partition's own run is INCOMPLETE;
// a merged run passes only with every partition once and finished, and
// names the ones missing, given twice or failed (NOT READY).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "partition_check.h"
#include "readiness.h"
#include "report_checks.h"
#include "report_model.h"

using Catch::Matchers::ContainsSubstring;
using namespace migcheck;
using namespace migcheck::test;
using json = nlohmann::json;

namespace {

json merged(json missing, json duplicated, json failed) {
  json parts = json::array();
  for (int k = 1; k <= 3; ++k)
    parts.push_back({{"index", k},
                     {"store", "p" + std::to_string(k) + ".db"},
                     {"run", 1},
                     {"status", k == 3 ? "failed" : "done"},
                     {"exit_code", k == 3 ? 2 : 1}});
  return {{"count", 3},
          {"partitions", parts},
          {"missing", missing},
          {"duplicated", duplicated},
          {"failed", failed}};
}

}  // namespace

TEST_CASE("report: check: partitions", "[report][partition]") {
  ReportModel m = ready_model();
  CHECK_FALSE(partitions_check(m));  // neither partitioned nor merged

  m.options["partition"] = {{"index", 2}, {"count", 3}};
  auto c = partitions_check(m);
  REQUIRE(c);
  CHECK(c->status == CheckStatus::kFail);
  CHECK(c->incomplete);
  CHECK_THAT(c->detail, ContainsSubstring("partition 2/3 (hash slots 5461-10921) only"));
  CHECK(verdict(readiness_checks(m)).kind == "INCOMPLETE");

  m.options.erase("partition");
  m.options["merged"] = merged(json::array(), json::array(), json::array());
  c = partitions_check(m);
  REQUIRE(c);
  CHECK(c->status == CheckStatus::kPass);
  CHECK(verdict(readiness_checks(m)).ready);

  m.options["merged"] = merged(json::array({2}), json::array(), json::array());
  c = partitions_check(m);
  CHECK(c->status == CheckStatus::kFail);
  CHECK_FALSE(c->incomplete);
  CHECK_THAT(c->detail, ContainsSubstring("partition 2/3 missing"));
  CHECK(verdict(readiness_checks(m)).kind == "NOT_READY");

  m.options["merged"] = merged(json::array(), json::array({1}), json::array({3}));
  c = partitions_check(m);
  CHECK(c->status == CheckStatus::kFail);
  CHECK_THAT(c->detail, ContainsSubstring("partition 1/3 given more than once: p1.db run 1"));
  CHECK_THAT(c->detail,
             ContainsSubstring("partition 3/3 did not finish: p3.db run 1 (failed, exit 2)"));
  CHECK(verdict(readiness_checks(m)).kind == "NOT_READY");
}
