// Locating a snapshot compare's value differences (compare/snapshot_locate.h),
// end to end: a file written by a real server (SAVE) with one difference per
// type against a real target, checked against the live compare of the server
// the file came from against the same target (the oracle), over rounds, file
// against file, through `diffs`; and the file side read again on its own.
#include "snapshot_locate.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <fcntl.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"
#include "noncopyable.h"
#include "server_fixture.h"
#include "snapshot_fixture.h"
#include "store.h"

using namespace migcheck;
using namespace std::string_literals;
using Catch::Matchers::ContainsSubstring;
using migcheck::test::run_migcheck;
using migcheck::test::snapshot_tmp;
using migcheck::test::Spawned;
using migcheck::test::TestServer;

namespace {

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

// One key per type on both servers; `big` has more elements than the bound (20).
void fill(TestServer& s) {
  migcheck::test::Cmds c = {{"SET", "str", "the quick brown fox"},
                            {"SET", "bin", "head\0tail\x1B[31m<b>red</b>"s},
                            {"RPUSH", "list", "a", "b", "c", "d"},
                            {"HSET", "hash", "f1", "v1", "f2", "v2", "f3", "v3"},
                            {"SADD", "set", "m1", "m2", "m3"},
                            {"ZADD", "zscore", "1", "a", "0.1", "b", "3", "c"},
                            {"ZADD", "zmember", "1", "a", "2", "b"},
                            {"XADD", "stream", "1-0", "f", "v"},
                            {"XADD", "stream", "2-0", "f", "v"},
                            {"XADD", "groups", "1-0", "f", "v"},
                            {"XGROUP", "CREATE", "groups", "g1", "0"},
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
              {"XGROUP", "SETID", "groups", "g1", "$"},
              {"LSET", "big", "7", "other"}});
}

// A source and a target with one difference per type, the source's file,
// and store paths; all removed at the end.
struct Changed : NonCopyable {
  TestServer source, target;
  std::string name, file;
  std::vector<std::string> stores;
  explicit Changed(std::string case_name, migcheck::test::ServerOptions target_options = {})
      : target(std::move(target_options)), name(std::move(case_name)) {
    fill(source);
    fill(target);
    change(target);
    file = migcheck::test::save_snapshot(source, snapshot_tmp("snaplocate", name) + ".rdb");
  }
  ~Changed() {
    std::filesystem::remove(file);
    for (const auto& s : stores) migcheck::test::remove_store(s);
  }
  std::string store(const std::string& what) {
    return stores.emplace_back(snapshot_tmp("snaplocate", name + "-" + what) + ".db");
  }
  // The live compare of the file's server against the target (the oracle):
  // its value rows' locations.
  std::map<std::string, std::string> live_locations() {
    const std::string path = store("live");
    auto live = run_migcheck(
        args({"compare", source.uri(), target.uri(), "--store", path, "--rounds", "1"}));
    INFO(live.out << live.err);
    CHECK(live.exit_code == 1);
    return locations(path, last_run(path));
  }
};

