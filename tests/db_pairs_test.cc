// Database pairs (src/db_pairs.*): --db-map parsing, narrowing, discovery;
// and end to end, compare / replicate / repair covering every database that
// holds keys unless --db, a URI's db or --db-map narrows it, per-db totals,
// clusters (db 0 only), and an interrupted multi-db compare resumed.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"
#include "db_pairs.h"
#include "errors.h"
#include "server_fixture.h"
#include "server_info.h"
#include "store.h"
#include "test_util.h"

namespace t = migcheck::test;
using namespace migcheck;
using namespace std::chrono_literals;
using t::run_migcheck;

namespace {

using migcheck::test::slurp;

using t::Cmds;

std::string tmp_store(const std::string& name) {
  return migcheck::test::tmp_store("dbs", name);
}

// Commands run in `db` (one connection: SELECT first).
Cmds in_db(int db, Cmds cmds) {
  cmds.insert(cmds.begin(), {"SELECT", std::to_string(db)});
  return cmds;
}

// numbered_keys(n) in database 0 and in database 3 of `server`.
void load_dbs_0_and_3(t::TestServer& server, int n) {
  for (int db : {0, 3}) server.pipeline(in_db(db, t::numbered_keys(n)));
}

Cmds keys(const std::string& prefix, int n) {
  Cmds c;
  for (int i = 0; i < n; ++i)
    c.push_back({"SET", prefix + std::to_string(i), "v" + std::to_string(i)});
  return c;
}

nlohmann::json latest_totals(const std::string& store, const std::string& command = "compare") {
  Store s(store, false);
  auto run = s.latest_run(command);
  REQUIRE(run);
  return nlohmann::json::parse(run->totals_json);
}

// migcheck `args` is refused as bad usage (exit 2) with an error that
// names `text`.
void check_usage_error(const std::vector<std::string>& args, const std::string& text) {
  const auto r = run_migcheck(args);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(text) != std::string::npos);
}

}  // namespace

TEST_CASE("db_pairs: --db-map, narrowing and discovery", "[db_pairs]") {
  CHECK(parse_db_map("0:0,3:5") == std::vector<DbPair>{{0, 0}, {3, 5}});
  CHECK(parse_db_map("7:1") == std::vector<DbPair>{{7, 1}});
  for (const char* bad : {"", "3", "3:", ":3", "a:b", "1:2,", "1:2,1:3", "1:2,3:2", "-1:0"})
    CHECK_THROWS_AS(parse_db_map(bad), UsageError);

  Endpoint s, tg;
  CHECK(chosen_db_pairs(s, tg, -1, -1, "").empty());
  CHECK(chosen_db_pairs(s, tg, -1, -1, "3:5") == std::vector<DbPair>{{3, 5}});
  s.db = 2;
  s.db_given = true;
  tg.db = 2;
  CHECK(chosen_db_pairs(s, tg, -1, -1, "") == std::vector<DbPair>{{2, 2}});
  CHECK_THROWS_AS(chosen_db_pairs(s, tg, -1, -1, "0:0"), UsageError);
  CHECK_THROWS_AS(chosen_db_pairs(Endpoint{}, Endpoint{}, 1, -1, "0:0"), UsageError);

  ServerFacts sf, tf;
  sf.version = tf.version = "7.0.0";
  sf.keys_per_db = {{0, 10}, {3, 2}};
  tf.keys_per_db = {{0, 10}, {9, 1}};
  std::string warning;
  CHECK(discover_db_pairs(sf, tf, warning) == std::vector<DbPair>{{0, 0}, {3, 3}, {9, 9}});
  CHECK(warning.empty());
  ServerFacts empty_s, empty_t;
  empty_s.version = empty_t.version = "7.0.0";
  CHECK(discover_db_pairs(empty_s, empty_t, warning) == std::vector<DbPair>{{0, 0}});
  ServerFacts no_info;
  no_info.endpoint = "redis://x:1";
  CHECK(discover_db_pairs(no_info, tf, warning) == std::vector<DbPair>{{0, 0}, {9, 9}});
  CHECK(warning.find("redis://x:1") != std::string::npos);

  // Resolved: as asked, else discovered; never a db other than 0 on a cluster.
  Endpoint two;
  two.db = 2;
  CHECK(resolve_db_pairs({}, false, two, two, sf, tf) == std::vector<DbPair>{{2, 2}});
  CHECK(resolve_db_pairs({}, true, two, two, sf, tf) ==
        std::vector<DbPair>{{0, 0}, {3, 3}, {9, 9}});
  CHECK(resolve_db_pairs({{3, 5}}, true, two, two, sf, tf) == std::vector<DbPair>{{3, 5}});
  ServerFacts cluster = tf;
  cluster.mode = "cluster";
  cluster.endpoint = "redis://c:1";
  CHECK(resolve_db_pairs({{3, 0}}, false, two, two, sf, cluster) == std::vector<DbPair>{{3, 0}});
  try {
    resolve_db_pairs({{3, 3}}, false, two, two, sf, cluster);
    FAIL("no error");
  } catch (const UsageError& e) {
    CHECK(std::string(e.what()).find("redis://c:1 is a cluster") != std::string::npos);
  }

  // Recorded options round-trip, in the forms reports read.
  for (const auto& pairs :
       {std::vector<DbPair>{}, std::vector<DbPair>{{3, 5}}, std::vector<DbPair>{{0, 0}, {3, 5}}}) {
    nlohmann::json j = nlohmann::json::object();
    add_db_options(j, pairs);
    CHECK(db_pairs_from_options(j) == pairs);
    CHECK(target_db_for(j, 3) == (pairs.empty() ? 3 : 5));
  }
  nlohmann::json j = nlohmann::json::object();
  add_db_options(j, {{0, 0}, {3, 5}});
  CHECK(j["target_db"]["3"] == 5);
  CHECK_FALSE(j.contains("db"));
  CHECK(describe_db_pairs({{0, 0}, {3, 5}}) == "db 0, db 3 -> db 5");
}

