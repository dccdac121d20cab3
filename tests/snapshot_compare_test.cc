// Integration tests of the snapshot compare (compare/snapshot_compare.h):
// files written by a real server (SAVE) with every type, expiries, several
// dbs and big keys, compared against a real target, against a second file,
// and cross-checked with the server-to-server compare of the same data; the
// CLI for exit codes, a truncated file and peak memory.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <tuple>

#include "cli_runner.h"
#include "compare.h"
#include "noncopyable.h"
#include "server_fixture.h"
#include "snapshot_compare.h"
#include "snapshot_fixture.h"
#include "store.h"

using namespace migcheck;
using namespace migcheck::test;

namespace {

std::string tmp(const std::string& name) {
  return snapshot_tmp("snapcmp", name);
}

// Every type, expiries, two dbs and big keys (more elements than the chunk).
void fill(TestServer& s, int64_t expire_at) {
  const std::string at = std::to_string(expire_at);
  auto c = snapshot_basics(at);
  append_cmds(c, {{"ZADD", "z:1", "1", "a", "2.5", "b"},
                  {"XADD", "x:1", "1-1", "f", "v"},
                  {"XADD", "x:1", "2-1", "g", "w"},
                  {"XGROUP", "CREATE", "x:1", "grp", "1-1"},
                  {"HSET", "ttl:h", "f", "v"},
                  {"PEXPIREAT", "ttl:h", at},
                  {"SET", "type:k", "string"},
                  {"SET", std::string("bin\0key\xff", 8), "binary"},
                  {"SELECT", "3"},
                  {"SET", "d3:s", "three"},
                  {"SADD", "d3:set", "x", "y"},
                  {"SELECT", "0"}});
  for (int i = 0; i < 2500; ++i) {
    c.push_back({"HSET", "big:h", "field" + std::to_string(i), "value" + std::to_string(i)});
    c.push_back({"RPUSH", "big:l", std::to_string(i)});
  }
  c.push_back({"SET", "big:s", std::string(300000, 'x')});
  s.pipeline(c);
}

// A file of `s`, copied out of its dir (a later SAVE would overwrite it).
std::string save(TestServer& s, const std::string& name) {
  return save_snapshot(s, tmp(name) + ".rdb");
}

// The differences of the test: a changed value, a missing key, an extra key,
// a different TTL, a different type, and a changed big key.
void change(TestServer& t, int64_t expire_at) {
  t.pipeline({{"SET", "s:1", "changed"},
              {"DEL", "l:1"},
              {"SET", "extra:k", "only on target"},
              {"PEXPIREAT", "s:ttl", std::to_string(expire_at + 600000)},
              {"DEL", "type:k"},
              {"RPUSH", "type:k", "now a list"},
              {"HSET", "big:h", "field2000", "changed"},
              {"SELECT", "3"},
              {"SET", "d3:extra", "x"},
              {"SELECT", "0"}});
}

const Rows kChanged = {{0, "s:1", "value"},     {0, "l:1", "missing"}, {0, "extra:k", "extra"},
                       {0, "s:ttl", "ttl"},     {0, "type:k", "type"}, {0, "big:h", "value"},
                       {3, "d3:extra", "extra"}};

// A source and a target filled alike (the target then changed when asked,
// `source_extra` run on the source) and the source's file, removed at the end.
struct FilledPair : NonCopyable {
  TestServer source;
  TestServer target;
  const int64_t at = wall_ms() + 3600000;
  std::string file;
  FilledPair(const std::string& name, bool changed, const Cmds& source_extra = {},
             ServerOptions target_options = {})
      : target(std::move(target_options)) {
    fill(source, at);
    fill(target, at);
    if (changed) change(target, at);
    if (!source_extra.empty()) source.pipeline(source_extra);
    file = save(source, name);
  }
  ~FilledPair() { std::filesystem::remove(file); }
};

}  // namespace