// `migcheck compare FILE TARGET` in two rounds 3 s apart, started; `id` is
// its run once round 1 is stored (0 if not within a minute).
struct TwoRounds : Changed {
  std::string path = store("file");
  std::optional<Spawned> run;
  int64_t id = 0;
  explicit TwoRounds(std::string case_name) : Changed(std::move(case_name)) {
    run.emplace(
        args({"compare", file, target.uri(), "--store", path, "--rounds", "2", "--interval", "3s"}),
        path + ".out", path + ".err");
    for (int i = 0; i < 3000 && id == 0; ++i) {
      try {
        Store ro(path, false, true);
        if (auto r = ro.latest_run("compare"); r && !ro.rounds(r->id).empty()) id = r->id;
      } catch (const Error&) {  // not created yet
      }
      if (id == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
};

}  // namespace

TEST_CASE("snapshot locate: every type located as the live compare locates it",
          "[snapshot][integration]") {
  Changed c("types");
  const auto oracle = c.live_locations();
  REQUIRE(oracle.size() == 10);

  const std::string store = c.store("file");
  auto r = run_migcheck(args({"compare", c.file, c.target.uri(), "--store", store, "--rounds", "2",
                              "--interval", "10ms"}));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 1);
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
      migcheck::test::save_snapshot(c.target, snapshot_tmp("snaplocate", "tgt") + ".rdb");
  const std::string ff_store = c.store("ff");
  auto ff = run_migcheck(args({"compare", c.file, tfile, "--store", ff_store}));
  std::filesystem::remove(tfile);
  INFO(ff.out << ff.err);
  REQUIRE(ff.exit_code == 1);
  CHECK(locations(ff_store, last_run(ff_store)) == oracle);

  // Locating turned off: nothing located, as live.
  const std::string off_store = c.store("off");
  auto off = run_migcheck({"compare", c.file, c.target.uri(), "--store", off_store, "--rounds", "1",
                           "--quiet", "--locate-max-elements", "0", "--locate-max-bytes", "0"});
  REQUIRE(off.exit_code == 1);
  for (const auto& [key, loc] : locations(off_store, last_run(off_store))) CHECK(loc.empty());
}

TEST_CASE("snapshot locate: a Redis 7.0 file against a Valkey 8 target, as live",
          "[snapshot][integration]") {
  // The servers print scores differently (%.17g up to 7.0, shortest after):
  // the file's as the server that wrote it, the target's as the target.
  Changed c("vk", migcheck::test::ServerOptions{.binary = "valkey-server"});
  const auto oracle = c.live_locations();
  const std::string store = c.store("file");
  auto r =
      run_migcheck(args({"compare", c.file, c.target.uri(), "--store", store, "--rounds", "1"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 1);
  CHECK(locations(store, last_run(store)) == oracle);
  auto z = ValueLocation::from_json(oracle.at("zscore"));
  REQUIRE(z);
  CHECK(z->summary() == R"(score "b": source "0.10000000000000001", target "0.25")");
}

TEST_CASE("snapshot locate: a later round locates again, against the target as it is then",
          "[snapshot][integration]") {
  TwoRounds c("rounds");
  c.target.cmd({"LSET", "list", "0", "X"});  // before round 2 re-reads it
  REQUIRE(c.id > 0);
  CHECK(c.run->wait() == 1);
  const std::string& path = c.path;
  const int64_t id = c.id;
  auto first = ValueLocation::from_json(locations(path, id, 1).at("list"));
  auto second = ValueLocation::from_json(locations(path, id, 2).at("list"));
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->at == "2");
  CHECK(second->summary() == R"(index "0": source "a", target "X")");
  // As the live compare of the file's server sees the target now.
  CHECK(c.live_locations().at("list") == locations(path, id, 2).at("list"));
}

TEST_CASE("snapshot locate: resumed between rounds, round 1's places are not known",
          "[snapshot][integration]") {
  TwoRounds c("resume");
  REQUIRE(c.id > 0);
  c.run->signal(SIGINT);  // in the interval before round 2
  CHECK(c.run->wait() == 2);
  const std::string& path = c.path;
  const int64_t id = c.id;
  auto r = run_migcheck(
      args({"compare", "--resume", std::to_string(id), c.file, c.target.uri(), "--store", path}));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 1);
  const auto second = locations(path, id, 2);
  REQUIRE(second.count("list"));
  auto l = ValueLocation::from_json(second.at("list"));
  REQUIRE(l);
  CHECK_FALSE(l->located);
  CHECK_THAT(l->reason, ContainsSubstring("its round 1 was checked before a resume"));
  // Over the bound: the bound's reason first, as live.
  CHECK_THAT(ValueLocation::from_json(second.at("big"))->reason,
             ContainsSubstring("key larger than the bound"));
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
