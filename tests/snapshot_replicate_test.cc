// Integration tests of the snapshot replicate (replicate/snapshot_replicate.h):
// files written by real servers (SAVE on Redis 7.0 and Valkey 8.0: every
// type, expiries, several dbs, big keys) replicated into a standalone target
// and a cluster, checked key by key with DEBUG DIGEST-VALUE and PEXPIRETIME
// against the server that wrote the file; a resume after a stop; the CLI
// for a corrupt file and refused modes.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cli_runner.h"
#include "dataset_parts.h"
#include "noncopyable.h"
#include "server_fixture.h"
#include "snapshot_fixture.h"
#include "snapshot_replicate.h"
#include "store.h"

using namespace migcheck;
using migcheck::test::run_migcheck;
using migcheck::test::TestServer;

namespace {

using migcheck::test::Cmds;

std::string tmp(const std::string& name) {
  return migcheck::test::snapshot_tmp("snaprepl", name);
}

// Long enough for s:soon to have expired.
constexpr std::chrono::milliseconds kSoon{1100};

// Every type (a stream with a group, pending entries and a deleted entry
// still pending), expiries, a key about to expire, two dbs and big keys
// (more than the 64 KiB big-key size of the tests).
void fill(TestServer& s, bool two_dbs = true) {
  const std::string at = std::to_string(migcheck::test::wall_ms() + 3600000);
  Cmds c = migcheck::test::snapshot_basics(at);
  migcheck::test::append_cmds(
      c, {{"SADD", "st:int", "1", "2", "3"}, {"ZADD", "z:1", "1", "a", "2.5", "b", "-inf", "c"}});
  migcheck::test::append_cmds(c, migcheck::test::read_then_deleted_stream(
                                     "x:1", "grp", {{{"f", "v"}, {"g", "w"}, {"h", "u"}}}));
  migcheck::test::append_cmds(c, {{"HSET", "ttl:h", "f", "v"},
                                  {"PEXPIREAT", "ttl:h", at},
                                  {"SET", std::string("bin\0key\xff", 8), "binary"}});
  if (two_dbs)
    migcheck::test::append_cmds(
        c,
        {{"SELECT", "3"}, {"SET", "d3:s", "three"}, {"SADD", "d3:set", "x", "y"}, {"SELECT", "0"}});
  for (int i = 0; i < 3000; ++i) {
    c.push_back({"HSET", "big:h", "field" + std::to_string(i), "value-value" + std::to_string(i)});
    c.push_back({"RPUSH", "big:l", "element-" + std::to_string(i)});
    c.push_back({"ZADD", "big:z", std::to_string(i) + ".5", "member-" + std::to_string(i)});
    c.push_back({"SADD", "big:set", "member-" + std::to_string(i) + "-padding"});
  }
  c.push_back({"PEXPIREAT", "big:l", at});
  c.push_back({"SET", "big:s", std::string(300000, 'x') + "end"});
  // Last, right before the SAVE: in the file, expired when it is read.
  c.push_back({"SET", "s:soon", "gone", "PX", "1000"});
  s.pipeline(c);
}

std::string save(TestServer& s, const std::string& name) {
  return migcheck::test::save_snapshot(s, tmp(name) + ".rdb");
}

SnapshotReplicateOptions options(const std::string& file, const std::string& target_uri) {
  SnapshotReplicateOptions o;
  o.source_file = file;
  o.base.target = parse_uri(target_uri);
  o.base.progress = false;
  o.base.batch = 50;
  o.big_bytes = 64 << 10;
  o.chunk_elements = 500;
  return o;
}

// Every key of `db` on `ref` is on `get(key)` with the same value digest and
// expiry; and no other key is there (count).
template <typename Digest, typename Pexpiretime>
void check_same(TestServer& ref, int db, Digest digest, Pexpiretime pexpiretime,
                int64_t target_keys) {
  auto on_ref = [&](std::vector<std::string> args) {
    return ref.replies({{"SELECT", std::to_string(db)}, std::move(args)}).back();
  };
  auto keys = on_ref({"KEYS", "*"});
  REQUIRE(keys.type == migcheck::test::Reply::Type::Array);
  CHECK(static_cast<int64_t>(keys.elements.size()) == target_keys);
  for (const auto& k : keys.elements) {
    INFO("db " << db << " key " << k.str);
    CHECK(digest(k.str) == on_ref({"DEBUG", "DIGEST-VALUE", k.str}).elements.at(0).str);
    CHECK(pexpiretime(k.str) == std::to_string(on_ref({"PEXPIRETIME", k.str}).integer));
  }
}

int64_t dbsize(TestServer& s, int db) {
  return s.replies({{"SELECT", std::to_string(db)}, {"DBSIZE"}}).back().integer;
}

void check_standalone(TestServer& ref, TestServer& target, std::vector<int> dbs) {
  for (int db : dbs) {
    auto on_db = [&](std::vector<std::string> args) {
      return target.replies({{"SELECT", std::to_string(db)}, std::move(args)}).back();
    };
    check_same(
        ref, db,
        [&](const std::string& k) {
          return on_db({"DEBUG", "DIGEST-VALUE", k}).elements.at(0).str;
        },
        [&](const std::string& k) {
          return std::to_string(on_db({"PEXPIRETIME", k}).integer);
        },
        dbsize(target, db));
  }
}

// Fills `source` and saves it to a file; returns the file once s:soon has
// expired in it.
std::string aged_file(TestServer& source, const std::string& name) {
  fill(source);
  const std::string file = save(source, name);
  std::this_thread::sleep_for(kSoon);
  return file;
}

// A filled source, its file (removed at the end) read once s:soon has
// expired, and a store.
struct AgedFile : NonCopyable {
  TestServer source;
  std::string file;
  Store store;
  explicit AgedFile(const std::string& name)
      : file(aged_file(source, name)), store(tmp(name + ".db")) {}
  ~AgedFile() { std::filesystem::remove(file); }
  // The file into `target_uri` with the options of the tests.
  SnapshotReplicateResult replicate_into(const std::string& target_uri) {
    return run_snapshot_replicate(options(file, target_uri), store);
  }
};

// The same into a fresh standalone target, which must succeed (exit 0);
// `c` is the run's copy counters.
struct StandaloneRun : NonCopyable {
  TestServer source;
  std::string file;
  Store store;
  TestServer target;
  SnapshotReplicateResult r;
  const decltype(r.replicate.copy)& c = r.replicate.copy;
  explicit StandaloneRun(const std::string& name, migcheck::test::ServerOptions source_options = {})
      : source(std::move(source_options)),
        file(aged_file(source, name)),
        store(tmp(name + ".db")),
        r(run_snapshot_replicate(options(file, target.uri()), store)) {
    INFO("failed " << c.failed << " skipped " << c.skipped);
    CHECK(r.replicate.exit_code == 0);
  }
  ~StandaloneRun() { std::filesystem::remove(file); }
};

}  // namespace

