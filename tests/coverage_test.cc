// The coverage, freshness and identity checks (reports/coverage.cc) on
// models, and the verdicts of `migcheck report` end to end against real
// servers: READY only for a full compare; a sampled, --match or db0-only
// compare INCOMPLETE; a replicate after a clean compare NOT READY; a repair
// --dry-run DRY RUN (and its planned actions listed by `diffs`).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "coverage.h"
#include "readiness.h"
#include "report_fixture.h"
#include "report_model.h"
#include "server_fixture.h"
#include "store.h"

using Catch::Matchers::ContainsSubstring;
using nlohmann::json;
using namespace migcheck;
using namespace migcheck::test;

namespace {

ReportModel full_compare() {
  ReportModel m;
  m.run.id = 1;
  m.run.command = "compare";
  m.run.status = "done";
  m.run.exit_code = 0;
  m.options = {{"db", 0},     {"target_db", 0},     {"match", ""}, {"types", json::array()},
               {"sample", 0}, {"target_scan", true}};
  m.totals = {{"sampled", false}};
  m.source = {"redis://a:1", true, "", report_source_facts()};
  m.target = {"redis://b:1", true, "", report_target_facts()};
  m.source.facts.keys_per_db = {{0, 10}};
  m.target.facts.keys_per_db = {{0, 10}};
  m.rounds = {RoundRecord{1, 1, 10, 0, 0, 0}};
  return m;
}

const Check& find(const std::vector<Check>& checks, std::string_view id) {
  auto it = std::find_if(checks.begin(), checks.end(), [&](const Check& c) { return c.id == id; });
  REQUIRE(it != checks.end());
  return *it;
}

std::string kind_of(const ReportModel& m) {
  return verdict(readiness_checks(m)).kind;
}
Cmds keys(int n, const std::string& prefix = "k:") {
  Cmds c;
  for (int i = 0; i < n; ++i) c.push_back({"SET", prefix + std::to_string(i), "v"});
  return c;
}

struct Cli {
  std::string store;
  ProcessResult operator()(std::vector<std::string> args) const {
    args.insert(args.end(), {"--store", store, "-q"});
    return run_migcheck(args);
  }
  // `report` of `run` (0: the default) as JSON, with its exit code.
  std::pair<int, json> report(int64_t run = 0) const {
    std::vector<std::string> args{"report", "--format", "json", "--out", "-"};
    if (run > 0) args.insert(args.end(), {"--run", std::to_string(run)});
    ProcessResult r = (*this)(args);
    INFO(r.err);
    return {r.exit_code, json::parse(r.out)};
  }
};

// A source of `n` keys, a target of the first `m` of them, and a Cli on a
// store in a temp dir.
struct Seeded {
  TestServer source, target;
  ReportTempDir dir;
  Cli cli{dir.file("m.db")};
  Seeded(int n, int m) {
    source.pipeline(keys(n));
    target.pipeline(keys(m));
  }
  // A one-round compare with `options`, which must exit with
  // `compare_exit`, then the report, which must exit with `report_exit` and
  // give `verdict`; the report.
  json compared(const std::vector<std::string>& options, int compare_exit, int report_exit,
                const std::string& verdict) const {
    std::vector<std::string> args{"compare", source.uri(), target.uri(), "--rounds", "1"};
    args.insert(args.end(), options.begin(), options.end());
    REQUIRE(cli(args).exit_code == compare_exit);
    const auto [code, j] = cli.report();
    CHECK(code == report_exit);
    CHECK(j["verdict"] == verdict);
    return j;
  }
};

std::string check_status(const json& report, const std::string& id) {
  for (const auto& c : report["checks"])
    if (c["id"] == id) return c["status"].get<std::string>();
  return "";
}
std::string check_detail(const json& report, const std::string& id) {
  for (const auto& c : report["checks"])
    if (c["id"] == id) return c["detail"].get<std::string>();
  return "";
}

}  // namespace

