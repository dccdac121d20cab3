// Unit and CLI tests of the cutover-readiness reports (reports/): escaping,
// encodings, the model built from a store, every readiness check and the
// verdict, the JSON against its schema, the HTML's escaping and integrity
// hash, and the `migcheck report` command line.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "assets.h"
#include "encoding.h"
#include "errors.h"
#include "html_escape.h"
#include "readiness.h"
#include "report_fixture.h"
#include "report_html.h"
#include "report_json.h"
#include "report_model.h"
#include "report_schema_validator.h"
#include "server_fixture.h"
#include "svg_chart.h"

namespace fs = std::filesystem;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;
using nlohmann::json;
using namespace migcheck;
using namespace migcheck::test;

namespace {

json report_schema() {
  std::string_view text = asset("report.schema.json");
  REQUIRE_FALSE(text.empty());
  return json::parse(text);
}

void require_valid(const json& doc) {
  auto errors = validate_against_schema(report_schema(), doc);
  for (const auto& e : errors) UNSCOPED_INFO(e);
  REQUIRE(errors.empty());
}

size_t count_of(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string_view::npos;
       pos = haystack.find(needle, pos + 1))
    ++n;
  return n;
}

const Check& check(const std::vector<Check>& checks, std::string_view id) {
  auto it = std::find_if(checks.begin(), checks.end(), [&](const Check& c) { return c.id == id; });
  REQUIRE(it != checks.end());
  return *it;
}

const json& sample_with_key(const json& report, std::string_view key) {
  for (const auto& s : report["samples"]["items"])
    if (s.contains("key") && s["key"] == key) return s;
  FAIL("no sample with key " << key);
  throw;  // unreachable
}

// A model on which every check passes; tests break one thing at a time.
ReportModel ready_model() {
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
std::map<std::string, std::string> json_checks(const json& report) {
  std::map<std::string, std::string> out;
  for (const auto& c : report["checks"])
    out[c["id"].get<std::string>()] = c["status"].get<std::string>();
  return out;
}
std::string check(const std::map<std::string, std::string>& checks, const std::string& id) {
  auto it = checks.find(id);
  return it == checks.end() ? "" : it->second;
}

CheckStatus status_of(const ReportModel& m, std::string_view id) {
  return check(readiness_checks(m), id).status;
}
std::string detail_of(const ReportModel& m, std::string_view id) {
  return check(readiness_checks(m), id).detail;
}

}  // namespace

// ---------------------------------------------------------------- escaping

