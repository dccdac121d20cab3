// Tests of `migcheck report` (cli/report_cmd.cc): files, flags, exit codes, and
// end to end on real servers.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "encoding.h"
#include "html_escape.h"
#include "report_checks.h"
#include "report_fixture.h"
#include "report_json.h"
#include "server_fixture.h"

namespace fs = std::filesystem;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;
using nlohmann::json;
using namespace migcheck;
using namespace migcheck::test;

TEST_CASE("report: CLI writes both formats next to the store", "[report][cli]") {
  ReportTempDir dir;
  std::string db = dir.file("m.db");
  const ReportRuns runs = populate_report_file(db);
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
  const ReportRuns runs = populate_report_file(db);
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