TEST_CASE("snapshot compare: a file against an identical target", "[snapshot][integration]") {
  // gone:soon expires before the run starts: in the file, skipped and counted.
  FilledPair pair("identical", false, {{"SET", "gone:soon", "v", "PX", "300"}});
  auto& [source, target, at, file] = pair;
  // Longer than --ttl-tolerance: expiries are absolute, not relative to the save.
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));

  Store store(tmp("identical.db"));
  SnapshotCompareResult r = run_snapshot_compare(snap_options(file, target), store);
  CHECK(r.compare.exit_code == 0);
  CHECK(r.compare.differences == 0);
  CHECK(r.expired_skipped == 1);
  CHECK(r.compare.keys_checked == 16);
  const auto j = totals(store, r.compare.run_id);
  CHECK(j["snapshot"]["expired_skipped"] == 1);
  CHECK(j["keys_checked"] == 16);
  CHECK(j["differences"] == 0);
  CHECK(j["databases"].size() == 2);
  CHECK(j["big_keys"]["count"] == 3);
  CHECK(j["target_keys_scanned"] == 16);
  CHECK(store.run(r.compare.run_id)->status == "done");

  // The CLI: exit 0, and the summary says how many keys were skipped.
  const std::string cli_store = tmp("identical-cli.db");
  auto c = run_migcheck({"compare", file, target.uri(), "--store", cli_store, "--rounds", "1"});
  INFO(c.err);
  CHECK(c.exit_code == 0);
  CHECK(c.out.find("already expired (skipped): 1") != std::string::npos);
  // The report reads the run as any compare run's: READY.
  auto rep = run_migcheck({"report", "--store", cli_store, "--format", "json", "--out", "-"});
  INFO(rep.err);
  CHECK(rep.exit_code == 0);
  CHECK(nlohmann::json::parse(rep.out)["verdict"] == "READY");
}

TEST_CASE("snapshot compare: differences, rounds, cross-check with a live source",
          "[snapshot][integration]") {
  FilledPair pair("diffs", true);
  auto& [source, target, at, file] = pair;

  Store store(tmp("diffs.db"));
  SnapshotCompareOptions o = snap_options(file, target);
  o.base.rounds = 2;
  SnapshotCompareResult r = run_snapshot_compare(o, store);
  CHECK(rows(store, r.compare.run_id, 1) == kChanged);
  // Round 2 re-reads the target against the file side kept in the rows:
  // the same differences, no more (a TTL-only key stays TTL-only).
  CHECK(rows(store, r.compare.run_id, 2) == kChanged);
  CHECK(r.compare.rounds.size() == 2);
  CHECK(r.compare.exit_code == 1);
  CHECK(r.compare.differences == static_cast<int64_t>(kChanged.size()));

  // The cross-check: the server the file came from against the
  // same target finds the same differences.
  CompareOptions live;
  live.source = parse_uri(source.uri());
  live.target = parse_uri(target.uri());
  live.all_dbs = true;
  live.rounds = 1;
  live.progress = false;
  CompareResult lr = run_compare(live, store);
  CHECK(rows(store, lr.run_id) == rows(store, r.compare.run_id, 1));
  CHECK(lr.keys_checked == r.compare.keys_checked);
  CHECK(lr.target_keys_scanned == r.compare.target_keys_scanned);

  // And a server loaded from the file (DEBUG RELOAD of it) against the same target.
  TestServer loaded;
  std::filesystem::copy_file(file, loaded.dir() + "/dump.rdb",
                             std::filesystem::copy_options::overwrite_existing);
  loaded.cmd({"DEBUG", "RELOAD", "NOSAVE"});
  live.source = parse_uri(loaded.uri());
  CompareResult loaded_r = run_compare(live, store);
  CHECK(rows(store, loaded_r.run_id) == rows(store, r.compare.run_id, 1));
  CHECK(loaded_r.keys_checked == r.compare.keys_checked);

  // Same columns: the file side's digest equals the live source's.
  std::map<std::string, std::string> live_digest, file_digest;
  DifferenceFilter f1;
  f1.round = 1;
  store.for_each_difference(lr.run_id, f1,
                            [&](const Difference& d) { live_digest[d.key] = d.source_digest; });
  store.for_each_difference(r.compare.run_id, f1,
                            [&](const Difference& d) { file_digest[d.key] = d.source_digest; });
  CHECK(live_digest == file_digest);

  // Snapshot against snapshot: the target's file gives the same differences.
  const std::string tfile = save(target, "diffs-target");
  SnapshotCompareOptions ff;
  ff.source_file = file;
  ff.target_file = tfile;
  ff.base.progress = false;
  SnapshotCompareResult fr = run_snapshot_compare(ff, store);
  CHECK(rows(store, fr.compare.run_id) == kChanged);
  CHECK(fr.compare.keys_checked == r.compare.keys_checked);
  std::filesystem::remove(tfile);
}