TEST_CASE("report: html_escape turns markup into text", "[report]") {
  CHECK(html_escape("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;");
  CHECK(html_escape(R"("><img src=x onerror=alert(1)>)") ==
        "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
  CHECK(html_escape("a & b 'c'") == "a &amp; b &#39;c&#39;");
  CHECK(html_escape("line\nnext\ttab") == "line\nnext\ttab");  // multi-line text stays multi-line
  CHECK(html_escape(std::string("nul\0bell\x07", 9)) == "nul\\x00bell\\x07");
  CHECK(html_escape("caf\xC3\xA9 \xE2\x82\xAC") == "caf\xC3\xA9 \xE2\x82\xAC");  // UTF-8 kept
  CHECK(html_escape("bad\xFF") == "bad\\xFF");  // the page stays UTF-8
  CHECK(html_escape("") == "");
}

TEST_CASE("report: printable_bytes shows binary keys unambiguously", "[report]") {
  CHECK(printable_bytes(kBinaryKey) == "bin\\x00\\xFF\\xFE:end");
  CHECK(printable_bytes("a\\x41") == "a\\\\x41");  // a literal backslash cannot pass for an escape
  CHECK(printable_bytes("tab\there\n") == "tab\\x09here\\x0A");
  CHECK(printable_bytes("\x7F") == "\\x7F");
  CHECK(printable_bytes("emoji \xF0\x9F\x9A\x80") == "emoji \xF0\x9F\x9A\x80");
  CHECK(printable_bytes("\xC0\xAF") == "\\xC0\\xAF");                    // overlong '/'
  CHECK(printable_bytes("\xED\xA0\x80") == "\\xED\\xA0\\x80");           // a UTF-16 surrogate
  CHECK(printable_bytes("\xF4\x90\x80\x80") == "\\xF4\\x90\\x80\\x80");  // above U+10FFFF
  CHECK(printable_bytes("\xE2\x82") == "\\xE2\\x82");                    // truncated sequence
  // Bidi overrides would make a key read differently than its bytes.
  CHECK(printable_bytes("user\xE2\x80\xAEtxt.exe") == "user\\u{202E}txt.exe");
  // C1 controls are valid UTF-8, and U+009B is a CSI to a terminal.
  CHECK(printable_bytes("csi\xC2\x9B"
                        "31m") == "csi\\u{009B}31m");
  CHECK(printable_bytes("nel\xC2\x85") == "nel\\u{0085}");
}

TEST_CASE("report: html_bytes of hostile keys contains no markup", "[report]") {
  for (std::string_view key : {kScriptKey, kImgKey, kTitleKey}) {
    std::string out = html_bytes(key);
    INFO(out);
    CHECK(out.find_first_of("<>\"'") == std::string::npos);
  }
  CHECK(html_bytes(kTitleKey) ==
        "&lt;img src=x onerror=&quot;document.title=&#39;pwned&#39;&quot;&gt;");
  CHECK(html_bytes(std::string("<\xFF>", 3)) == "&lt;\\xFF&gt;");
}

// ---------------------------------------------------------------- encodings

TEST_CASE("report: UTF-8 validation, base64 and SHA-256", "[report]") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("\xF0\x9F\x9A\x80"));
  CHECK_FALSE(is_valid_utf8(kBinaryKey));
  CHECK_FALSE(is_valid_utf8("\xC0\x80"));      // overlong NUL
  CHECK_FALSE(is_valid_utf8("\xED\xBF\xBF"));  // surrogate
  CHECK_FALSE(is_valid_utf8("\xF0\x9F\x9A"));  // truncated

  // RFC 4648 section 10 test vectors.
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded) == std::optional<std::string>(plain));
  }
  CHECK(base64_decode(base64_encode(kBinaryKey)) == std::optional<std::string>(kBinaryKey));
  CHECK_FALSE(base64_decode("Zg="));   // not a multiple of 4
  CHECK_FALSE(base64_decode("Z==="));  // too much padding
  CHECK_FALSE(base64_decode("Zh=="));  // non-zero bits under the padding
  CHECK_FALSE(base64_decode("Zm=v"));  // padding in the middle
  CHECK_FALSE(base64_decode("Zm9v!A=="));

  CHECK(hex(sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex(sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("report: endpoints lose their passwords", "[report]") {
  CHECK(redact_endpoint("redis://admin:hunter2@10.0.0.5:6379") == "redis://admin@10.0.0.5:6379");
  CHECK(redact_endpoint("rediss://:hunter2@host:6380/2") == "rediss://@host:6380/2");
  CHECK(redact_endpoint("redis://user@host:6379") == "redis://user@host:6379");
  CHECK(redact_endpoint("redis://host:6379/0?x=a@b") == "redis://host:6379/0?x=a@b");
  CHECK(redact_endpoint("unix:///tmp/redis.sock") == "unix:///tmp/redis.sock");
  CHECK(redact_endpoint("host:6379") == "host:6379");
}

// ---------------------------------------------------------------- SVG

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

// ---------------------------------------------------------------- model + JSON

TEST_CASE("report: JSON of a compare run validates and says what differs", "[report]") {
  ReportTempDir dir;
  Store store(dir.file("m.db"));
  ReportRuns runs = populate_report_store(store);
  ReportModel m =
      build_report(store, {.run = runs.compare, .sample_limit = 100, .now_ms = 1'700'000'000'000});
  json j = json::parse(report_json_text(m));
  require_valid(j);

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

TEST_CASE("report: JSON of a repair run shows the compare it repaired and its outcomes",
          "[report]") {
  ReportTempDir dir;
  Store store(dir.file("m.db"));
  ReportRuns runs = populate_report_store(store);
  ReportModel m = build_report(store, {.run = runs.repair, .sample_limit = 100, .now_ms = 0});
  json j = json::parse(report_json_text(m));
  require_valid(j);

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

TEST_CASE("report: JSON of an interrupted replicate run without target facts", "[report]") {
  ReportTempDir dir;
  Store store(dir.file("m.db"));
  ReportRuns runs = populate_report_store(store);
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

TEST_CASE("report: sample limits bound the samples, not the counts", "[report]") {
  ReportTempDir dir;
  Store store(dir.file("m.db"));
  ReportRuns runs = populate_report_store(store);
  ReportModel m = build_report(store, {.run = runs.compare, .sample_limit = 4, .now_ms = 0});
  CHECK(m.samples.size() == 4);
  CHECK(m.samples[0].key == "user:1001");  // insertion order
  CHECK(m.differences.total == 11);
  CHECK(m.ttl_drift.total == 3);
  ReportModel none = build_report(store, {.run = runs.repair, .sample_limit = 0, .now_ms = 0});
  CHECK(none.outcomes->failures.empty());
  CHECK(none.outcomes->failed == 3);
  require_valid(json::parse(report_json_text(none)));
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
  require_valid(json::parse(report_json_text(m)));
}

// ---------------------------------------------------------------- schema

TEST_CASE("report: the schema validator rejects what the schema forbids", "[report]") {
  ReportTempDir dir;
  Store store(dir.file("m.db"));
  ReportRuns runs = populate_report_store(store);
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

TEST_CASE("report: the embedded schema is the file in reports/assets", "[report]") {
  std::string file =
      read_report_file(fs::path(MIGCHECK_SOURCE_DIR) / "reports/assets/report.schema.json");
  CHECK(asset("report.schema.json") == file);
  json schema = json::parse(file);
  CHECK(schema["$schema"] == "https://json-schema.org/draft/2020-12/schema");
  CHECK(schema["properties"]["schema_version"]["const"] == kReportSchemaVersion);
  CHECK(asset("no-such-asset").empty());
}

// ---------------------------------------------------------------- checks

TEST_CASE("report: check: a clean run is READY with no reasons", "[report]") {
  ReportModel m = ready_model();
  auto checks = readiness_checks(m);
  for (const auto& c : checks) {
    INFO(c.id << ": " << c.detail);
    CHECK(c.status == CheckStatus::kPass);
  }
  Verdict v = verdict(checks);
  CHECK(v.ready);
  CHECK(v.reasons.empty());
}

TEST_CASE("report: check: run completion", "[report]") {
  ReportModel m = ready_model();
  for (const char* status : {"running", "interrupted", "failed", "weird"}) {
    m.run.status = status;
    INFO(status);
    CHECK(status_of(m, "run_completed") == CheckStatus::kFail);
    CHECK_FALSE(verdict(readiness_checks(m)).ready);
  }
  m.run.status = "done";
  m.run.exit_code = 1;  // a compare that found differences finished fine
  CHECK(status_of(m, "run_completed") == CheckStatus::kPass);
  m.run.exit_code = 2;
  CHECK(status_of(m, "run_completed") == CheckStatus::kFail);
}

TEST_CASE("report: check: differences after the last round", "[report]") {
  ReportModel m = ready_model();
  CHECK_THAT(detail_of(m, "differences"),
             ContainsSubstring("0 differences after round 2 (1050 keys checked)"));
  m.rounds.back().differences = 2;  // the round record alone suffices
  CHECK(status_of(m, "differences") == CheckStatus::kFail);
  m.rounds.back().differences = 0;
  m.differences.total = 1;  // as do stored rows
  m.differences.by_kind = {{"ttl", 1}};
  CHECK(status_of(m, "differences") == CheckStatus::kFail);
  CHECK_THAT(detail_of(m, "differences"),
             ContainsSubstring("1 difference remains after round 2 (1050 keys checked): 1 ttl"));

  m = ready_model();
  m.totals = {{"sampled", true}};
  CHECK(status_of(m, "differences") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "differences"), ContainsSubstring("checked a sample"));

  ReportModel none = ready_model();
  none.rounds.clear();
  CHECK(status_of(none, "differences") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(none, "differences"), StartsWith("not evaluated"));
  none.run.command = "repair";
  CHECK_THAT(detail_of(none, "differences"), ContainsSubstring("no verification round"));
}

TEST_CASE("report: check: repair and replicate outcomes", "[report]") {
  ReportModel m = ready_model();
  auto checks = readiness_checks(m);
  CHECK(std::none_of(checks.begin(), checks.end(),
                     [](const Check& c) { return c.id == "outcomes"; }));  // only with outcomes
  m.run.command = "repair";
  m.outcomes = OutcomeSummary{5, 0, {{"deleted", 1}, {"repaired", 4}}, {}};
  CHECK(status_of(m, "outcomes") == CheckStatus::kPass);
  CHECK(detail_of(m, "outcomes") == "5 keys: 1 deleted, 4 repaired");
  m.outcomes = OutcomeSummary{5, 0, {{"planned", 5}}, {}};  // a dry run
  CHECK(status_of(m, "outcomes") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "outcomes"), StartsWith("5 of 5 keys were left unchanged"));
  m.outcomes = OutcomeSummary{5, 1, {{"failed", 1}, {"skipped", 1}, {"repaired", 3}}, {}};
  CHECK(status_of(m, "outcomes") == CheckStatus::kFail);
  CHECK_FALSE(verdict(readiness_checks(m)).ready);
}

TEST_CASE("report: check: key counts per db, with db mapping", "[report]") {
  ReportModel m = ready_model();
  CHECK_THAT(detail_of(m, "key_counts"), ContainsSubstring("db0: source 1000, target 1000"));
  m.target.facts.keys_per_db[0] = 999;
  CHECK(status_of(m, "key_counts") == CheckStatus::kFail);
  CHECK_THAT(detail_of(m, "key_counts"), ContainsSubstring("db0: source 1000, target 999"));

  // A db only the target has is a difference too when nothing is mapped.
  m = ready_model();
  m.target.facts.keys_per_db[5] = 3;
  CHECK(status_of(m, "key_counts") == CheckStatus::kFail);

  // target_db as one db: everything the source has lands there.
  m = ready_model();
  m.options = {{"target_db", 3}};
  m.target.facts.keys_per_db = {{3, 1050}, {0, 7}};  // db0 on the target is unrelated data
  CHECK(status_of(m, "key_counts") == CheckStatus::kPass);
  CHECK_THAT(detail_of(m, "key_counts"),
             ContainsSubstring("db0+db1->db3: source 1050, target 1050"));

  // db limits the source; target_db as a per-db map.
  m = ready_model();
  m.options = {{"db", 1}, {"target_db", {{"1", 4}}}};
  m.target.facts.keys_per_db = {{4, 50}};
  CHECK(status_of(m, "key_counts") == CheckStatus::kPass);
  m.target.facts.keys_per_db = {{4, 49}};
  CHECK(status_of(m, "key_counts") == CheckStatus::kFail);

  // Counts of a run that writes to the target predate its writes.
  m.run.command = "repair";
  CHECK(status_of(m, "key_counts") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "key_counts"), ContainsSubstring("before it wrote to the target"));

  m = ready_model();
  m.source.available = false;
  m.source.unavailable_reason = "not gathered";
  CHECK(status_of(m, "key_counts") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "key_counts"), StartsWith("not evaluated"));
}

TEST_CASE("report: check: target memory headroom", "[report]") {
  ReportModel m = ready_model();
  m.source.facts.used_memory = 1000;
  m.target.facts.maxmemory = 1200;  // exactly 1.2x
  CHECK(status_of(m, "memory_headroom") == CheckStatus::kPass);
  m.target.facts.maxmemory = 1199;
  CHECK(status_of(m, "memory_headroom") == CheckStatus::kFail);
  CHECK_FALSE(verdict(readiness_checks(m)).ready);
  m.target.facts.maxmemory = 0;
  CHECK(status_of(m, "memory_headroom") == CheckStatus::kPass);
  CHECK_THAT(detail_of(m, "memory_headroom"), ContainsSubstring("unlimited"));
  m.target.facts.maxmemory = -1;
  CHECK(status_of(m, "memory_headroom") == CheckStatus::kWarn);
  m.target.facts.maxmemory = 5000;
  m.source.facts.used_memory = -1;
  CHECK(status_of(m, "memory_headroom") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "memory_headroom"), StartsWith("not evaluated"));

  // A cluster target's maxmemory is per primary.
  m = ready_model();
  m.source.facts.used_memory = 1000;
  m.target.facts.maxmemory = 500;
  m.target.facts.mode = "cluster";
  m.target.facts.nodes = {{"a:1", "primary", {}, 0},
                          {"b:1", "primary", {}, 0},
                          {"c:1", "primary", {}, 0},
                          {"d:1", "replica", {}, 0}};
  CHECK(status_of(m, "memory_headroom") == CheckStatus::kPass);
  CHECK_THAT(detail_of(m, "memory_headroom"), ContainsSubstring("x 3 primaries"));
}

TEST_CASE("report: check: target eviction policy", "[report]") {
  ReportModel m = ready_model();
  m.target.facts.maxmemory_policy = "allkeys-lru";
  CHECK(status_of(m, "eviction_policy") == CheckStatus::kWarn);
  CHECK(verdict(readiness_checks(m)).ready);  // a warning does not block
  m.target.facts.maxmemory_policy = "";
  CHECK(status_of(m, "eviction_policy") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "eviction_policy"), StartsWith("not evaluated"));
}

TEST_CASE("report: check: DUMP payload compatibility", "[report]") {
  ReportModel m = ready_model();
  m.source.facts.rdb_version = 10;
  m.target.facts.rdb_version = 11;
  CHECK(status_of(m, "dump_compatibility") == CheckStatus::kPass);
  m.source.facts.rdb_version = 12;
  CHECK(status_of(m, "dump_compatibility") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "dump_compatibility"),
             ContainsSubstring("repair/replicate will use the type-specific fallback"));
  // Redis 7.4+ payloads (RDB 12) are refused by Valkey 9 (RDB 80), whose
  // own numbers skip the range Redis uses.
  m.target.facts.engine = "valkey";
  m.target.facts.rdb_version = 80;
  CHECK(status_of(m, "dump_compatibility") == CheckStatus::kWarn);
  m.source.facts.rdb_version = 11;
  CHECK(status_of(m, "dump_compatibility") == CheckStatus::kPass);
  m.target.facts.rdb_version = 11;
  // Without a DUMP, the release's RDB version stands in: Redis 8.0 writes 12.
  m.source.facts.rdb_version.reset();
  m.source.facts.rdb_version_note = "unknown (DUMP not allowed: NOPERM)";
  m.source.facts.version = "8.0.2";
  CHECK(status_of(m, "dump_compatibility") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "dump_compatibility"),
             ContainsSubstring("source RDB version 12 (from its release), target 11"));
  m.source.facts.version = "7.4.1";
  CHECK_THAT(detail_of(m, "dump_compatibility"), ContainsSubstring("source RDB version 12"));
  m.source.facts.version = "7.2.4";
  CHECK(status_of(m, "dump_compatibility") == CheckStatus::kPass);
  // An unknown release and no DUMP: not evaluated, and why.
  m.source.facts.version = "unknown";
  CHECK(status_of(m, "dump_compatibility") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "dump_compatibility"), ContainsSubstring("could not be evaluated"));
  CHECK_THAT(detail_of(m, "dump_compatibility"), ContainsSubstring("DUMP not allowed"));
}

