// The cross-version matrix: the core replicate / compare / repair flows with
// a small dataset of every type, for each source -> target pair a migration
// from ElastiCache (Redis OSS 7.x, Valkey 7.2-8.x) to Redis Cloud (7.4, 8.x)
// meets: Redis 7.0 -> 8.0, Valkey 8.0 -> Redis 8.0, Redis 8.0 -> 8.0,
// Redis 8.0 -> Valkey 8.1 (RDB 12 payloads refused: the by-type fallback) and
// Valkey 8.1 -> 8.0. Every result is checked against the servers themselves
// (DEBUG DIGEST-VALUE, ZRANGE, PTTL), never against migcheck's own reading.
// Plus vector sets (Redis 8's built-in type) both ways: equal sets compare
// equal whatever their insertion order, and a target without the type gets a
// clear per-key outcome.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "dataset_parts.h"
#include "engines.h"
#include "server_fixture.h"
#include "store.h"
#include "test_util.h"

namespace t = migcheck::test;
using t::run_migcheck;
using namespace std::string_literals;

namespace {

t::Cmds dataset() {
  t::Cmds c = {
      {"SET", "str:1", "hello"},
      {"SET", "bin\0key\xff"s, "\0\xff\r\n"s},
      {"SET", "str:ttl", "expires", "PX", "600000"},
      {"SET", "str:long", std::string(3000, 'x') + "tail"},
      {"RPUSH", "list:1", "a", "b", "c", "a"},
      {"PEXPIRE", "list:1", "700000"},
  };
  t::append_cmds(c, t::small_collections());
  // Collections beyond one read chunk (1000): read in several steps.
  std::vector<std::string> h = {"HSET", "hash:big"}, z = {"ZADD", "zset:big"},
                           s = {"SADD", "set:big"}, l = {"RPUSH", "list:big"};
  for (int i = 0; i < 1500; ++i) {
    const std::string n = std::to_string(i);
    h.insert(h.end(), {"f" + n, "v" + n});
    z.insert(z.end(), {std::to_string(i * 0.37), "m" + n});
    s.push_back("s" + n);
    l.push_back("l" + n);
  }
  c.insert(c.end(), {h, z, s, l});
  for (int i = 0; i < 200; ++i) c.push_back({"SET", "k:" + std::to_string(i), std::to_string(i)});
  return c;
}

std::string tmp_store(const std::string& name) {
  return migcheck::test::tmp_store("matrix", name);
}

// Sorted-set scores as doubles: Redis 7.0 and 7.2+ print (and digest) them
// differently, so the server's own digests cannot be compared across.
std::map<std::string, double> zset_of(t::TestServer& s, const std::string& key) {
  std::map<std::string, double> out;
  auto r = s.reply({"ZRANGE", key, "0", "-1", "WITHSCORES"});
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2)
    out[r.elements[i].str] = std::stod(r.elements[i + 1].str);
  return out;
}

// The oracle: every source key is on the target with an equal value and an
// expiry within a second; no key is on the target only.
void check_same(t::TestServer& source, t::TestServer& target) {
  const auto keys = keys_of(source);
  CHECK(keys.size() == keys_of(target).size());
  for (const auto& k : keys) {
    INFO("key " << k);
    const std::string type = source.cmd({"TYPE", k});
    REQUIRE(target.cmd({"TYPE", k}) == type);
    if (type == "zset")
      CHECK(zset_of(source, k) == zset_of(target, k));
    else
      CHECK(source.debug_digest_value(k) == target.debug_digest_value(k));
    const long long sp = source.reply({"PTTL", k}).integer, tp = target.reply({"PTTL", k}).integer;
    if (sp < 0)
      CHECK(tp == sp);
    else
      CHECK(std::abs(sp - tp) < 1000);
  }
}

std::vector<std::string> with(std::vector<std::string> args, const std::string& store) {
  args.insert(args.end(), {"--store", store});
  return args;
}

// One quiet compare round of `source` against `target` into `store`.
t::ProcessResult compare_once(t::TestServer& source, t::TestServer& target,
                              const std::string& store) {
  return run_migcheck(
      with({"compare", source.uri(), target.uri(), "--rounds", "1", "--quiet"}, store));
}

// The target now holds what the source does: by the servers' own reading,
// and for a compare round into `store` (exit 0).
void check_now_identical(t::TestServer& source, t::TestServer& target, const std::string& store) {
  check_same(source, target);
  const auto r = compare_once(source, target, store);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
}

