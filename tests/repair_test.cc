// `migcheck repair` end to end against real servers: compare -> repair ->
// compare again, for every kind of difference and every type (streams with
// groups and PEL included), Valkey 8 into Redis 7.0 (payloads refused, so by
// type), a target out of memory, dry runs and kept extras.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>

#include "cli_runner.h"
#include "server_fixture.h"
#include "store.h"

namespace t = migcheck::test;
using t::run_migcheck;
using namespace std::string_literals;

namespace {

using Cmds = std::vector<std::vector<std::string>>;

Cmds dataset() {
  Cmds c = {
      {"SET", "str:1", "hello"},
      {"SET", "str:int", "12345"},
      {"SET", "bin\0key\xff"s, "\0\xff value"s},
      {"SET", "str:ttl", "expires", "PX", "600000"},
      {"RPUSH", "list:1", "a", "b", "c"},
      {"RPUSH", "list:2", "x", "y"},
      {"RPUSH", "list:bin", "\0"s, "\xff"s},
      {"HSET", "hash:1", "f1", "v1", "f2", "v2"},
      {"HSET", "hash:bin", "\0f"s, "\xffv"s},
      {"SADD", "set:1", "a", "b", "c"},
      {"SADD", "set:int", "1", "2", "3"},
      {"ZADD", "zset:1", "1.5", "a", "2", "b", "-inf", "c", "0.1", "e"},
      {"PEXPIRE", "zset:1", "800000"},
      {"XADD", "stream:1", "1-1", "f", "v1"},
      {"XADD", "stream:1", "2-1", "f", "v2"},
      {"XADD", "stream:1", "3-1", "f", "v3"},
      {"XDEL", "stream:1", "2-1"},
      {"XGROUP", "CREATE", "stream:1", "g1", "0"},
      {"XREADGROUP", "GROUP", "g1", "alice", "COUNT", "1", "STREAMS", "stream:1", ">"},
      {"XGROUP", "CREATECONSUMER", "stream:1", "g1", "bob"},
      {"XADD", "stream:g", "1-1", "f", "v1"},
      {"XADD", "stream:g", "2-1", "f", "v2"},
      {"XGROUP", "CREATE", "stream:g", "readers", "0"},
      {"XREADGROUP", "GROUP", "readers", "r1", "COUNT", "2", "STREAMS", "stream:g", ">"},
      {"XGROUP", "CREATE", "stream:empty", "g", "0", "MKSTREAM"},
  };
  for (int i = 0; i < 300; ++i) c.push_back({"SET", "plain:" + std::to_string(i), std::to_string(i)});
  return c;
}

// One difference of each kind, on each type where it makes sense.
Cmds differences() {
  return {
      {"DEL", "str:1"},                                    // missing string
      {"DEL", "stream:1"},                                 // missing stream with groups
      {"DEL", "hash:1"},                                   // missing hash
      {"SET", "extra:1", "only here"},                     // extra
      {"HSET", "extra:2", "f", "v"},                       // extra
      {"DEL", "list:bin"},                                 // type
      {"SET", "list:bin", "now a string"},
      {"PERSIST", "zset:1"},                               // ttl
      {"PEXPIRE", "set:int", "100000"},                    // ttl
      {"SET", "str:int", "999"},                           // value: string
      {"RPUSH", "list:2", "z"},                            // value: list
      {"HSET", "hash:bin", "\0f"s, "other"},               // value: hash
      {"SADD", "set:1", "z"},                              // value: set
      {"ZADD", "zset:1", "5", "a"},                        // value: zset (and ttl above)
      {"XACK", "stream:g", "readers", "1-1"},              // value: stream PEL only
      {"DEL", "stream:empty"},                             // missing empty stream
      {"SET", "bin\0key\xff"s, "changed"},                 // value on a binary key
  };
}

std::string tmp_store(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() /
           ("migcheck-repair-" + name + "-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(p);
  return p.string();
}

t::ProcessResult compare(const std::string& src, const std::string& tgt, const std::string& store) {
  return run_migcheck({"compare", src, tgt, "--store", store, "--rounds", "1", "--quiet"});
}

std::map<std::string, migcheck::Outcome> outcomes(const std::string& store) {
  migcheck::Store s(store, false);
  auto run = s.latest_run("repair");
  REQUIRE(run);
  std::map<std::string, migcheck::Outcome> out;
  s.for_each_outcome(run->id, [&](const migcheck::Outcome& o) { out[o.key] = o; });
  return out;
}

nlohmann::json totals(const std::string& store) {
  migcheck::Store s(store, false);
  auto run = s.latest_run("repair");
  REQUIRE(run);
  return nlohmann::json::parse(run->totals_json);
}

}  // namespace

TEST_CASE("repair: every kind of difference on every type is fixed and verified", "[integration]") {
  t::TestServer source, target;
  source.pipeline(dataset());
  target.pipeline(dataset());
  target.pipeline(differences());
  const std::string store = tmp_store("kinds");

  auto r = compare(source.uri(), target.uri(), store);
  INFO(r.err);
  REQUIRE(r.exit_code == 1);

  r = run_migcheck({"repair", source.uri(), target.uri(), "--store", store, "--delete-extra", "--batch", "7"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("Result: REPAIRED") != std::string::npos);

  auto o = outcomes(store);
  CHECK(o.size() == 15);
  for (auto& [k, v] : o) {
    INFO(k << ": " << v.action << " " << v.outcome << " " << v.error << " " << v.detail);
    CHECK(v.outcome == "repaired");
  }
  CHECK(o["extra:1"].action == "delete");
  CHECK(o["str:1"].action == "restore");
  auto tot = totals(store);
  CHECK(tot["selected"] == 15);
  CHECK(tot["repaired"] == 15);
  CHECK(tot["deleted"] == 2);

  r = compare(source.uri(), target.uri(), store);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(source.debug_digest() == target.debug_digest());

  // The repair run points at the compare run it worked from.
  migcheck::Store s(store, false);
  auto rep = s.latest_run("repair");
  REQUIRE(rep->parent);
  CHECK(s.run(*rep->parent)->command == "compare");
}

TEST_CASE("repair: Valkey 8 into Redis 7.0 writes every type by type, streams with groups and PEL",
          "[integration]") {
  if (!t::have_binary("valkey-server")) SKIP("valkey-server not installed");
  t::TestServer source(t::ServerOptions{.binary = "valkey-server"});
  t::TestServer target;
  source.pipeline(dataset());
  // Some keys already there, some different: a partly migrated target.
  target.pipeline({{"SET", "plain:1", "1"}, {"SET", "plain:2", "stale"}, {"SET", "extra", "x"}});
  const std::string store = tmp_store("valkey");

  auto r = compare(source.uri(), target.uri(), store);
  INFO(r.err);
  REQUIRE(r.exit_code == 1);
  r = run_migcheck({"repair", source.uri(), target.uri(), "--store", store, "--delete-extra"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("payload version") != std::string::npos);

  auto tot = totals(store);
  CHECK(tot["repaired"] == tot["selected"]);
  CHECK(tot["restored"] == 0);
  CHECK(tot["fallbacks"].get<int64_t>() >= 20);
  for (auto& [k, v] : outcomes(store)) {
    INFO(k << ": " << v.error << " " << v.detail);
    CHECK(v.outcome == "repaired");
    if (k != "extra") CHECK(v.action == "fallback");
  }

  r = compare(source.uri(), target.uri(), store);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  // Zset scores print differently in 7.0 and 7.2+, so DEBUG only where it is meaningful.
  std::string cursor = "0";
  do {
    auto page = source.reply({"SCAN", cursor, "COUNT", "1000"});
    cursor = page.elements[0].str;
    for (const auto& k : page.elements[1].elements) {
      if (source.cmd({"TYPE", k.str}) == "zset") continue;
      INFO(k.str);
      CHECK(source.debug_digest_value(k.str) == target.debug_digest_value(k.str));
    }
  } while (cursor != "0");
  CHECK(target.reply({"XPENDING", "stream:g", "readers"}).elements[0].integer == 2);
}

TEST_CASE("repair: a target out of memory gets per-key failures with the server's message",
          "[integration]") {
  t::TestServer source;
  t::TestServer target(t::ServerOptions{.maxmemory = "2mb"});
  Cmds load;
  for (int i = 0; i < 10; ++i) load.push_back({"SET", "blob:" + std::to_string(i), std::string(400000, 'a' + i)});
  for (int i = 0; i < 50; ++i) load.push_back({"HSET", "small:" + std::to_string(i), "f", "v"});
  source.pipeline(load);
  const std::string store = tmp_store("oom");

  auto r = compare(source.uri(), target.uri(), store);
  REQUIRE(r.exit_code == 1);
  r = run_migcheck({"repair", source.uri(), target.uri(), "--store", store});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("Failed keys") != std::string::npos);
  CHECK(r.out.find("OOM") != std::string::npos);
  int failed = 0, repaired = 0;
  for (auto& [k, v] : outcomes(store)) {
    if (v.outcome == "failed") {
      ++failed;
      CHECK(v.error.starts_with("OOM command not allowed"));
    } else {
      CHECK(v.outcome == "repaired");
      ++repaired;
    }
  }
  CHECK(failed > 0);
  CHECK(failed + repaired == 60);
  CHECK(totals(store)["failed"] == failed);
}

TEST_CASE("repair: --dry-run records the plan and leaves the target unchanged", "[integration]") {
  t::TestServer source, target;
  source.pipeline(dataset());
  target.pipeline(dataset());
  target.pipeline(differences());
  const std::string store = tmp_store("dry");
  REQUIRE(compare(source.uri(), target.uri(), store).exit_code == 1);
  const std::string before = target.debug_digest();

  auto r = run_migcheck({"repair", source.uri(), target.uri(), "--store", store, "--delete-extra", "--dry-run"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(target.debug_digest() == before);
  auto o = outcomes(store);
  CHECK(o.size() == 15);
  for (auto& [k, v] : o) CHECK(v.outcome == "planned");
  CHECK(o["extra:1"].action == "delete");
  CHECK(o["str:1"].action == "restore");
}

TEST_CASE("repair: extra keys are kept without --delete-extra; --kind selects differences",
          "[integration]") {
  t::TestServer source, target;
  source.pipeline({{"SET", "a", "1"}, {"SET", "b", "2"}});
  target.pipeline({{"SET", "a", "1"}, {"SET", "extra", "x"}});
  const std::string store = tmp_store("extra");
  REQUIRE(compare(source.uri(), target.uri(), store).exit_code == 1);

  auto r = run_migcheck({"repair", source.uri(), target.uri(), "--store", store, "--quiet"});
  CHECK(r.exit_code == 1);
  auto o = outcomes(store);
  CHECK(o["extra"].outcome == "skipped");
  CHECK(o["extra"].detail == "extra key kept (use --delete-extra)");
  CHECK(o["b"].outcome == "repaired");
  CHECK(target.cmd({"GET", "extra"}) == "x");

  // Only the extras, from the same compare run.
  r = run_migcheck({"repair", source.uri(), target.uri(), "--store", store, "--kind", "extra", "--delete-extra",
                    "--quiet"});
  CHECK(r.exit_code == 0);
  o = outcomes(store);
  CHECK(o.size() == 1);
  CHECK(o["extra"].outcome == "repaired");
  CHECK(o["extra"].action == "delete");
  CHECK(target.cmd({"EXISTS", "extra"}) == "0");
}

TEST_CASE("repair: without a compare run it says what to do, exit 2", "[integration]") {
  t::TestServer source, target;
  const std::string store = tmp_store("none");
  {
    migcheck::Store s(store, true);  // an empty store
  }
  auto r = run_migcheck({"repair", source.uri(), target.uri(), "--store", store});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("run migcheck compare first") != std::string::npos);
  r = run_migcheck({"repair", source.uri(), target.uri(), "--store", store + ".missing"});
  CHECK(r.exit_code == 2);
}