TEST_CASE("report: check: keyspace notifications for live replication", "[report]") {
  ReportModel m = ready_model();
  for (const char* ok : {"KEA", "KA", "Eg$lshzxet", "AKE"}) {
    m.source.facts.notify_keyspace_events = ok;
    INFO(ok);
    CHECK(status_of(m, "keyspace_notifications") == CheckStatus::kPass);
  }
  m.source.facts.notify_keyspace_events = "Ex";
  CHECK(status_of(m, "keyspace_notifications") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "keyspace_notifications"), ContainsSubstring("missing classes g$lshzet"));
  m.source.facts.notify_keyspace_events = "A";
  CHECK_THAT(detail_of(m, "keyspace_notifications"), ContainsSubstring("no K/E channel"));
  m.source.facts.notify_keyspace_events = "";
  CHECK(status_of(m, "keyspace_notifications") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "keyspace_notifications"), ContainsSubstring("(off)"));
  m.source.facts.config_allowed = false;
  m.source.facts.notify_keyspace_events = "unknown (CONFIG not allowed)";
  CHECK(status_of(m, "keyspace_notifications") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "keyspace_notifications"), StartsWith("could not be evaluated"));
}

TEST_CASE("report: check: TLS on both sides", "[report]") {
  ReportModel m = ready_model();
  m.target.facts.tls = false;
  CHECK(status_of(m, "tls") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "tls"), ContainsSubstring("target does not use TLS"));
  m.target.endpoint = "unix:///run/valkey.sock";  // never on the network
  CHECK(status_of(m, "tls") == CheckStatus::kPass);
  m = ready_model();
  m.source.available = false;
  m.source.endpoint = "";
  CHECK(status_of(m, "tls") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "tls"), StartsWith("not fully evaluated"));
}

