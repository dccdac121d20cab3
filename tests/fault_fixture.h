// Shared by the fault tests (fault_test.cc, hostile_input_test.cc): data
// sets, store readers and the DEBUG DIGEST-VALUE oracle they check against.
#pragma once

#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "cli_runner.h"
#include "dataset_parts.h"
#include "encoding.h"
#include "fault_proxy.h"
#include "html_escape.h"
#include "server_fixture.h"
#include "store.h"
#include "test_util.h"

namespace migcheck::test::fault {

namespace t = migcheck::test;
namespace fs = std::filesystem;
using t::Cmds;
using t::keys_of;
using t::run_migcheck;
using t::slurp;
using namespace std::string_literals;

inline fs::path temp_dir(const std::string& name) {
  fs::path p =
      fs::temp_directory_path() / ("migcheck-fault-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

inline void load(t::TestServer& s, int n) {
  Cmds cmds;
  for (int i = 0; i < n; ++i) {
    std::string k = std::to_string(i);
    cmds.push_back({"SET", "s:" + k, std::string(50, static_cast<char>('a' + i % 26))});
    if (i % 5 == 0) cmds.push_back({"HSET", "h:" + k, "f", k, "g", "x"});
    if (i % 7 == 0) cmds.push_back({"ZADD", "z:" + k, "1.25", "m", k, "n"});
  }
  s.pipeline(cmds);
}

// A target that keeps its data across kill -9 (AOF, fsync always).
inline t::ServerOptions durable() {
  return t::ServerOptions{.config = {{"appendonly", "yes"}, {"appendfsync", "always"}}};
}
// (key bytes, difference kind). A struct, not a pair, so that Catch prints it.
struct KeyKind {
  std::string key, kind;
  auto operator<=>(const KeyKind&) const = default;
};
using Kinds = std::set<KeyKind>;

// Key names in assertion messages: printable, and short.
inline std::string shown(const std::string& key) {
  std::string p = migcheck::printable_bytes(key);
  return p.size() > 80 ? p.substr(0, 80) + "...(" + std::to_string(key.size()) + " bytes)" : p;
}

inline migcheck::RunRecord last_run(const fs::path& store, const std::string& command) {
  migcheck::Store s(store.string(), false);
  auto run = s.latest_run(command);
  REQUIRE(run);
  return *run;
}

inline std::map<std::string, migcheck::Outcome> outcomes_of(const fs::path& store, int64_t run) {
  migcheck::Store s(store.string(), false);
  std::map<std::string, migcheck::Outcome> out;
  s.for_each_outcome(run, [&](const migcheck::Outcome& o) { out[o.key] = o; });
  return out;
}

inline Kinds differences_of(const fs::path& store, int64_t run) {
  migcheck::Store s(store.string(), false);
  Kinds out;
  s.for_each_difference(run, {}, [&](const migcheck::Difference& d) {
    out.insert({d.key, d.kind});
  });
  return out;
}

// Every type: binary names and values, TTLs, intsets, a stream with groups,
// consumers and a PEL, and one value big enough to be copied in chunks.
inline Cmds mixed() {
  Cmds c = {
      {"SET", "str:1", "hello"},
      {"SET", "str:bin", "\0\xff\r\n value"s},
      {"SET", "bin\0key\xff"s, "v"},
      {"SET", "str:ttl", "expires", "PX", "600000"},
      {"RPUSH", "list:1", "a", "b", "c", "a"},
      {"PEXPIRE", "list:1", "700000"},
      {"HSET", "hash:1", "f1", "v1", "\0f"s, "\xffv"s},
      {"SADD", "set:1", "a", "b", "c"},
      {"SADD", "set:int", "1", "2", "3", "-7"},
      {"ZADD", "zset:1", "1.5", "a", "2", "b", "-inf", "c", "inf", "d"},
  };
  migcheck::test::append_cmds(c, migcheck::test::deleted_then_read_stream());
  c.push_back({"SET", "big:string", std::string(3 << 20, 'b') + "end"});
  for (int i = 0; i < 300; ++i)
    c.push_back({"SET", "plain:" + std::to_string(i), std::to_string(i)});
  return c;
}

// Polls until `replica` has finished its sync with its primary.
inline void wait_replica_up(t::TestServer& replica) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (replica.cmd({"INFO", "replication"}).find("master_link_status:up") == std::string::npos) {
    REQUIRE(std::chrono::steady_clock::now() < until);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// What Redis itself says of each key: TYPE, whether it expires, and DEBUG
// DIGEST-VALUE, pipelined on one connection.
struct KeyFacts {
  std::string type, digest;
  bool expires = false;
  bool operator==(const KeyFacts&) const = default;
};
inline std::map<std::string, KeyFacts> facts_of(t::TestServer& s,
                                                const std::vector<std::string>& keys) {
  Cmds cmds;
  for (const auto& k : keys) {
    cmds.push_back({"TYPE", k});
    cmds.push_back({"PTTL", k});
    cmds.push_back({"DEBUG", "DIGEST-VALUE", k});
  }
  auto r = s.replies(cmds);
  REQUIRE(r.size() == cmds.size());
  std::map<std::string, KeyFacts> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (r[3 * i].str == "none") continue;
    out[keys[i]] = {r[3 * i].str, r[3 * i + 2].text(), r[3 * i + 1].integer > 0};
  }
  return out;
}

// The differences a compare must find, as the servers' own DEBUG
// DIGEST-VALUE tells them: over the keys of both sides, missing, extra, type,
// ttl (a TTL on one side only), value.
inline Kinds oracle_differences(t::TestServer& source, t::TestServer& target) {
  std::vector<std::string> keys = keys_of(source), tk = keys_of(target);
  keys.insert(keys.end(), tk.begin(), tk.end());
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  auto sf = facts_of(source, keys), tf = facts_of(target, keys);
  Kinds out;
  for (const auto& k : keys) {
    const bool on_s = sf.count(k), on_t = tf.count(k);
    if (!on_t)
      out.insert({k, "missing"});
    else if (!on_s)
      out.insert({k, "extra"});
    else if (sf[k].type != tf[k].type)
      out.insert({k, "type"});
    // DIGEST-VALUE mixes in whether the key expires: with a TTL on one side
    // only, it says nothing of the value (none of the tests changes both).
    else if (sf[k].expires != tf[k].expires)
      out.insert({k, "ttl"});
    else if (sf[k].digest != tf[k].digest)
      out.insert({k, "value"});
  }
  return out;
}

// Both servers hold the same keyspace, value for value.
inline void check_identical(t::TestServer& source, t::TestServer& target) {
  const auto keys = keys_of(source);
  CHECK(keys.size() == keys_of(target).size());
  auto sf = facts_of(source, keys), tf = facts_of(target, keys);
  for (const auto& k : keys) {
    INFO(shown(k));
    CHECK(sf[k] == tf[k]);
  }
  CHECK(source.debug_digest() == target.debug_digest());
}

// Round 1 of a compare run: source keys checked and target keys looked up,
// each counted once.
inline std::pair<int64_t, int64_t> round1_counts(const fs::path& store,
                                                 const migcheck::RunRecord& run) {
  migcheck::Store s(store.string(), false);
  auto rounds = s.rounds(run.id);
  REQUIRE(!rounds.empty());
  auto tot = nlohmann::json::parse(run.totals_json);
  return {rounds.front().keys_checked, tot.value("target_keys_scanned", int64_t{-1})};
}

// Runs migcheck `args` with --store `store`, stops it with SIGINT once it
// is past its first checkpoint (written every 2 s) and returns checkpoint
// `name` of run 1.
inline nlohmann::json interrupt_past_checkpoint(std::vector<std::string> args,
                                                const fs::path& store, const std::string& name) {
  args.insert(args.end(), {"--store", store.string()});
  {
    t::Spawned proc(std::move(args), (store.parent_path() / "out").string(),
                    (store.parent_path() / "err").string());
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    proc.signal(SIGINT);
    REQUIRE(proc.wait(std::chrono::seconds(60)) == 2);
  }
  migcheck::Store s(store.string(), false);
  auto cp = s.checkpoint(1, name);
  REQUIRE(cp);
  return nlohmann::json::parse(*cp);
}

// Polls until migcheck has a connection to `s` (its clients are named
// migcheck...), so that a fault injected next hits a run under way.
inline void wait_for_migcheck(t::TestServer& s) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (s.cmd({"CLIENT", "LIST"}).find("name=migcheck") == std::string::npos) {
    REQUIRE(std::chrono::steady_clock::now() < until);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Once migcheck is connected to `s` (a kill before is a refusal to start),
// kills it with SIGKILL a moment into the run and restarts it (same port,
// same data) a moment later: a server lost mid-run, then back.
inline void kill9_mid_run(t::TestServer& s) {
  wait_for_migcheck(s);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  s.kill9();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  s.restart();
}

// Differences of every kind, spread over the keyspace of load().
inline void drift(t::TestServer& target) {
  target.pipeline({{"DEL", "s:17", "h:5005"},
                   {"SET", "s:12345", "changed"},
                   {"HSET", "h:100", "f", "changed"},
                   {"ZADD", "z:700", "9", "m"},
                   {"PEXPIRE", "s:19999", "3600000"},
                   {"SET", "extra:1", "x"},
                   {"DEL", "z:14"},
                   {"SET", "z:14", "now a string"}});
}

// A source and a durable target loaded alike, then drifted (drift()), with
// what a compare of them must find, by the servers' own digests: its
// differences and both sides' key counts, each key counted once.
struct Drifted {
  t::TestServer source;
  t::TestServer target{durable()};
  Kinds expected;
  int64_t source_keys = 0, target_keys = 0;

  Drifted() {
    load(source, 20000);
    load(target, 20000);
    drift(target);
    expected = oracle_differences(source, target);
    source_keys = std::stoll(source.cmd({"DBSIZE"}));
    target_keys = std::stoll(target.cmd({"DBSIZE"}));
  }

  // The last compare run of `store` found exactly that.
  migcheck::RunRecord check_compare(const fs::path& store) {
    const auto rec = last_run(store, "compare");
    CHECK(rec.status == "done");
    CHECK(differences_of(store, rec.id) == expected);
    CHECK(round1_counts(store, rec) == std::make_pair(source_keys, target_keys));
    return rec;
  }
};

// A target that refuses RESTORE (ACL or renamed away): `replicate` copies
// every key by type, exit 0, and a compare afterwards finds nothing.
inline void check_copied_by_type(t::TestServer& source, t::TestServer& target, const fs::path& dir,
                                 const std::vector<std::string>& target_auth,
                                 const std::vector<std::pair<std::string, std::string>>& env) {
  source.pipeline(mixed());
  const std::string store = (dir / "s.db").string();
  auto with_auth = [&](std::vector<std::string> args) {
    args.insert(args.end(), target_auth.begin(), target_auth.end());
    args.insert(args.end(), {"--store", store, "--quiet"});
    return run_migcheck(args, env);
  };
  auto r = with_auth({"replicate", source.uri(), target.uri()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto run = last_run(store, "replicate");
  CHECK(run.status == "done");
  auto tot = nlohmann::json::parse(run.totals_json);
  const auto keys = keys_of(source);
  CHECK(tot["copied"] == keys.size());
  CHECK(tot["restored"] == 0);
  CHECK(tot["failed"] == 0);
  CHECK(tot["chunked"] == 1);  // big:string
  CHECK(tot["fallbacks"] == keys.size() - 1);
  check_identical(source, target);
  auto c = with_auth({"compare", source.uri(), target.uri(), "--rounds", "1"});
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);

  // Repair goes the same way.
  target.pipeline(
      {{"DEL", "stream:1"}, {"HSET", "hash:1", "f1", "changed"}, {"SET", "big:string", "short"}});
  c = with_auth({"compare", source.uri(), target.uri(), "--rounds", "1"});
  CHECK(c.exit_code == 1);
  auto rep = with_auth({"repair", source.uri(), target.uri()});
  INFO(rep.out << rep.err);
  CHECK(rep.exit_code == 0);
  check_identical(source, target);
}

// migcheck in a child process, with its own peak RSS.
struct Measured {
  int exit_code = -1;
  long max_rss_kb = -1;
  std::string out, err;
};

inline Measured run_measured(std::vector<std::string> args, const fs::path& dir,
                             std::chrono::seconds timeout = std::chrono::seconds(60)) {
  const fs::path out = dir / "measured.out", err = dir / "measured.err";
  t::Spawned proc(std::move(args), out.string(), err.string());
  Measured m;
  m.exit_code = proc.wait(timeout);
  m.max_rss_kb = proc.max_rss_kb();
  m.out = slurp(out);
  m.err = slurp(err);
  return m;
}

}  // namespace migcheck::test::fault

template <>
struct Catch::StringMaker<migcheck::test::fault::KeyKind> {
  static std::string convert(const migcheck::test::fault::KeyKind& k) {
    return "(" + migcheck::printable_bytes(k.key) + ", " + k.kind + ")";
  }
};