TEST_CASE("snapshot compare: --db, --match and --type", "[snapshot][integration]") {
  FilledPair pair("filters", true);
  auto& [source, target, at, file] = pair;
  Store store(tmp("filters.db"));

  SnapshotCompareOptions o = snap_options(file, target);
  o.db = 3;
  SnapshotCompareResult r = run_snapshot_compare(o, store);
  CHECK(rows(store, r.compare.run_id) == Rows{{3, "d3:extra", "extra"}});
  CHECK(r.compare.keys_checked == 2);

  // --no-target-scan: the extras are not looked for.
  o.base.target_scan = false;
  r = run_snapshot_compare(o, store);
  CHECK(rows(store, r.compare.run_id).empty());
  CHECK(r.compare.target_keys_scanned == 0);

  o = snap_options(file, target);
  o.base.match = "s:*";
  r = run_snapshot_compare(o, store);
  CHECK(rows(store, r.compare.run_id) == Rows{{0, "s:1", "value"}, {0, "s:ttl", "ttl"}});

  o = snap_options(file, target);
  o.base.types = {"list"};
  r = run_snapshot_compare(o, store);
  // type:k is a string in the file (out of scope); the target's list of
  // that name is not in the file's list keys: an extra of type list.
  CHECK(rows(store, r.compare.run_id) == Rows{{0, "l:1", "missing"}, {0, "type:k", "extra"}});
}

TEST_CASE("snapshot compare: CLI errors, and a file against a file", "[snapshot][integration]") {
  FilledPair pair("cli", false);
  auto& [source, target, at, file] = pair;
  const std::string store = tmp("cli.db");

  // A truncated file: one line, exit 2.
  const std::string cut = tmp("cut") + ".rdb";
  write_first_half(file, cut);
  auto c = run_migcheck({"compare", cut, target.uri(), "--store", store, "-q"});
  CHECK(c.exit_code == 2);
  CHECK(std::count(c.err.begin(), c.err.end(), '\n') == 1);
  CHECK(c.err.find("truncated") != std::string::npos);

  c = run_migcheck({"compare", "/nonexistent/dump.rdb", target.uri(), "--store", store, "-q"});
  CHECK(c.exit_code == 2);
  CHECK(std::count(c.err.begin(), c.err.end(), '\n') == 1);
  c = run_migcheck({"compare", file, target.uri(), "--store", store, "--resume", "1"});
  CHECK(c.exit_code == 2);

  // a.rdb b.rdb: identical files, then a changed one.
  c = run_migcheck({"compare", file, "file://" + file, "--store", store, "-q"});
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
  change(target, at);
  const std::string tfile = save(target, "cli-target");
  c = run_migcheck({"compare", file, tfile, "--store", store, "-q"});
  CHECK(c.exit_code == 1);
  // diffs reads the run as any compare run's.
  c = run_migcheck({"diffs", "--store", store, "--format", "jsonl"});
  INFO(c.err);
  CHECK(c.exit_code == 0);
  CHECK(c.out.find("d3:extra") != std::string::npos);
  for (const auto& p : {tfile, cut}) std::filesystem::remove(p);
}

TEST_CASE("snapshot compare: peak memory stays bounded with a big key",
          "[snapshot][memory][integration]") {
  TestServer source, target;
  source.pipeline(huge_set());
  target.pipeline(huge_set());
  const std::string file = save(source, "big");
  check_bounded_peak({"compare", file, target.uri(), "--store", tmp("big.db"), "-q"},
                     tmp("big.out"), tmp("big.err"));
  std::filesystem::remove(file);
}