TEST_CASE("db_pairs: compare, replicate and repair cover every database",
          "[db_pairs][integration]") {
  t::TestServer source;
  t::TestServer target;
  source.pipeline(keys("a:", 50));
  source.pipeline(in_db(3, keys("b:", 40)));
  target.pipeline(keys("a:", 50));
  target.pipeline(in_db(3, keys("b:", 40)));
  target.pipeline(in_db(3, {{"DEL", "b:7"}}));
  const std::string store = tmp_store("cover");

  // No --db: db 3 is compared too; the missing key is found.
  auto r = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  auto totals = latest_totals(store);
  REQUIRE(totals["databases"].size() == 2);
  CHECK(
      totals["databases"][0] ==
      nlohmann::json{{"source_db", 0}, {"target_db", 0}, {"keys_checked", 50}, {"differences", 0}});
  CHECK(
      totals["databases"][1] ==
      nlohmann::json{{"source_db", 3}, {"target_db", 3}, {"keys_checked", 40}, {"differences", 1}});
  CHECK(totals["keys_checked"] == 90);
  auto d = run_migcheck({"diffs", "--store", store, "--format", "jsonl"});
  CHECK(d.out.find("\"db\":3") != std::string::npos);
  CHECK(d.out.find("b:7") != std::string::npos);

  // --db 0 and a URI's db narrow to one db.
  r = run_migcheck(
      {"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1", "--db", "0"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(latest_totals(store)["databases"].size() == 1);
  r = run_migcheck(
      {"compare", source.uri() + "/3", target.uri() + "/3", "--store", store, "--rounds", "1"});
  CHECK(r.exit_code == 1);

  // repair fixes the db 3 difference of the all-db compare run.
  r = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1"});
  CHECK(r.exit_code == 1);
  r = run_migcheck({"repair", source.uri(), target.uri(), "--store", store});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(target.replies({{"SELECT", "3"}, {"GET", "b:7"}})[1].str == "v7");
  r = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1"});
  CHECK(r.exit_code == 0);

  // --db-map 3:5 compares source db 3 with target db 5.
  target.pipeline(in_db(5, keys("b:", 40)));
  r = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1",
                    "--db-map", "3:5"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  totals = latest_totals(store);
  REQUIRE(totals["databases"].size() == 1);
  CHECK(totals["databases"][0]["source_db"] == 3);
  CHECK(totals["databases"][0]["target_db"] == 5);
  CHECK(totals["databases"][0]["keys_checked"] == 40);
  target.pipeline(in_db(5, {{"SET", "b:3", "changed"}}));
  r = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1",
                    "--db-map", "3:5", "--quiet"});
  CHECK(r.exit_code == 1);
  r = run_migcheck(
      {"compare", source.uri(), target.uri(), "--store", store, "--db-map", "3:5", "--db", "3"});
  CHECK(r.exit_code == 2);

  // replicate copies every db into a fresh target.
  t::TestServer fresh;
  r = run_migcheck({"replicate", source.uri(), fresh.uri(), "--store", store, "--quiet"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(fresh.replies({{"SELECT", "3"}, {"DBSIZE"}})[1].integer == 40);
  CHECK(fresh.replies({{"DBSIZE"}})[0].integer == 50);
  CHECK(latest_totals(store, "replicate")["databases"].size() == 2);
  r = run_migcheck({"compare", source.uri(), fresh.uri(), "--store", store, "--rounds", "1"});
  CHECK(r.exit_code == 0);
  // ... or the pairs of --db-map.
  t::TestServer mapped;
  r = run_migcheck({"replicate", source.uri(), mapped.uri(), "--store", store, "--quiet",
                    "--db-map", "3:5", "--verify"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(mapped.replies({{"SELECT", "5"}, {"DBSIZE"}})[1].integer == 40);
  CHECK(mapped.replies({{"DBSIZE"}})[0].integer == 0);

  // Live modes follow one db.
  check_usage_error(
      {"replicate", source.uri(), fresh.uri(), "--store", store, "--mode", "live", "--idle", "1s"},
      "--db");
  t::remove_store(store);
}

TEST_CASE("db_pairs: a db other than 0 against a cluster is a usage error",
          "[db_pairs][integration]") {
  t::TestCluster cluster;
  t::TestServer plain;
  const std::string store = tmp_store("cluster");
  for (auto args :
       {std::vector<std::string>{"compare", plain.uri(), cluster.seed_uri(), "--db", "1"},
        std::vector<std::string>{"compare", cluster.seed_uri(), plain.uri(), "--db-map", "0:0,1:1"},
        std::vector<std::string>{"replicate", plain.uri(), cluster.seed_uri(), "--db", "1"}}) {
    args.insert(args.end(), {"--store", store});
    check_usage_error(args, "cluster mode has only database 0");
  }
  t::remove_store(store);
}

TEST_CASE("db_pairs: an interrupted multi-db compare resumed counts each key once",
          "[db_pairs][integration]") {
  t::TestServer source;
  t::TestServer target;
  load_dbs_0_and_3(source, 12000);
  load_dbs_0_and_3(target, 12000);
  target.pipeline(in_db(3, {{"DEL", "k:5"}, {"SET", "k:11000", "x"}}));
  target.pipeline({{"DEL", "k:9"}});
  const std::vector<std::string> common{"--rounds", "1",   "--max-ops-per-sec", "30000", "-q",
                                        "--batch",  "200", "--scan-count",      "300"};
  const std::string full = tmp_store("full"), store = tmp_store("resumed");
  auto args = std::vector<std::string>{"compare", source.uri(), target.uri(), "--store", full};
  args.insert(args.end(), common.begin(), common.end());
  auto r = run_migcheck(args);
  REQUIRE(r.exit_code == 1);
  const auto want = latest_totals(full)["databases"];
  REQUIRE(want.size() == 2);
  CHECK(want[0]["keys_checked"] == 12000);
  CHECK(want[1]["keys_checked"] == 12000);
  CHECK(want[0]["differences"] == 1);
  CHECK(want[1]["differences"] == 2);

  args[4] = store;
  const std::string out = store + ".out", err = store + ".err";
  int stops = 0;
  {
    t::Spawned p(args, out, err);
    std::this_thread::sleep_for(700ms);
    p.signal(SIGINT);
    CHECK(p.wait(60s) == 2);
    ++stops;
  }
  INFO(slurp(err));
  r = run_migcheck(
      {"compare", source.uri(), target.uri(), "--store", store, "-q", "--resume", "1"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  const auto got = latest_totals(store);
  CHECK(got["databases"] == want);
  CHECK(got["keys_checked"] == 24000);
  CHECK(stops == 1);
  for (const auto& p : {full, store}) t::remove_store(p);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
}

TEST_CASE("db_pairs: an interrupted multi-db replicate resumed copies and counts each key once",
          "[db_pairs][integration]") {
  t::TestServer source;
  t::TestServer target;
  load_dbs_0_and_3(source, 4000);
  const std::string store = tmp_store("replicate-resume");
  const std::string out = store + ".out", err = store + ".err";
  const std::vector<std::string> args{"replicate",    source.uri(), target.uri(),        "--store",
                                      store,          "-q",         "--max-ops-per-sec", "5000",
                                      "--scan-count", "100"};
  auto size_of = [&](int db) {
    return target.replies({{"SELECT", std::to_string(db)}, {"DBSIZE"}})[1].integer;
  };
  {
    // Stopped in the second db: the resume continues there.
    t::Spawned p(args, out, err);
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (size_of(3) < 500 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(20ms);
    p.signal(SIGINT);
    REQUIRE(p.wait(60s) == 2);
  }
  INFO(slurp(err));
  CHECK(size_of(0) == 4000);
  CHECK(size_of(3) < 4000);
  auto resumed = args;
  resumed.insert(resumed.begin() + 1, {"--resume", "1"});
  auto r = run_migcheck(resumed);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(size_of(0) == 4000);
  CHECK(size_of(3) == 4000);
  const auto totals = latest_totals(store, "replicate");
  CHECK(totals["keys_scanned"] == 8000);
  CHECK(totals["copied"] == 8000);
  REQUIRE(totals["databases"].size() == 2);
  CHECK(totals["databases"][0]["keys_scanned"] == 4000);
  CHECK(totals["databases"][1]["keys_scanned"] == 4000);
  t::remove_store(store);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
}