void run_matrix(const char* src_engine, const char* tgt_engine) {
  auto servers = MIGCHECK_ENGINE_PAIR(src_engine, tgt_engine);
  auto& [source, target] = servers;
  source.pipeline(dataset());
  const std::string store = tmp_store(std::string(src_engine) + "-" + tgt_engine);

  // replicate (scan): everything copied, by RESTORE or by type.
  auto r = run_migcheck(with({"replicate", source.uri(), target.uri(), "--verify"}, store));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  // compare: identical.
  check_now_identical(source, target, store);

  // The target drifts: a changed value, a missing key, an extra key, a
  // changed TTL, a changed big collection.
  target.pipeline({{"SET", "str:1", "changed"},
                   {"DEL", "list:1"},
                   {"SET", "extra:1", "x"},
                   {"PERSIST", "str:ttl"},
                   {"HSET", "hash:big", "f700", "other"},
                   {"ZADD", "zset:big", "1e9", "m3"}});
  r = compare_once(source, target, store);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  r = run_migcheck(with({"diffs", "--format", "jsonl"}, store));
  INFO(r.out << r.err);
  for (const char* k : {"str:1", "list:1", "extra:1", "str:ttl", "hash:big", "zset:big"})
    CHECK(r.out.find(k) != std::string::npos);

  // repair: the target is the source again.
  r = run_migcheck(with({"repair", source.uri(), target.uri(), "--delete-extra"}, store));
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  check_now_identical(source, target, store);
  std::filesystem::remove(store);
}

// n vector sets of 30 elements; `reversed` builds each in the other order.
t::Cmds vector_sets(int n, bool reversed) {
  t::Cmds c;
  for (int v = 0; v < n; ++v) {
    for (int k = 0; k < 30; ++k) {
      const int i = reversed ? 29 - k : k;
      const std::string id = std::to_string(i);
      std::vector<std::string> add = {
          "VADD",  "vs:" + std::to_string(v), "VALUES", "3", std::to_string(v + 1), id, "0.5",
          "e" + id};
      if (i % 4 == 0) add.insert(add.end(), {"SETATTR", R"({"i":)" + id + "}"});
      c.push_back(add);
    }
  }
  return c;
}

}  // namespace

TEST_CASE("matrix: Redis 7.0 -> Redis 8.0", "[integration][matrix]") {
  run_matrix("redis-7.0", "redis-8.0");
}
TEST_CASE("matrix: Valkey 8.0 -> Redis 8.0", "[integration][matrix]") {
  run_matrix("valkey-8.0", "redis-8.0");
}
TEST_CASE("matrix: Redis 8.0 -> Redis 8.0", "[integration][matrix]") {
  run_matrix("redis-8.0", "redis-8.0");
}
TEST_CASE("matrix: Redis 8.0 -> Valkey 8.1 (by-type fallback)", "[integration][matrix]") {
  run_matrix("redis-8.0", "valkey-8.1");
}
TEST_CASE("matrix: Valkey 8.1 -> Valkey 8.0", "[integration][matrix]") {
  run_matrix("valkey-8.1", "valkey-8.0");
}