TEST_CASE("snapshot replicate: every type of a Redis 7.0 file into a standalone target",
          "[snapshot][replicate][integration]") {
  StandaloneRun into("r7");
  auto& [source, file, store, target, r, c] = into;
  CHECK(r.expired_skipped == 1);
  CHECK(r.replicate.keys_scanned == 18);
  CHECK(c.copied == 18);
  CHECK(c.chunked == 5);  // the big hash, list, zset, set and string
  CHECK(c.restored == 13);
  CHECK(target.reply({"EXISTS", "s:soon"}).integer == 0);
  check_standalone(source, target, {0, 3});
  // Recorded as a replicate run with the snapshot's totals.
  auto run = store.run(r.replicate.run_id);
  REQUIRE(run);
  CHECK(run->command == "replicate");
  CHECK(run->status == "done");
  auto t = nlohmann::json::parse(run->totals_json);
  CHECK(t["copied"] == 18);
  CHECK(t["snapshot"]["expired_skipped"] == 1);

  // --db 3 --target-db 5, --match and --type.
  TestServer t2;
  auto o = options(file, t2.uri());
  o.db = 3;
  o.target_db = 5;
  r = run_snapshot_replicate(o, store);
  CHECK(r.replicate.copy.copied == 2);
  CHECK(dbsize(t2, 5) == 2);
  CHECK(dbsize(t2, 0) == 0);
  TestServer t3;
  o = options(file, t3.uri());
  o.base.match = "big:*";
  o.base.types = {"list", "string"};
  r = run_snapshot_replicate(o, store);
  CHECK(r.replicate.copy.copied == 2);
  CHECK(t3.reply({"EXISTS", "big:l", "big:s"}).integer == 2);
  CHECK(dbsize(t3, 0) == 2);
}