TEST_CASE("snapshot compare: a signal stops the run, recorded as interrupted",
          "[snapshot][integration]") {
  FilledPair pair("signal", true);
  auto& [source, target, at, file] = pair;
  const std::string store = tmp("signal.db");
  const std::string err = tmp("signal.err");
  Spawned p({"compare", file, target.uri(), "--store", store, "--rounds", "3", "--interval", "60s"},
            tmp("signal.out"), err);
  // Stopped while it waits for round 2.
  std::string text;
  for (int i = 0; i < 600 && text.find("re-checking") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream in(err);
    text.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  REQUIRE(text.find("re-checking") != std::string::npos);
  p.signal(SIGINT);
  CHECK(p.wait(std::chrono::seconds(30)) == 2);
  Store s(store, false);
  auto run = s.latest_run("compare");
  REQUIRE(run);
  CHECK(run->status == "interrupted");
  CHECK(rows(s, run->id, 1) == kChanged);
}

TEST_CASE("snapshot compare: a file against a cluster target", "[snapshot][cluster][integration]") {
  TestServer source;
  TestCluster cluster;
  Cmds cmds;
  for (int i = 0; i < 300; ++i) cmds.push_back({"SET", "k:" + std::to_string(i), "v"});
  cmds.push_back({"HSET", "h", "f", "v"});
  source.pipeline(cmds);
  for (const auto& c : cmds) cluster.cmd_routed(c);
  cluster.cmd_routed({"SET", "k:7", "changed"});
  cluster.cmd_routed({"SET", "only:cluster", "x"});
  cluster.cmd_routed({"DEL", "h"});
  const std::string file = save(source, "cluster");
  Store store(tmp("cluster.db"));
  SnapshotCompareOptions o;
  o.source_file = file;
  o.base.target = parse_uri(cluster.seed_uri());
  o.base.progress = false;
  o.base.rounds = 1;
  SnapshotCompareResult r = run_snapshot_compare(o, store);
  CHECK(rows(store, r.compare.run_id) ==
        Rows{{0, "k:7", "value"}, {0, "only:cluster", "extra"}, {0, "h", "missing"}});
  CHECK(r.compare.keys_checked == 301);
  CHECK(r.compare.target_keys_scanned == 301);
  std::filesystem::remove(file);
}

TEST_CASE("snapshot compare: a Redis 7.0 file against a Valkey 8 target",
          "[snapshot][integration]") {
  FilledPair pair("valkey", true, {}, ServerOptions{.binary = "valkey-server"});
  Store store(tmp("valkey.db"));
  SnapshotCompareResult r = run_snapshot_compare(snap_options(pair.file, pair.target), store);
  CHECK(rows(store, r.compare.run_id) == kChanged);
}

TEST_CASE("snapshot compare: --db-map maps the file's dbs", "[snapshot][integration]") {
  TestServer source, target;
  fill(source, wall_ms() + 3600000);
  const std::string file = save(source, "dbmap");
  const std::string store = tmp("dbmap.db");
  // db 0 -> db 0 and db 3 -> db 5 on the target, by the snapshot replicate.
  auto c = run_migcheck({"replicate", file, target.uri(), "--db", "0", "--store", store, "-q"});
  REQUIRE(c.exit_code == 0);
  c = run_migcheck(
      {"replicate", file, target.uri(), "--db", "3", "--target-db", "5", "--store", store, "-q"});
  REQUIRE(c.exit_code == 0);
  c = run_migcheck({"compare", file, target.uri(), "--db-map", "0:0,3:5", "--store", store, "-q"});
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
  // Without the map, db 3 is missing and db 5 holds extras.
  c = run_migcheck({"compare", file, target.uri(), "--store", store, "-q", "--rounds", "1"});
  CHECK(c.exit_code == 1);
  // One db of the map only: the other dbs of the target are not looked at.
  c = run_migcheck({"compare", file, target.uri(), "--db-map", "3:5", "--store", store, "-q"});
  CHECK(c.exit_code == 0);
  c = run_migcheck(
      {"compare", file, target.uri(), "--db-map", "3:0", "--store", store, "-q", "--rounds", "1"});
  CHECK(c.exit_code == 1);
  c = run_migcheck(
      {"compare", file, target.uri(), "--db-map", "3:5", "--db", "3", "--store", store, "-q"});
  CHECK(c.exit_code == 2);
  std::filesystem::remove(file);
}
