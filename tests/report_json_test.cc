// Tests of reports/report_json.h: the JSON report of each kind of run, built
// from a store, against its schema.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <string>
#include <vector>

#include "encoding.h"
#include "errors.h"
#include "report_checks.h"
#include "report_fixture.h"
#include "report_json.h"
#include "report_model.h"

using namespace migcheck;
using namespace migcheck::test;

TEST_CASE_METHOD(PopulatedReportStore,
                 "report: JSON of a compare run validates and says what differs", "[report]") {
  ReportModel m =
      build_report(store, {.run = runs.compare, .sample_limit = 100, .now_ms = 1'700'000'000'000});
  json j = valid_report_json(m);

  CHECK(j["schema_version"] == kReportSchemaVersion);
  CHECK(j["generated_at"] == "2023-11-14T22:13:20.000Z");
  CHECK(j["verdict"] == "NOT_READY");
  REQUIRE_FALSE(j["reasons"].empty());
  CHECK_THAT(j["reasons"][0].get<std::string>(),
             StartsWith("No differences: 11 differences remain after round 3"));

  CHECK(j["run"]["id"] == runs.compare);
  CHECK(j["run"]["command"] == "compare");
  CHECK(j["run"]["status"] == "done");
  CHECK(j["run"]["options"]["rounds"] == 3);
  CHECK(j["run"]["options"]["source_pass"] == "(redacted)");
  CHECK(j["run"]["migcheck_version"] == MIGCHECK_VERSION);
  CHECK(j["run"]["duration_ms"].is_number_integer());

  CHECK(j["source"]["engine"] == "redis");
  CHECK(j["source"]["rdb_version"] == 11);
  CHECK(j["source"]["dbsize"] == 1050);
  CHECK(j["target"]["engine"] == "valkey");
  CHECK(j["target"]["maxmemory_policy"] == "noeviction");
  CHECK(j["target"]["maxmemory"] == 1024LL * 1024 * 1024);

  REQUIRE(j["rounds"].size() == 3);
  CHECK(j["rounds"][0]["differences"] == 40);
  CHECK(j["rounds"][2]["keys_checked"] == 1050);
  CHECK(j["differences"]["round"] == 3);
  CHECK(j["differences"]["total"] == 11);
  CHECK(j["differences"]["by_kind"] ==
        json{{"extra", 2}, {"missing", 2}, {"ttl", 3}, {"type", 1}, {"value", 3}});
  CHECK(j["differences"]["by_type"]["string"] ==
        6);  // 5 by source type + the extra string by target type
  CHECK(j["differences"]["by_type"]["hash"] == 2);  // session:c, and the extra hash by target type

  // Hostile names travel as plain text; non-UTF-8 keys as base64.
  CHECK(j["samples"]["count"] == 11);
  CHECK(sample_with_key(j, kScriptKey)["kind"] == "missing");
  CHECK(sample_with_key(j, kImgKey)["target_type"] == "hash");
  CHECK(sample_with_key(j, kTitleKey)["kind"] == "extra");
  CHECK(sample_with_key(j, "session:c")["source_ttl_ms"] == -1);
  std::vector<std::string> binary;
  for (const auto& s : j["samples"]["items"])
    if (s.contains("key_base64"))
      binary.push_back(*base64_decode(s["key_base64"].get<std::string>()));
  CHECK(binary == std::vector<std::string>{kBinaryKey, std::string("half\xc3\x28utf8", 10)});

  // TTL drift: 10s, 500ms, and one TTL on one side only.
  CHECK(j["ttl_drift"]["total"] == 3);
  CHECK(j["ttl_drift"]["one_sided"] == 1);
  for (const auto& b : j["ttl_drift"]["buckets"]) {
    int64_t want = b["label"] == "<1s" || b["label"] == "10s-1m" ? 1 : 0;
    CHECK(b["count"] == want);
  }

  CHECK(j["big_keys"]["evaluated"] == true);
  CHECK(j["big_keys"]["count"] == 2);
  CHECK(j["big_keys"]["keys"][1]["key_base64"] == "YmlnAP8=");
  CHECK_FALSE(j.contains("repair"));
  CHECK_FALSE(j.contains("parent"));

  auto checks = m.checks;
  CHECK(check(checks, "run_completed").status == CheckStatus::kPass);
  CHECK(check(checks, "differences").status == CheckStatus::kFail);
  CHECK(check(checks, "key_counts").status == CheckStatus::kPass);
  CHECK(check(checks, "memory_headroom").status == CheckStatus::kPass);
  CHECK(check(checks, "eviction_policy").status == CheckStatus::kPass);
  CHECK(check(checks, "dump_compatibility").status == CheckStatus::kPass);
  CHECK(check(checks, "keyspace_notifications").status == CheckStatus::kPass);
  CHECK(check(checks, "tls").status == CheckStatus::kPass);
  CHECK(check(checks, "big_keys").status == CheckStatus::kWarn);
  CHECK(report_json_text(m).find("hunter2") == std::string::npos);
}