TEST_CASE("report: check: big keys", "[report]") {
  ReportModel m = ready_model();
  CHECK(detail_of(m, "big_keys") == "no big keys found");
  m.big_keys = {true, 3, {BigKey{0, "big:1", "zset", 1}, BigKey{0, kBinaryKey, "hash", 2}}};
  CHECK(status_of(m, "big_keys") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "big_keys"), ContainsSubstring("3 big keys"));
  CHECK_THAT(detail_of(m, "big_keys"), ContainsSubstring("big:1, bin\\x00\\xFF\\xFE:end"));
  m.big_keys = {};
  CHECK(status_of(m, "big_keys") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "big_keys"), StartsWith("not evaluated"));
}

TEST_CASE("report: check: the verdict lists failures before warnings", "[report]") {
  ReportModel m = ready_model();
  m.target.facts.maxmemory_policy = "volatile-lru";  // warn
  m.target.facts.keys_per_db[1] = 1;                 // fail
  Verdict v = verdict(readiness_checks(m));
  CHECK_FALSE(v.ready);
  REQUIRE(v.reasons.size() == 2);
  CHECK_THAT(v.reasons[0], StartsWith("Key counts per db: db1: source 50, target 1"));
  CHECK_THAT(v.reasons[1], StartsWith("Target eviction policy: volatile-lru"));

  m.target.facts.keys_per_db[1] = 50;
  v = verdict(readiness_checks(m));
  CHECK(v.ready);  // READY with its warning as the reason
  REQUIRE(v.reasons.size() == 1);
  CHECK_THAT(v.reasons[0], StartsWith("Target eviction policy"));
}