TEST_CASE("matrix: vector sets copied Redis 8.0 -> 8.0 compare equal; order does not matter",
          "[integration][matrix]") {
  const std::string bin = MIGCHECK_REQUIRE_ENGINE("redis-8.0");
  t::TestServer source(t::ServerOptions{.binary = bin});
  t::TestServer target(t::ServerOptions{.binary = bin});
  source.pipeline(vector_sets(20, false));
  const std::string store = tmp_store("vset");
  auto r = run_migcheck(with({"replicate", source.uri(), target.uri()}, store));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(target.cmd({"TYPE", "vs:7"}) == "vectorset");
  r = compare_once(source, target, store);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);

  // Built in the other order on the target: other DUMP bytes, equal sets.
  target.cmd({"FLUSHALL"});
  target.pipeline(vector_sets(20, true));
  REQUIRE(source.reply({"DUMP", "vs:3"}).str != target.reply({"DUMP", "vs:3"}).str);
  source.cmd({"HSET", "h", "a", "1", "b", "2"});
  source.cmd({"HPEXPIRE", "h", "3600000", "FIELDS", "1", "a"});
  target.cmd({"HSET", "h", "a", "1", "b", "2"});
  target.cmd({"HPEXPIREAT", "h", source.cmd({"HPEXPIRETIME", "h", "FIELDS", "1", "a"}), "FIELDS",
              "1", "a"});
  source.cmd({"CONFIG", "RESETSTAT"});
  r = compare_once(source, target, store);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  // Vector sets and field expiries are read with read commands only.
  const std::set<std::string> reads = {
      "info",  "type",         "pttl",           "scan",     "exists",       "randomkey",
      "dump",  "memory|usage", "client|setname", "time",     "config|get",   "dbsize",
      "hscan", "hlen",         "select",         "ping",     "command|info", "hpexpiretime",
      "vinfo", "vrandmember",  "vemb",           "vgetattr", "vcard"};
  std::istringstream stats(source.cmd({"INFO", "commandstats"}));
  for (std::string line; std::getline(stats, line);) {
    if (line.rfind("cmdstat_", 0) != 0) continue;
    std::string name = line.substr(8, line.find(':') - 8);
    // Module commands (the vector-set ones) are listed in upper case.
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    INFO("command sent: " << name);
    CHECK((reads.count(name) == 1 || name == "config|resetstat"));
  }
  CHECK(source.cmd({"INFO", "commandstats"}).find("cmdstat_VEMB:") != std::string::npos);
  CHECK(source.cmd({"INFO", "commandstats"}).find("cmdstat_hpexpiretime:") != std::string::npos);

  // One changed attribute, one changed vector: two differences, nothing else.
  target.cmd({"VSETATTR", "vs:3", "e8", R"({"i":9})"});
  target.cmd({"VADD", "vs:5", "VALUES", "3", "1", "2", "3", "e1"});
  r = compare_once(source, target, store);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  r = run_migcheck(with({"diffs", "--format", "jsonl"}, store));
  INFO(r.out);
  CHECK(r.out.find("vs:3") != std::string::npos);
  CHECK(r.out.find("vs:5") != std::string::npos);
  CHECK(r.out.find("vs:4") == std::string::npos);
  // repair copies them back (DUMP/RESTORE), and they compare equal again.
  r = run_migcheck(with({"repair", source.uri(), target.uri()}, store));
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(target.cmd({"VGETATTR", "vs:3", "e8"}) == R"({"i":8})");
  r = compare_once(source, target, store);
  CHECK(r.exit_code == 0);
  std::filesystem::remove(store);
}

TEST_CASE_METHOD(t::Redis80ToValkey81,
                 "matrix: vector sets onto Valkey 8.1 (no such type) fail per key, clearly",
                 "[integration][matrix]") {
  source.pipeline(vector_sets(3, false));
  source.cmd({"SET", "plain", "v"});
  const std::string store = tmp_store("vset-valkey");
  auto r = run_migcheck(with({"replicate", source.uri(), target.uri()}, store));
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(target.cmd({"GET", "plain"}) == "v");
  CHECK(target.cmd({"EXISTS", "vs:0", "vs:1", "vs:2"}) == "0");
  migcheck::Store s(store, false);
  auto run = s.latest_run("replicate");
  REQUIRE(run);
  int failed = 0;
  s.for_each_outcome(run->id, [&](const migcheck::Outcome& o) {
    if (o.key.starts_with("vs:")) {
      ++failed;
      CHECK(o.outcome == migcheck::Outcome::Result::Failed);
      CHECK(o.detail.find("no vectorset type") != std::string::npos);
    }
  });
  CHECK(failed == 3);
  // compare: the vector sets are missing on the target.
  r = compare_once(source, target, store);
  CHECK(r.exit_code == 1);
  std::filesystem::remove(store);
}

TEST_CASE("matrix: info reads the RDB versions of Redis 8.0 (12) and Valkey 8.1 (11)",
          "[integration][matrix]") {
  auto servers = MIGCHECK_ENGINE_PAIR("redis-8.0", "valkey-8.1");
  auto& [redis, valkey] = servers;
  // Empty: the release's RDB version is named next to "unknown".
  auto r = run_migcheck({"info", redis.uri(), valkey.uri()});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("redis 8.0") != std::string::npos);
  CHECK(r.out.find("writes 12") != std::string::npos);
  CHECK(r.out.find("writes 11") != std::string::npos);
  redis.cmd({"SET", "a", "1"});
  valkey.cmd({"SET", "a", "1"});
  r = run_migcheck({"info", redis.uri(), valkey.uri(), "--json"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j[0]["version"].get<std::string>().rfind("8.0.", 0) == 0);
  CHECK(j[0]["rdb_version"] == 12);  // read off a real DUMP
  CHECK(j[1]["engine"] == "valkey");
  CHECK(j[1]["version"].get<std::string>().rfind("8.1.", 0) == 0);
  CHECK(j[1]["rdb_version"] == 11);
}
