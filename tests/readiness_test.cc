// Tests of reports/readiness.h: every readiness check and the verdict.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <string>

#include "readiness.h"
#include "report_checks.h"
#include "report_fixture.h"
#include "report_model.h"

using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;
using namespace migcheck;
using namespace migcheck::test;

namespace {

// Check `id` of `m`, its source facts not available, warns with a detail
// that starts with `prefix`: not evaluated rather than passed or failed.
void check_warns_without_source(ReportModel m, std::string_view id, const std::string& prefix) {
  m.source.available = false;
  CHECK(status_of(m, id) == CheckStatus::kWarn);
  CHECK_THAT(detail_of(m, id), StartsWith(prefix));
}

}  // namespace

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
  m.source.unavailable_reason = "not gathered";
  check_warns_without_source(m, "key_counts", "not evaluated");
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
  m.source.endpoint = "";
  check_warns_without_source(m, "tls", "not fully evaluated");
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
