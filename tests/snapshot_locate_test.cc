// Locating a snapshot compare's value differences (compare/snapshot_locate.h),
// end to end: a file written by a real server (SAVE) with one difference per
// type against a real target, checked against the live compare of the server
// the file came from against the same target (the oracle), over rounds, file
// against file, through `diffs`; and the file side read again on its own.
#include "snapshot_locate.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <fcntl.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"
#include "server_fixture.h"
#include "snapshot_compare.h"
#include "snapshot_fixture.h"
#include "store.h"

using namespace migcheck;
using namespace std::string_literals;
using Catch::Matchers::ContainsSubstring;
using migcheck::test::run_migcheck;
using migcheck::test::snapshot_tmp;
using migcheck::test::TestServer;

namespace {

// One key per type on both servers; `big` has more elements than the bound (20).
void fill(TestServer& s) {
  migcheck::test::DatasetCmds c = {{"SET", "str", "the quick brown fox"},
                                   {"SET", "bin", "head\0tail\x1B[31m<b>red</b>"s},
                                   {"RPUSH", "list", "a", "b", "c", "d"},
                                   {"HSET", "hash", "f1", "v1", "f2", "v2", "f3", "v3"},
                                   {"SADD", "set", "m1", "m2", "m3"},
                                   {"ZADD", "zscore", "1", "a", "0.1", "b", "3", "c"},
                                   {"ZADD", "zmember", "1", "a", "2", "b"},
                                   {"XADD", "stream", "1-0", "f", "v"},
                                   {"XADD", "stream", "2-0", "f", "v"},
                                   {"XADD", "groups", "1-0", "f", "v"},
                                   {"SET", "same", "unchanged"}};
  std::vector<std::string> big = {"RPUSH", "big"};
  for (int i = 0; i < 30; ++i) big.push_back("e" + std::to_string(i));
  c.push_back(big);
  s.pipeline(c);
}

// One difference per type on the target.
void change(TestServer& t) {
  t.pipeline({{"SETRANGE", "str", "4", "QUICK"},
              {"SETRANGE", "bin", "5", "T\0"s},
              {"LSET", "list", "2", "C"},
              {"HSET", "hash", "f2", "changed"},
              {"SREM", "set", "m2"},
              {"ZADD", "zscore", "0.25", "b"},
              {"ZREM", "zmember", "b"},
              {"ZADD", "zmember", "2", "bb"},
              {"XADD", "stream", "2-1", "g", "w"},
              {"LSET", "big", "7", "other"}});
}

// key -> stored location of the run's value rows in `round` (default: the last).
std::map<std::string, std::string> locations(const std::string& store_path, int64_t run,
                                             std::optional<int> round = std::nullopt) {
  Store store(store_path, false, true);
  std::map<std::string, std::string> out;
  DifferenceFilter f;
  f.round = round;
  f.kinds = {"value"};
  store.for_each_difference(run, f, [&](const Difference& d) { out[d.key] = d.location; });
  return out;
}

int64_t last_run(const std::string& store_path) {
  Store store(store_path, false, true);
  return store.latest_run("compare")->id;
}

const std::vector<std::string> kLocate = {"--quiet", "--locate-max-elements", "20"};

std::vector<std::string> args(std::vector<std::string> a) {
  a.insert(a.end(), kLocate.begin(), kLocate.end());
  return a;
}

// A file compare of `file` against `target` in two rounds, 3 s apart.
SnapshotCompareOptions two_rounds(const std::string& file, TestServer& target) {
  SnapshotCompareOptions o;
  o.source_file = file;
  o.base.target = parse_uri(target.uri());
  o.base.rounds = 2;
  o.base.interval = Millis(3000);
  o.base.progress = false;
  o.base.locate.max_elements = 20;
  return o;
}

// The run of the store at `path` once its round 1 is stored (0 after a minute).
int64_t wait_round_one(const std::string& path) {
  for (int i = 0; i < 3000; ++i) {
    try {
      Store ro(path, false, true);
      if (auto r = ro.latest_run("compare"); r && !ro.rounds(r->id).empty()) return r->id;
    } catch (const Error&) {  // not created yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}

}  // namespace

TEST_CASE("snapshot locate: every type located as the live compare locates it",
          "[snapshot][integration]") {
  TestServer source, target;
  fill(source);
  fill(target);
  source.cmd({"XGROUP", "CREATE", "groups", "g1", "0"});
  target.cmd({"XGROUP", "CREATE", "groups", "g1", "$"});
  change(target);
  const std::string file =
      migcheck::test::save_snapshot(source, snapshot_tmp("snaplocate", "src") + ".rdb");

  // The oracle: the server the file came from (it holds the file's data).
  const std::string live_store = snapshot_tmp("snaplocate", "live") + ".db";
  auto live = run_migcheck(
      args({"compare", source.uri(), target.uri(), "--store", live_store, "--rounds", "1"}));
  INFO(live.out << live.err);
  REQUIRE(live.exit_code == 1);
  const auto oracle = locations(live_store, last_run(live_store));
  REQUIRE(oracle.size() == 10);

  const std::string store = snapshot_tmp("snaplocate", "file") + ".db";
  auto c = run_migcheck(args(
      {"compare", file, target.uri(), "--store", store, "--rounds", "2", "--interval", "10ms"}));
  INFO(c.out << c.err);
  REQUIRE(c.exit_code == 1);
  const int64_t run = last_run(store);
  const auto first = locations(store, run, 1);
  for (const auto& [key, loc] : oracle) {
    INFO(key << ": " << loc);
    CHECK(first.count(key));
    if (first.count(key)) CHECK(first.at(key) == loc);
  }
  CHECK(first.size() == oracle.size());
  // Round 2 re-reads the target and locates again against the file: the same.
  CHECK(locations(store, run, 2) == first);

  // The oracle locates what it should (not every side "not located").
  std::map<std::string, std::string> parts;
  for (const auto& [key, loc] : oracle) {
    auto l = ValueLocation::from_json(loc);
    REQUIRE(l);
    parts[key] = l->located ? l->part : "not located: " + l->reason;
  }
  CHECK(parts == std::map<std::string, std::string>{
                     {"str", "offset"},
                     {"bin", "offset"},
                     {"list", "index"},
                     {"hash", "field"},
                     {"set", "member"},
                     {"zscore", "score"},
                     {"zmember", "member"},
                     {"stream", "entry"},
                     {"groups", "group"},
                     {"big",
                      "not located: key larger than the bound (30 on source, 30 on "
                      "target; bound 20 elements)"}});

  // `diffs` shows them for the file's run.
  auto d = run_migcheck({"diffs", "--store", store});
  INFO(d.err);
  REQUIRE(d.exit_code == 0);
  CHECK_THAT(d.out, ContainsSubstring(R"(field "f2": source "v2", target "changed")"));
  CHECK_THAT(d.out, ContainsSubstring(R"(offset "4": source "quick brown fox")"));
  CHECK_THAT(d.out, ContainsSubstring("not located: key larger than the bound"));
  CHECK(d.out.find('\x1b') == std::string::npos);

  // File against file: both sides read again from their files, the same locations.
  const std::string tfile =
      migcheck::test::save_snapshot(target, snapshot_tmp("snaplocate", "tgt") + ".rdb");
  const std::string ff_store = snapshot_tmp("snaplocate", "ff") + ".db";
  auto ff = run_migcheck(args({"compare", file, tfile, "--store", ff_store}));
  INFO(ff.out << ff.err);
  REQUIRE(ff.exit_code == 1);
  CHECK(locations(ff_store, last_run(ff_store)) == oracle);

  // Locating turned off: nothing located, as live.
  const std::string off_store = snapshot_tmp("snaplocate", "off") + ".db";
  auto off = run_migcheck({"compare", file, target.uri(), "--store", off_store, "--rounds", "1",
                           "--quiet", "--locate-max-elements", "0", "--locate-max-bytes", "0"});
  REQUIRE(off.exit_code == 1);
  for (const auto& [key, loc] : locations(off_store, last_run(off_store))) CHECK(loc.empty());

  for (const auto& p : {file, tfile}) std::filesystem::remove(p);
  for (const auto& s : {live_store, store, ff_store, off_store}) migcheck::test::remove_store(s);
}

TEST_CASE("snapshot locate: a Redis 7.0 file against a Valkey 8 target, as live",
          "[snapshot][integration]") {
  // The servers print scores differently (%.17g up to 7.0, shortest after):
  // the file's as the server that wrote it, the target's as the target.
  TestServer source, target(migcheck::test::ServerOptions{.binary = "valkey-server"});
  fill(source);
  fill(target);
  change(target);
  const std::string file =
      migcheck::test::save_snapshot(source, snapshot_tmp("snaplocate", "vk") + ".rdb");
  const std::string live_store = snapshot_tmp("snaplocate", "vk-live") + ".db";
  const std::string store = snapshot_tmp("snaplocate", "vk-file") + ".db";
  auto live = run_migcheck(
      args({"compare", source.uri(), target.uri(), "--store", live_store, "--rounds", "1"}));
  auto c = run_migcheck(args({"compare", file, target.uri(), "--store", store, "--rounds", "1"}));
  INFO(live.err << c.err);
  REQUIRE(live.exit_code == 1);
  REQUIRE(c.exit_code == 1);
  const auto oracle = locations(live_store, last_run(live_store));
  CHECK(locations(store, last_run(store)) == oracle);
  auto z = ValueLocation::from_json(oracle.at("zscore"));
  REQUIRE(z);
  CHECK(z->summary() == R"(score "b": source "0.10000000000000001", target "0.25")");
  std::filesystem::remove(file);
  for (const auto& p : {live_store, store}) migcheck::test::remove_store(p);
}

TEST_CASE("snapshot locate: a later round locates again, against the target as it is then",
          "[snapshot][integration]") {
  TestServer source, target;
  fill(source);
  fill(target);
  change(target);
  const std::string file =
      migcheck::test::save_snapshot(source, snapshot_tmp("snaplocate", "rounds") + ".rdb");
  const std::string path = snapshot_tmp("snaplocate", "rounds") + ".db";
  const SnapshotCompareOptions o = two_rounds(file, target);
  std::thread run([&] {
    Store store(path);
    run_snapshot_compare(o, store);
  });
  // Round 1 stored: the target's list changes before round 2 re-reads it.
  const int64_t id = wait_round_one(path);
  target.cmd({"LSET", "list", "0", "X"});
  run.join();
  REQUIRE(id > 0);
  auto first = ValueLocation::from_json(locations(path, id, 1).at("list"));
  auto second = ValueLocation::from_json(locations(path, id, 2).at("list"));
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->at == "2");
  CHECK(second->summary() == R"(index "0": source "a", target "X")");
  // As the live compare of the file's server sees the target now.
  const std::string live_store = snapshot_tmp("snaplocate", "rounds-live") + ".db";
  auto live = run_migcheck(
      args({"compare", source.uri(), target.uri(), "--store", live_store, "--rounds", "1"}));
  REQUIRE(live.exit_code == 1);
  CHECK(locations(live_store, last_run(live_store)).at("list") ==
        locations(path, id, 2).at("list"));
  std::filesystem::remove(file);
  for (const auto& s : {path, live_store}) migcheck::test::remove_store(s);
}

TEST_CASE("snapshot locate: resumed between rounds, round 1's places are not known",
          "[snapshot][integration]") {
  TestServer source, target;
  fill(source);
  fill(target);
  change(target);
  const std::string file =
      migcheck::test::save_snapshot(source, snapshot_tmp("snaplocate", "resume") + ".rdb");
  const std::string path = snapshot_tmp("snaplocate", "resume") + ".db";
  SnapshotCompareOptions o = two_rounds(file, target);
  std::atomic<bool> stop{false};
  o.base.stop = &stop;
  std::thread run([&] {
    Store store(path);
    CHECK_THROWS_AS(run_snapshot_compare(o, store), Interrupted);
  });
  const int64_t id = wait_round_one(path);
  stop = true;  // in the interval before round 2
  run.join();
  REQUIRE(id > 0);
  stop = false;
  o.base.resume_run = id;
  {
    Store store(path);
    run_snapshot_compare(o, store);
  }
  const auto second = locations(path, id, 2);
  REQUIRE(second.count("list"));
  auto l = ValueLocation::from_json(second.at("list"));
  REQUIRE(l);
  CHECK_FALSE(l->located);
  CHECK_THAT(l->reason, ContainsSubstring("its round 1 was checked before a resume"));
  // Over the bound: the bound's reason first, as live.
  CHECK_THAT(ValueLocation::from_json(second.at("big"))->reason,
             ContainsSubstring("key larger than the bound"));
  std::filesystem::remove(file);
  migcheck::test::remove_store(path);
}

TEST_CASE("snapshot locate: a key read again from its place in the file",
          "[snapshot][integration]") {
  TestServer s;
  s.pipeline({{"SET", "a", "x"}, {"HSET", "h", "f", "v", "g", "w"}, {"ZADD", "z", "0.1", "m"}});
  const std::string file =
      migcheck::test::save_snapshot(s, snapshot_tmp("snaplocate", "spot") + ".rdb");
  std::map<std::string, FileSpot> spots;
  digest_rdb_file(file, [&](const RdbKeyState& k) {
    spots[k.key] = {k.offset, k.serialized_bytes};
  });
  REQUIRE(spots.size() == 3);
  Fd fd(::open(file.c_str(), O_RDONLY));
  REQUIRE(fd.fd >= 0);
  ValueParts h;
  REQUIRE_FALSE(read_file_parts(fd.fd, file, spots["h"], "h", {}, h));
  CHECK(h.pairs.size() == 2);
  ValueParts z;
  REQUIRE_FALSE(read_file_parts(fd.fd, file, spots["z"], "z", {0, true, true}, z));
  REQUIRE(z.pairs.size() == 1);
  CHECK(z.pairs[0].second == "0.10000000000000001");
  z = {};
  REQUIRE_FALSE(read_file_parts(fd.fd, file, spots["z"], "z", {0, true, false}, z));
  CHECK(z.pairs[0].second == "0.1");
  // Another key's place: refused, never parsed as this key.
  ValueParts wrong;
  auto l = read_file_parts(fd.fd, file, spots["h"], "a", {}, wrong);
  REQUIRE(l);
  CHECK_FALSE(l->located);
  CHECK_THAT(l->reason, ContainsSubstring("the file does not hold the key at offset"));
  // A place past the key's bytes: not located, no crash.
  auto bad =
      read_file_parts(fd.fd, file, {spots["a"].offset + 1, spots["a"].bytes}, "a", {}, wrong);
  REQUIRE(bad);
  CHECK_FALSE(bad->located);
  std::filesystem::remove(file);
}