TEST_CASE("snapshot replicate: a Valkey 8 file into Redis 7.0 (older RDB) and by type",
          "[snapshot][replicate][integration]") {
  StandaloneRun into("vk", migcheck::test::ServerOptions{.binary = "valkey-server"});
  auto& [source, file, store, target, r, c] = into;
  CHECK(c.copied == 18);
  // RDB 11 into RDB 10: the set listpacks (type 20) and the stream (21) go
  // by type, the rest is framed as RDB 10.
  CHECK(c.fallbacks >= 2);
  CHECK(c.restored >= 10);
  check_standalone(source, target, {0, 3});

  // --struct: everything by type, the same result.
  TestServer t2;
  auto o = options(file, t2.uri());
  o.base.structural = true;
  r = run_snapshot_replicate(o, store);
  CHECK(r.replicate.copy.restored == 0);
  CHECK(r.replicate.copy.copied == 18);
  check_standalone(source, t2, {0, 3});
}

TEST_CASE("snapshot replicate: into a cluster target",
          "[snapshot][replicate][cluster][integration]") {
  AgedFile aged("cluster");
  migcheck::test::TestCluster cluster;
  SnapshotReplicateResult r = aged.replicate_into(cluster.seed_uri());
  const auto& c = r.replicate.copy;
  // db 3's keys cannot go to a cluster: skipped with the reason, exit 1.
  CHECK(c.copied == 16);
  CHECK(c.skipped == 2);
  CHECK(r.replicate.exit_code == 1);
  int64_t total = 0;
  for (int i = 0; i < cluster.size(); ++i) total += cluster.node(i).reply({"DBSIZE"}).integer;
  check_same(
      aged.source, 0,
      [&](const std::string& k) {
        return cluster.node_for_key(k).reply({"DEBUG", "DIGEST-VALUE", k}).elements.at(0).str;
      },
      [&](const std::string& k) {
        return std::to_string(cluster.reply_routed({"PEXPIRETIME", k}).integer);
      },
      total);
}