TEST_CASE("coverage: a full compare is READY; filters, samples and left-out dbs are INCOMPLETE",
          "[coverage]") {
  ReportModel m = full_compare();
  CHECK(kind_of(m) == kVerdictReady);
  CHECK(find(readiness_checks(m), "scope").status == CheckStatus::kPass);
  CHECK(find(readiness_checks(m), "databases").status == CheckStatus::kPass);

  ReportModel f = full_compare();
  f.options["match"] = "user:*";
  CHECK(kind_of(f) == kVerdictIncomplete);
  CHECK_THAT(find(readiness_checks(f), "scope").detail, ContainsSubstring("--match \"user:*\""));
  f = full_compare();
  f.options["types"] = {"hash"};
  CHECK(kind_of(f) == kVerdictIncomplete);
  f = full_compare();
  f.totals["sampled"] = true;
  f.options["sample"] = 5;
  CHECK(kind_of(f) == kVerdictIncomplete);
  CHECK_THAT(find(readiness_checks(f), "scope").detail, ContainsSubstring("--sample"));
  f = full_compare();
  f.options["target_scan"] = false;
  CHECK(kind_of(f) == kVerdictIncomplete);

  // A db holding keys on either side that the run did not compare.
  f = full_compare();
  f.source.facts.keys_per_db[3] = 4;
  CHECK(kind_of(f) == kVerdictIncomplete);
  CHECK_THAT(find(readiness_checks(f), "databases").detail,
             ContainsSubstring("source db3 (4 keys)"));
  CHECK_THAT(find(readiness_checks(f), "key_counts").detail,
             ContainsSubstring("db3: source 4, target 0 (not compared)"));
  CHECK(find(readiness_checks(f), "key_counts").status == CheckStatus::kPass);
  // ... unless the run recorded it compared every pair (totals.databases).
  f.totals["databases"] = {{{"source_db", 0}, {"target_db", 0}},
                           {{"source_db", 3}, {"target_db", 3}}};
  CHECK(find(readiness_checks(f), "databases").status == CheckStatus::kPass);
  CHECK(find(readiness_checks(f), "key_counts").status == CheckStatus::kFail);  // 4 vs 0
  CHECK(kind_of(f) == kVerdictNotReady);

  // A real problem outranks incompleteness.
  f = full_compare();
  f.options["match"] = "x*";
  f.rounds.back().differences = 3;
  CHECK(kind_of(f) == kVerdictNotReady);

  for (const char* status : {"interrupted", "failed", "running"}) {
    f = full_compare();
    f.run.status = status;
    CHECK(kind_of(f) == kVerdictIncomplete);
  }
}

TEST_CASE("coverage: run completion says what exit code 1 means", "[coverage]") {
  ReportModel m = full_compare();
  m.run.exit_code = 1;
  CHECK(find(readiness_checks(m), "run_completed").status == CheckStatus::kPass);
  CHECK_THAT(find(readiness_checks(m), "run_completed").detail,
             ContainsSubstring("differences remained"));
  m.run.command = "replicate";
  CHECK(find(readiness_checks(m), "run_completed").status == CheckStatus::kWarn);
  CHECK_THAT(find(readiness_checks(m), "run_completed").detail,
             ContainsSubstring("not every key was copied"));
}

TEST_CASE("coverage: writes after the compare, and runs that write", "[coverage]") {
  ReportModel m = full_compare();
  RunRecord w;
  w.id = 2;
  w.command = "replicate";
  m.later_writes = {w};
  CHECK(find(readiness_checks(m), "written_after").status == CheckStatus::kFail);
  CHECK_THAT(find(readiness_checks(m), "written_after").detail,
             ContainsSubstring("target was written after this compare (replicate run 2)"));
  CHECK(kind_of(m) == kVerdictNotReady);

  ReportModel r = full_compare();
  r.run.command = "repair";
  r.run.options_json = R"({"dry_run":true})";
  CHECK(find(readiness_checks(r), "verification").status == CheckStatus::kFail);
  CHECK_THAT(find(readiness_checks(r), "verification").detail, ContainsSubstring("dry run"));
  CHECK_FALSE(verdict(readiness_checks(r)).ready);

  RunRecord cmp, same, other;
  cmp.target = "redis://127.0.0.1:1";
  same.target = "redis://127.0.0.1:1";
  other.target = "redis://127.0.0.1:2";
  CHECK(writes_same_target(cmp, same));
  CHECK_FALSE(writes_same_target(cmp, other));
  // Recorded identities win over the text: localhost is 127.0.0.1.
  cmp.target_info_json = R"({"identity":{"run_ids":["aa"],"addresses":["127.0.0.1:1"],"nodes":1}})";
  other.target_info_json =
      R"({"identity":{"run_ids":["aa"],"addresses":["127.0.0.1:1"],"nodes":1}})";
  other.target = "redis://localhost:1";
  CHECK(writes_same_target(cmp, other));
}