// ---------------------------------------------------------------- HTML

TEST_CASE("report: HTML is self-contained, escapes keys and carries the JSON hash", "[report]") {
  ReportTempDir dir;
  Store store(dir.file("m.db"));
  ReportRuns runs = populate_report_store(store);
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

TEST_CASE("report: HTML of a repair run shows the compare it repaired", "[report]") {
  ReportTempDir dir;
  Store store(dir.file("m.db"));
  ReportRuns runs = populate_report_store(store);
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

// ---------------------------------------------------------------- CLI

TEST_CASE("report: CLI writes both formats next to the store", "[report][cli]") {
  ReportTempDir dir;
  std::string db = dir.file("m.db");
  ReportRuns runs;
  {
    Store store(db);
    runs = populate_report_store(store);
  }
  CliResult r = run_migcheck_cli({"report", "--store", db});
  INFO(r.err);
  CHECK(r.exit_code == 1);  // the latest compare run, with differences
  fs::path json_path = dir.path() / ("migcheck-report-" + std::to_string(runs.compare) + ".json");
  fs::path html_path = dir.path() / ("migcheck-report-" + std::to_string(runs.compare) + ".html");
  REQUIRE(fs::exists(json_path));
  REQUIRE(fs::exists(html_path));
  CHECK_THAT(r.err, ContainsSubstring("NOT READY"));
  std::string json_bytes = read_report_file(json_path);
  std::string html = read_report_file(html_path);
  require_valid(json::parse(json_bytes));
  CHECK_THAT(html, ContainsSubstring("id=\"json-sha256\">" + hex(sha256(json_bytes)) + "<"));
  CHECK_THAT(html, ContainsSubstring(json_path.filename().string()));
  for (const auto& e : fs::directory_iterator(dir.path()))
    CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);

  // --quiet silences the informational lines.
  r = run_migcheck_cli({"report", "--store", db, "--run", std::to_string(runs.compare), "-q"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.empty());
}

TEST_CASE("report: CLI --out and --format", "[report][cli]") {
  ReportTempDir dir;
  std::string db = dir.file("m.db");
  ReportRuns runs;
  {
    Store store(db);
    runs = populate_report_store(store);
  }
  std::string compare = std::to_string(runs.compare);

  CliResult r = run_migcheck_cli(
      {"report", "--store", db, "--run", compare, "--format", "json", "--out", "-"});
  CHECK(r.exit_code == 1);
  json j = json::parse(r.out);
  require_valid(j);
  CHECK(j["run"]["id"] == runs.compare);

  r = run_migcheck_cli(
      {"report", "--store", db, "--run", compare, "--format", "html", "--out", "-"});
  CHECK_THAT(r.out, StartsWith("<!DOCTYPE html>"));

  fs::create_directories(dir.path() / "out");
  r = run_migcheck_cli(
      {"report", "--store", db, "--run", compare, "--out", (dir.path() / "out").string()});
  CHECK(fs::exists(dir.path() / "out" / ("migcheck-report-" + compare + ".json")));
  CHECK(fs::exists(dir.path() / "out" / ("migcheck-report-" + compare + ".html")));

  r = run_migcheck_cli(
      {"report", "--store", db, "--run", compare, "--format", "html", "--out", dir.file("r.html")});
  CHECK(r.exit_code == 1);
  CHECK(fs::exists(dir.file("r.html")));

  r = run_migcheck_cli({"report", "--store", db, "--out", "-"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("--format"));
  r = run_migcheck_cli({"report", "--store", db, "--out", dir.file("one-file.json")});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("not a directory"));
  r = run_migcheck_cli({"report", "--store", db, "--run", "99"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("has no run 99"));
  r = run_migcheck_cli({"report", "--store", db, "--format", "pdf"});
  CHECK(r.exit_code == 2);

  r = run_migcheck_cli({"report", "--store", db, "--print-schema"});
  CHECK(r.exit_code == 0);
  CHECK(json::parse(r.out) == report_schema());
}

TEST_CASE("report: CLI refuses a missing store without creating it", "[report][cli]") {
  ReportTempDir dir;
  CliResult r = run_migcheck_cli({"report", "--store", dir.file("absent.db")});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("no such file"));
  CHECK_FALSE(fs::exists(dir.file("absent.db")));

  std::ofstream(dir.file("foreign.db")) << "not sqlite";
  r = run_migcheck_cli({"report", "--store", dir.file("foreign.db")});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("not a migcheck store"));
}

TEST_CASE("report: a READY run exits 0", "[report][cli]") {
  ReportTempDir dir;
  std::string db = dir.file("m.db");
  {
    Store store(db);
    RunRecord r;
    r.command = "compare";
    r.source = "rediss://10.0.0.5:6380";
    r.target = "rediss://10.0.1.9:6379";
    int64_t id = store.begin_run(r);
    store.set_server_info(id, to_json(report_source_facts()).dump(),
                          to_json(report_target_facts()).dump());
    store.set_totals(id, R"({"big_keys":{"count":0,"keys":[]}})");
    store.put_round(RoundRecord{id, 1, 1050, 0, 1, 2});
    store.finish_run(id, "done", 0);
  }
  CliResult r = run_migcheck_cli({"report", "--store", db, "--format", "json", "--out", "-"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  json j = json::parse(r.out);
  CHECK(j["verdict"] == "READY");
  CHECK(j["reasons"].empty());
}

// ---------------------------------------------------------------- end to end

TEST_CASE("report: end to end on real servers: compare, repair, compare again",
          "[report][integration]") {
  if (!have_binary("redis-server") || !have_binary("valkey-server"))
    SKIP("redis-server and valkey-server are needed");
  TestServer source;                                            // Redis
  TestServer target(ServerOptions{.binary = "valkey-server"});  // Valkey
  std::vector<std::vector<std::string>> load;
  for (int i = 0; i < 200; ++i)
    load.push_back({"SET", "k:" + std::to_string(i), "v" + std::to_string(i)});
  source.pipeline(load);
  target.pipeline(load);
  source.pipeline({{"SET", std::string(kScriptKey), "x"},
                   {"SET", std::string(kTitleKey), "y"},
                   {"HSET", kBinaryKey, "f", "v"},
                   {"SET", "k:7", "changed"},
                   {"SET", "ttl:1", "t", "PX", "3600000"}});
  target.pipeline({{"SET", std::string(kImgKey), "extra"}, {"SET", "ttl:1", "t"}});

  ReportTempDir dir;
  const std::string db = dir.file("m.db");
  auto migcheck = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--store", db, "-q"});
    return run_migcheck_cli(args);
  };
  CliResult r =
      migcheck({"compare", source.uri(), target.uri(), "--rounds", "2", "--interval", "0s"});
  INFO(r.err);
  REQUIRE(r.exit_code == 1);

  r = migcheck({"report", "--format", "json", "--out", "-"});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  json j = json::parse(r.out);
  require_valid(j);
  CHECK(j["verdict"] == "NOT_READY");
  CHECK(j["run"]["command"] == "compare");
  CHECK(j["source"]["engine"] == "redis");
  CHECK(j["target"]["engine"] == "valkey");
  CHECK(j["rounds"].size() == 2);
  CHECK(j["differences"]["total"] == 6);
  CHECK(j["differences"]["by_kind"] ==
        json{{"extra", 1}, {"missing", 3}, {"ttl", 1}, {"value", 1}});
  CHECK(sample_with_key(j, kScriptKey)["kind"] == "missing");
  CHECK(sample_with_key(j, kImgKey)["kind"] == "extra");
  CHECK(check(json_checks(j), "differences") == "fail");
  CHECK(check(json_checks(j), "key_counts") == "fail");  // 204 vs 202 in db0
  CHECK(check(json_checks(j), "dump_compatibility") ==
        "pass");  // RDB 10 (Redis 7.0) into 11 (Valkey 8)

  r = migcheck({"report", "--format", "html", "--out", dir.file("before.html")});
  std::string html = read_report_file(dir.file("before.html"));
  CHECK(html.find(kScriptKey) == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK_THAT(html, ContainsSubstring(html_bytes(kTitleKey)));

  r = migcheck({"repair", source.uri(), target.uri(), "--delete-extra"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  // Without --run, report describes the latest compare, which the repair
  // made stale.
  r = migcheck({"report", "--format", "json", "--out", "-"});
  j = json::parse(r.out);
  CHECK(j["run"]["command"] == "compare");
  CHECK(check(json_checks(j), "written_after") == "fail");
  r = migcheck({"report", "--run", "2", "--format", "json", "--out", "-"});
  CHECK(r.exit_code == 1);
  j = json::parse(r.out);
  require_valid(j);
  CHECK(j["run"]["command"] == "repair");
  CHECK(j["parent"]["command"] == "compare");
  CHECK(j["verdict"] == "REPAIRED");
  CHECK(j["repair"]["failed"] == 0);
  CHECK(check(json_checks(j), "outcomes") == "pass");

  r = migcheck({"compare", source.uri(), target.uri(), "--rounds", "1"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = migcheck({"report", "--format", "json", "--out", "-"});
  INFO(r.out);
  j = json::parse(r.out);
  require_valid(j);
  CHECK(r.exit_code == 0);
  CHECK(j["verdict"] == "READY");
  CHECK(check(json_checks(j), "differences") == "pass");
  CHECK(check(json_checks(j), "key_counts") == "pass");
  CHECK(check(json_checks(j), "memory_headroom") == "pass");  // maxmemory 0: unlimited
  CHECK(check(json_checks(j), "tls") == "warn");              // plain loopback
  CHECK(check(json_checks(j), "big_keys") == "pass");         // compare recorded its big keys: none
  CHECK_FALSE(j["reasons"].empty());                          // the warnings
}

TEST_CASE("report: a run that started over after a server restart is flagged", "[report]") {
  ReportModel m = ready_model();
  auto has = [](const ReportModel& r, std::string_view id) {
    auto cs = readiness_checks(r);
    return std::any_of(cs.begin(), cs.end(), [&](const Check& c) { return c.id == id; });
  };
  CHECK_FALSE(has(m, "server_restarts"));  // runs that do not record it
  m.totals = {{"starts_over", 0}};
  CHECK(status_of(m, "server_restarts") == CheckStatus::kPass);
  m.totals = {{"starts_over", 2}};
  CHECK(status_of(m, "server_restarts") == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, "server_restarts"), ContainsSubstring("started over 2 times"));
  CHECK(verdict(readiness_checks(m)).ready);  // a warning, not a blocker
}

TEST_CASE("report: where a value differs, in JSON as stored and in HTML as escaped text",
          "[report]") {
  ReportTempDir dir;
  Store store(dir.file("m.db"));
  ReportRuns runs = populate_report_store(store);
  ReportModel m = build_report(store, {.run = runs.compare, .sample_limit = 100, .now_ms = 1});
  json j = json::parse(report_json_text(m));
  require_valid(j);
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