TEST_CASE("snapshot replicate: a run stopped by SIGINT resumes from its checkpoint, counted once",
          "[snapshot][replicate][integration]") {
  TestServer source, target;
  Cmds c;
  for (int i = 0; i < 60000; ++i)
    c.push_back({"SET", "key:" + std::to_string(i), "value-" + std::to_string(i)});
  source.pipeline(c);
  fill(source, false);
  const std::string file = save(source, "resume");
  std::this_thread::sleep_for(kSoon);
  const std::string store_path = tmp("resume.db");
  const int64_t total = 60016;
  int64_t run_id = 0;
  {
    // Two keys per round trip: slow enough to be stopped midway.
    migcheck::test::Spawned p(
        {"replicate", file, target.uri(), "--store", store_path, "--batch", "2", "-q"},
        tmp("resume.out"), tmp("resume.err"));
    for (int i = 0; i < 4000 && target.reply({"DBSIZE"}).integer < 1000; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    p.signal(SIGINT);
    CHECK(p.wait(std::chrono::seconds(60)) == 2);
    Store store(store_path, false);
    auto run = store.latest_run("replicate");
    REQUIRE(run);
    run_id = run->id;
    CHECK(run->status == "interrupted");
    auto t = nlohmann::json::parse(run->totals_json);
    CHECK(t["copied"].get<int64_t>() > 0);
    CHECK(t["copied"].get<int64_t>() < total);
  }
  // The CLI resumes it (the recorded scope and options: --match given again
  // is ignored, said so; --batch takes effect) and counts every key once.
  auto res = run_migcheck({"replicate", "--resume", std::to_string(run_id), file, target.uri(),
                           "--store", store_path, "-q", "--batch", "500", "--match", "key:1*"});
  INFO(res.out << res.err);
  CHECK(res.exit_code == 0);
  CHECK(res.err.find("--match is ignored: resumed run") != std::string::npos);
  Store store(store_path);
  const auto o = nlohmann::json::parse(store.run(run_id)->options_json);
  CHECK(o["batch"] == 500);
  CHECK(o["match"] == "");
  CHECK(o["source_file"] == file);
  auto t = nlohmann::json::parse(store.run(run_id)->totals_json);
  CHECK(t["copied"] == total);
  CHECK(t["keys"] == total);
  CHECK(t["snapshot"]["expired_skipped"] == 1);
  CHECK(store.run(run_id)->status == "done");
  source.cmd({"DEL", "s:soon"});  // expired: not copied
  CHECK(source.debug_digest() == target.debug_digest());

  // A resume of a file that changed since is refused.
  std::ofstream(file, std::ios::app) << "x";
  res = run_migcheck({"replicate", "--resume", std::to_string(run_id), file, target.uri(),
                      "--store", store_path, "-q"});
  CHECK(res.exit_code == 2);
  std::filesystem::remove(file);
}

TEST_CASE("snapshot replicate: CLI: a corrupt file, live modes, the summary",
          "[snapshot][replicate][integration]") {
  TestServer source, target;
  fill(source, false);
  const std::string file = save(source, "cli");
  const std::string store = tmp("cli.db");
  // A corrupt byte in the middle: one line naming the byte offset, exit 2.
  const std::string bad = tmp("bad") + ".rdb";
  migcheck::test::write_first_half(file, bad);
  auto c = run_migcheck({"replicate", bad, target.uri(), "--store", store, "-q"});
  INFO(c.out << c.err);
  CHECK(c.exit_code == 2);
  CHECK(std::count(c.err.begin(), c.err.end(), '\n') == 1);
  CHECK(c.err.find("offset") != std::string::npos);

  c = run_migcheck({"replicate", file, target.uri(), "--mode", "live", "--store", store, "-q"});
  CHECK(c.exit_code == 2);
  CHECK(std::count(c.err.begin(), c.err.end(), '\n') == 1);
  CHECK(c.err.find("scan") != std::string::npos);

  target.cmd({"FLUSHALL"});
  c = run_migcheck({"replicate", file, target.uri(), "--store", store});
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
  CHECK(c.out.find("Result: REPLICATED.") != std::string::npos);
  CHECK(c.out.find("already expired") != std::string::npos);
  // The file compare agrees.
  c = run_migcheck({"compare", file, target.uri(), "--store", store, "-q"});
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
  for (const auto& p : {file, bad}) std::filesystem::remove(p);
}

TEST_CASE("snapshot replicate: peak memory stays bounded with a big key",
          "[snapshot][replicate][memory][integration]") {
  TestServer source, target;
  // A set of 400k members (about 10 MB serialised, more in memory) and a
  // 20 MB string: both go in chunks.
  source.pipeline(migcheck::test::huge_set());
  source.cmd({"SET", "huge:s", std::string(20 << 20, 'y')});
  source.cmd({"CONFIG", "SET", "rdbcompression", "no"});
  const std::string file = save(source, "big");
  migcheck::test::check_bounded_peak(
      {"replicate", file, target.uri(), "--store", tmp("big.db"), "-q"}, tmp("big.out"),
      tmp("big.err"));
  CHECK(target.debug_digest_value("huge") == source.debug_digest_value("huge"));
  CHECK(target.debug_digest_value("huge:s") == source.debug_digest_value("huge:s"));
  std::filesystem::remove(file);
}