TEST_CASE("coverage: report verdicts end to end", "[coverage][integration]") {
  Seeded seeded(200, 200);
  auto& [source, target, dir, cli] = seeded;

  // A full, clean compare: READY, exit 0.
  seeded.compared({}, 0, 0, "READY");

  // A sample of 20 of the 200 keys: INCOMPLETE, exit 1.
  auto j = seeded.compared({"--sample", "20"}, 0, 1, "INCOMPLETE");
  CHECK(check_status(j, "scope") == "fail");

  // --match: INCOMPLETE.
  j = seeded.compared({"--match", "k:1*"}, 0, 1, "INCOMPLETE");
  CHECK_THAT(check_detail(j, "scope"), ContainsSubstring("--match"));

  // Keys in db3 of the source only, a compare narrowed to db0: INCOMPLETE,
  // db3 named.
  source.pipeline({{"SELECT", "3"}, {"SET", "only:in:3", "x"}, {"SET", "also:in:3", "y"}});
  j = seeded.compared({"--db", "0"}, 0, 1, "INCOMPLETE");
  CHECK_THAT(check_detail(j, "databases"), ContainsSubstring("source db3 (2 keys)"));
  CHECK_THAT(check_detail(j, "key_counts"), ContainsSubstring("db3: source 2, target 0"));
  // Every database, the default: db3's two keys are missing on the target.
  j = seeded.compared({}, 1, 1, "NOT_READY");
  CHECK(check_status(j, "databases") == "pass");
  source.pipeline({{"SELECT", "3"}, {"FLUSHDB"}});

  // Clean again, then a replicate writes to the target: the compare no
  // longer describes it.
  REQUIRE(cli({"compare", source.uri(), target.uri(), "--rounds", "1"}).exit_code == 0);
  const int64_t clean = 6;
  int code = 0;
  std::tie(code, j) = cli.report();
  REQUIRE(j["run"]["id"] == clean);
  CHECK(code == 0);
  REQUIRE(cli({"replicate", source.uri(), target.uri()}).exit_code == 0);
  std::tie(code, j) = cli.report();  // still the latest compare
  CHECK(j["run"]["id"] == clean);
  CHECK(code == 1);
  CHECK(j["verdict"] == "NOT_READY");
  CHECK_THAT(check_detail(j, "written_after"),
             ContainsSubstring("target was written after this compare (replicate run 7)"));
  std::tie(code, j) = cli.report(7);  // the replicate run: what it did, not READY
  CHECK(code == 1);
  CHECK(j["verdict"] == "REPLICATED");
}

TEST_CASE("coverage: a repair --dry-run is a DRY RUN everywhere", "[coverage][integration]") {
  Seeded seeded(30, 25);
  auto& [source, target, dir, cli] = seeded;
  REQUIRE(cli({"compare", source.uri(), target.uri(), "--rounds", "1"}).exit_code == 1);

  ProcessResult r =
      run_migcheck({"repair", source.uri(), target.uri(), "--dry-run", "--store", cli.store});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, ContainsSubstring("Result: DRY RUN (5 planned, nothing written)"));
  CHECK(target.cmd({"DBSIZE"}) == "25");

  auto [code, j] = cli.report(2);
  CHECK(code == 1);
  CHECK(j["verdict"] == "DRY_RUN");
  CHECK(check_status(j, "verification") == "fail");

  // The planned action per key.
  r = cli({"diffs", "--run", "2"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, ContainsSubstring("run 2 is a repair run (DRY RUN: nothing was written)"));
  CHECK_THAT(r.out, ContainsSubstring("planned"));
  CHECK_THAT(r.out, ContainsSubstring("k:29"));
  r = cli({"diffs", "--run", "2", "--format", "jsonl"});
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 5);
  CHECK_THAT(r.out, ContainsSubstring("\"outcome\":\"planned\""));

  // A dry run wrote nothing: the compare's own verdict stands (it differs).
  std::tie(code, j) = cli.report();
  CHECK(j["run"]["id"] == 1);
  CHECK(j["verdict"] == "NOT_READY");
  CHECK(check_status(j, "written_after") == "pass");
}