TEST_CASE_METHOD(PopulatedReportStore,
                 "report: JSON of a repair run shows the compare it repaired and its outcomes",
                 "[report]") {
  ReportModel m = build_report(store, {.run = runs.repair, .sample_limit = 100, .now_ms = 0});
  json j = valid_report_json(m);

  CHECK(j["run"]["parent"] == runs.compare);
  REQUIRE(j.contains("parent"));
  CHECK(j["parent"]["id"] == runs.compare);
  CHECK(j["parent"]["command"] == "compare");
  CHECK(j["parent"]["differences"]["total"] == 11);
  CHECK(j["parent"]["rounds"].size() == 3);

  REQUIRE(j.contains("repair"));
  CHECK(j["repair"]["total"] == 7);
  CHECK(j["repair"]["failed"] == 3);
  CHECK(j["repair"]["by_outcome"] == json{{"deleted", 1}, {"failed", 3}, {"repaired", 3}});
  REQUIRE(j["repair"]["failures"].size() == 3);
  CHECK(j["repair"]["failures"][0]["key"] == kScriptKey);
  CHECK_THAT(j["repair"]["failures"][0]["error"].get<std::string>(),
             ContainsSubstring("DUMP payload"));
  CHECK(j["repair"]["failures"][1]["key"] == kImgKey);
  CHECK(*base64_decode(j["repair"]["failures"][2]["key_base64"].get<std::string>()) == kBinaryKey);

  // A repair is described, never READY: 3 keys failed, so it is incomplete.
  CHECK(j["verdict"] == "INCOMPLETE");
  CHECK(check(m.checks, "verification").status == CheckStatus::kFail);
  CHECK(check(m.checks, "outcomes").status == CheckStatus::kFail);
  CHECK(check(m.checks, "outcomes").name == "Repair outcomes");
  // No verification round of its own: the differences cannot be judged.
  CHECK(check(m.checks, "differences").status == CheckStatus::kWarn);
  CHECK_THAT(check(m.checks, "differences").detail, ContainsSubstring("no verification round"));
  CHECK(j["samples"]["items"].empty());
  CHECK(j["big_keys"]["evaluated"] == false);
  CHECK(check(m.checks, "big_keys").detail == "not evaluated: the run recorded no big-key scan");
}

TEST_CASE_METHOD(PopulatedReportStore,
                 "report: JSON of an interrupted replicate run without target facts", "[report]") {
  ReportModel m = build_report(store, {.run = runs.replicate, .sample_limit = 100, .now_ms = 0});
  REQUIRE(m.run.id == runs.replicate);
  std::string text = report_json_text(m);
  json j = json::parse(text);
  require_valid(j);

  CHECK(j["verdict"] == "INCOMPLETE");
  CHECK(j["run"]["status"] == "interrupted");
  CHECK(j["run"]["source"] == "redis://admin@10.0.0.5:6379");
  CHECK(text.find("hunter2") == std::string::npos);
  CHECK(j["target"]["available"] == false);
  CHECK(j["target"]["unavailable_reason"] == "not gathered");
  CHECK(j["repair"]["by_outcome"] == json{{"copied", 25}});
  CHECK(check(m.checks, "outcomes").name == "Replicate outcomes");
  CHECK(check(m.checks, "outcomes").status == CheckStatus::kPass);
  CHECK(check(m.checks, "run_completed").status == CheckStatus::kFail);
  for (const char* id :
       {"key_counts", "memory_headroom", "eviction_policy", "dump_compatibility"}) {
    INFO(id);
    CHECK(check(m.checks, id).status == CheckStatus::kWarn);
    CHECK_THAT(check(m.checks, id).detail, StartsWith("not evaluated"));
  }
  // No facts for the target, but its redis:// scheme still says "no TLS".
  CHECK(check(m.checks, "tls").status == CheckStatus::kWarn);
  CHECK_THAT(check(m.checks, "tls").detail, ContainsSubstring("target does not use TLS"));
}

TEST_CASE_METHOD(PopulatedReportStore, "report: sample limits bound the samples, not the counts",
                 "[report]") {
  ReportModel m = build_report(store, {.run = runs.compare, .sample_limit = 4, .now_ms = 0});
  CHECK(m.samples.size() == 4);
  CHECK(m.samples[0].key == "user:1001");  // insertion order
  CHECK(m.differences.total == 11);
  CHECK(m.ttl_drift.total == 3);
  ReportModel none = build_report(store, {.run = runs.repair, .sample_limit = 0, .now_ms = 0});
  CHECK(none.outcomes->failures.empty());
  CHECK(none.outcomes->failed == 3);
  valid_report_json(none);
}

TEST_CASE("report: unknown runs and empty stores are errors", "[report]") {
  ReportTempDir dir;
  Store store(dir.file("m.db"));
  CHECK_THROWS_AS(build_report(store, {}), StoreError);
  populate_report_store(store);
  CHECK_THROWS_AS(build_report(store, {.run = 99, .sample_limit = 1, .now_ms = 0}), UsageError);
}

TEST_CASE("report: a run with unreadable stored facts reports them as unavailable", "[report]") {
  ReportTempDir dir;
  Store store(dir.file("m.db"));
  RunRecord r;
  r.command = "compare";
  r.source = "redis://a:6379";
  r.target = "redis://b:6379";
  r.options_json = "not json";
  int64_t id = store.begin_run(r);
  store.set_server_info(id, R"({"keys_per_db":{"x":1}})", "[1,2]");
  store.set_totals(id, R"({"big_keys":0})");
  store.finish_run(id, "done", 0);
  ReportModel m = build_report(store, {.run = id, .sample_limit = 10, .now_ms = 0});
  CHECK_FALSE(m.source.available);
  CHECK(m.source.unavailable_reason == "stored facts are malformed");
  CHECK(m.target.unavailable_reason == "stored facts are not a JSON object");
  CHECK(m.options == json::object());
  CHECK(check(m.checks, "big_keys").status == CheckStatus::kPass);
  CHECK(check(m.checks, "differences").status ==
        CheckStatus::kWarn);  // no round: nothing was checked
  valid_report_json(m);
}
