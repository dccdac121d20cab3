// Fault tolerance and hostile input, end to end: a target killed and
// restarted mid-compare and mid-replicate, source connections killed
// mid-run, foreign and newer store files, secrets that must never be
// written anywhere; targets that refuse writes (read-only replica, ACL
// without RESTORE or limited to a key pattern, RESTORE renamed away); key
// names no one should use, empty databases, expired keys not yet reclaimed,
// and values bigger than migcheck may hold in memory.
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
#include "fault_proxy.h"
#include "reports/encoding.h"
#include "reports/html_escape.h"
#include "server_fixture.h"
#include "store.h"

namespace t = migcheck::test;
namespace fs = std::filesystem;
using t::run_migcheck;
using namespace std::string_literals;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path p =
      fs::temp_directory_path() / ("migcheck-fault-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void load(t::TestServer& s, int n) {
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < n; ++i) {
    std::string k = std::to_string(i);
    cmds.push_back({"SET", "s:" + k, std::string(50, 'a' + i % 26)});
    if (i % 5 == 0) cmds.push_back({"HSET", "h:" + k, "f", k, "g", "x"});
    if (i % 7 == 0) cmds.push_back({"ZADD", "z:" + k, "1.25", "m", k, "n"});
  }
  s.pipeline(cmds);
}

// A target that keeps its data across kill -9 (AOF, fsync always).
t::ServerOptions durable() {
  return t::ServerOptions{.config = {{"appendonly", "yes"}, {"appendfsync", "always"}}};
}

using Cmds = std::vector<std::vector<std::string>>;
// (key bytes, difference kind). A struct, not a pair, so that Catch prints it.
struct KeyKind {
  std::string key, kind;
  auto operator<=>(const KeyKind&) const = default;
};
using Kinds = std::set<KeyKind>;

std::vector<std::string> keys_of(t::TestServer& s) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    auto r = s.reply({"SCAN", cursor, "COUNT", "1000"});
    REQUIRE(r.elements.size() == 2);
    cursor = r.elements[0].str;
    for (auto& k : r.elements[1].elements) keys.push_back(k.str);
  } while (cursor != "0");
  return keys;
}

// Key names in assertion messages: printable, and short.
std::string shown(const std::string& key) {
  std::string p = migcheck::printable_bytes(key);
  return p.size() > 80 ? p.substr(0, 80) + "...(" + std::to_string(key.size()) + " bytes)" : p;
}

migcheck::RunRecord last_run(const fs::path& store, const std::string& command) {
  migcheck::Store s(store.string(), false);
  auto run = s.latest_run(command);
  REQUIRE(run);
  return *run;
}

std::map<std::string, migcheck::Outcome> outcomes_of(const fs::path& store, int64_t run) {
  migcheck::Store s(store.string(), false);
  std::map<std::string, migcheck::Outcome> out;
  s.for_each_outcome(run, [&](const migcheck::Outcome& o) { out[o.key] = o; });
  return out;
}

Kinds differences_of(const fs::path& store, int64_t run) {
  migcheck::Store s(store.string(), false);
  Kinds out;
  s.for_each_difference(run, {}, [&](const migcheck::Difference& d) {
    out.insert({d.key, d.kind});
  });
  return out;
}

// Every type: binary names and values, TTLs, intsets, a stream with groups,
// consumers and a PEL, and one value big enough to be copied in chunks.
Cmds mixed() {
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
      {"XADD", "stream:1", "1-1", "f", "v1"},
      {"XADD", "stream:1", "2-1", "f", "v2"},
      {"XADD", "stream:1", "3-1", "f", "v3"},
      {"XDEL", "stream:1", "2-1"},
      {"XGROUP", "CREATE", "stream:1", "g1", "0"},
      {"XREADGROUP", "GROUP", "g1", "alice", "COUNT", "1", "STREAMS", "stream:1", ">"},
      {"XGROUP", "CREATECONSUMER", "stream:1", "g1", "bob"},
      {"SET", "big:string", std::string(3 << 20, 'b') + "end"},
  };
  for (int i = 0; i < 300; ++i)
    c.push_back({"SET", "plain:" + std::to_string(i), std::to_string(i)});
  return c;
}

// Polls until `replica` has finished its sync with its primary.
void wait_replica_up(t::TestServer& replica) {
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
std::map<std::string, KeyFacts> facts_of(t::TestServer& s, const std::vector<std::string>& keys) {
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
Kinds oracle_differences(t::TestServer& source, t::TestServer& target) {
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
void check_identical(t::TestServer& source, t::TestServer& target) {
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
std::pair<int64_t, int64_t> round1_counts(const fs::path& store, const migcheck::RunRecord& run) {
  migcheck::Store s(store.string(), false);
  auto rounds = s.rounds(run.id);
  REQUIRE(!rounds.empty());
  auto tot = nlohmann::json::parse(run.totals_json);
  return {rounds.front().keys_checked, tot.value("target_keys_scanned", int64_t{-1})};
}

// Runs migcheck `args` with --store `store`, stops it with SIGINT once it
// is past its first checkpoint (written every 2 s) and returns checkpoint
// `name` of run 1.
nlohmann::json interrupt_past_checkpoint(std::vector<std::string> args, const fs::path& store,
                                         const std::string& name) {
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
void wait_for_migcheck(t::TestServer& s) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (s.cmd({"CLIENT", "LIST"}).find("name=migcheck") == std::string::npos) {
    REQUIRE(std::chrono::steady_clock::now() < until);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Differences of every kind, spread over the keyspace of load().
void drift(t::TestServer& target) {
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
void check_copied_by_type(t::TestServer& source, t::TestServer& target, const fs::path& dir,
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

Measured run_measured(std::vector<std::string> args, const fs::path& dir,
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

}  // namespace

template <>
struct Catch::StringMaker<KeyKind> {
  static std::string convert(const KeyKind& k) {
    return "(" + migcheck::printable_bytes(k.key) + ", " + k.kind + ")";
  }
};

TEST_CASE("fault: target killed and restarted mid-compare gives the undisturbed result",
          "[integration][fault]") {
  Drifted d;
  REQUIRE(d.expected.size() == 8);
  const fs::path store = temp_dir("compare-kill") / "s.db";
  // Slow enough (--max-ops-per-sec) that the kill lands mid-run.
  auto run = std::async(std::launch::async, [&] {
    return run_migcheck({"compare", d.source.uri(), d.target.uri(), "--store", store.string(),
                         "--rounds", "1", "--max-ops-per-sec", "40000", "--retry-for", "20s",
                         "--quiet"});
  });
  wait_for_migcheck(d.target);  // a kill before it connects is a refusal to start
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  d.target.kill9();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  d.target.restart();
  auto r = run.get();
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("reconnecting") != std::string::npos);  // the kill did land mid-run
  // A restarted server has new SCAN cursors (and maybe lost writes): the
  // compare noticed it and started over, so nothing is skipped or doubled.
  CHECK(r.err.find("its run_id changed") != std::string::npos);
  CHECK(r.err.find("the compare starts over at round 1") != std::string::npos);
  const auto rec = d.check_compare(store);
  CHECK(nlohmann::json::parse(rec.totals_json)["starts_over"] == 1);
}

TEST_CASE("fault: a compare resumed after the target restarted starts over, exactly",
          "[integration][fault][resume]") {
  Drifted d;
  auto dir = temp_dir("resume-restart");
  const fs::path store = dir / "s.db";
  const auto cp = interrupt_past_checkpoint({"compare", d.source.uri(), d.target.uri(), "--rounds",
                                             "1", "--max-ops-per-sec", "20000", "--quiet"},
                                            store, "compare");
  REQUIRE(cp.value("keys_checked", int64_t{0}) > 0);  // stopped mid-way through round 1
  REQUIRE(cp["run_ids"].size() == 2);
  d.target.stop();  // SHUTDOWN: the AOF is complete; a new process, a new hash seed
  d.target.restart();
  auto r = run_migcheck(
      {"compare", "--resume", "1", d.source.uri(), d.target.uri(), "--store", store.string()});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("the compare starts over at round 1") != std::string::npos);
  d.check_compare(store);
}

TEST_CASE("fault: connections killed mid-compare change nothing", "[integration][fault]") {
  Drifted d;
  const fs::path store = temp_dir("client-kill") / "s.db";
  auto run = std::async(std::launch::async, [&] {
    return run_migcheck({"compare", d.source.uri(), d.target.uri(), "--store", store.string(),
                         "--rounds", "1", "--max-ops-per-sec", "40000", "--quiet"});
  });
  wait_for_migcheck(d.target);
  int killed = 0;
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    // Every client but this one: migcheck's readers, scanners and its
    // connections for the target scan, on both sides.
    killed += std::stoi(d.source.cmd({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}));
    killed += std::stoi(d.target.cmd({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}));
  }
  auto r = run.get();
  INFO(r.err);
  CHECK(killed > 0);
  CHECK(r.exit_code == 1);
  // Reconnected to the same server processes: nothing to start over.
  CHECK(nlohmann::json::parse(d.check_compare(store).totals_json)["starts_over"] == 0);
}

TEST_CASE("fault: target killed and restarted mid-replicate still converges",
          "[integration][fault]") {
  t::TestServer source;
  t::TestServer target(durable());
  load(source, 20000);
  source.pipeline(mixed());  // every type, binary names, a big value in chunks
  auto dir = temp_dir("replicate-kill");
  auto run = std::async(std::launch::async, [&] {
    return run_migcheck({"replicate", source.uri(), target.uri(), "--store",
                         (dir / "s.db").string(), "--max-ops-per-sec", "40000", "--retry-for",
                         "20s", "--quiet"});
  });
  wait_for_migcheck(target);  // a kill before it connects is a refusal to start
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  target.kill9();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  target.restart();
  auto r = run.get();
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("reconnecting") != std::string::npos);
  // Writes acknowledged before the kill may be lost (appendfsync always
  // keeps them here, but no tool can count on it): the pass started over.
  CHECK(r.err.find("the pass starts over from the beginning") != std::string::npos);
  auto tot = nlohmann::json::parse(last_run(dir / "s.db", "replicate").totals_json);
  CHECK(tot["starts_over"] == 1);
  CHECK(tot["copied"] == keys_of(source).size());  // each key counted once
  CHECK(tot["keys_scanned"] == keys_of(source).size());
  CHECK(tot["failed"] == 0);
  check_identical(source, target);
}

TEST_CASE("fault: a store that is not ours is refused and left untouched", "[integration][fault]") {
  t::TestServer a, b;
  auto dir = temp_dir("store");
  fs::path junk = dir / "junk.db";
  std::ofstream(junk, std::ios::binary)
      << "this is not an SQLite file\n"s + std::string(5000, '\x07');
  const std::string before = slurp(junk);
  auto r = run_migcheck({"compare", a.uri(), b.uri(), "--store", junk.string(), "--quiet"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("is not a migcheck store") != std::string::npos);
  CHECK(slurp(junk) == before);
  for (const char* cmd : {"diffs", "report"}) {
    auto d = run_migcheck({cmd, "--store", junk.string()});
    CHECK(d.exit_code == 2);
    CHECK(slurp(junk) == before);
  }
  auto missing = run_migcheck({"diffs", "--store", (dir / "nope.db").string()});
  CHECK(missing.exit_code == 2);
  CHECK_FALSE(fs::exists(dir / "nope.db"));
  auto unwritable =
      run_migcheck({"compare", a.uri(), b.uri(), "--store", "/proc/migcheck.db", "--quiet"});
  CHECK(unwritable.exit_code == 2);
  CHECK(std::count(unwritable.err.begin(), unwritable.err.end(), '\n') == 1);
}

TEST_CASE("fault: passwords never reach output, store, reports or the process title",
          "[integration][fault]") {
  const std::string secret = "Zq9-very-secret-pw";
  t::TestServer source(t::ServerOptions{.password = secret});
  t::TestServer target(t::ServerOptions{.acl_users = {"mover on >" + secret + " ~* +@all"}});
  load(source, 300);
  load(target, 300);
  target.cmd({"DEL", "s:3"});
  auto dir = temp_dir("secrets");
  const std::string store = (dir / "s.db").string();
  std::string src = "redis://:" + secret + "@127.0.0.1:" + std::to_string(source.port());
  std::string dst = "redis://127.0.0.1:" + std::to_string(target.port());

  // While compare runs, its /proc/PID/cmdline must not show the password.
  std::string cmdline_seen;
  auto run = std::async(std::launch::async, [&] {
    return run_migcheck({"compare", src, dst, "--target-user", "mover", "--target-pass", secret,
                         "--store", store, "--rounds", "3", "--interval", "700ms"});
  });
  for (int i = 0; i < 40 && cmdline_seen.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (auto& e : fs::directory_iterator("/proc")) {
      std::string c = slurp(e.path() / "cmdline");
      if (c.find("compare") != std::string::npos && c.find(store) != std::string::npos)
        cmdline_seen = c;
    }
  }
  auto r = run.get();
  INFO(r.err);
  REQUIRE(r.exit_code == 1);
  CHECK_FALSE(cmdline_seen.empty());
  CHECK(cmdline_seen.find(secret) == std::string::npos);

  std::string everything = r.out + r.err;
  auto repair = run_migcheck({"repair", src, dst, "--target-user", "mover", "--store", store},
                             {{"MIGCHECK_TARGET_PASS", secret}});
  everything += repair.out + repair.err;
  auto bad = run_migcheck(
      {"compare", "redis://:wrong-" + secret + "@127.0.0.1:" + std::to_string(source.port()), dst,
       "--store", store});
  CHECK(bad.exit_code == 2);
  everything += bad.out + bad.err;
  auto rep = run_migcheck({"report", "--store", store, "--out", dir.string()});
  everything += rep.out + rep.err;
  auto diffs = run_migcheck({"diffs", "--store", store, "--format", "jsonl"});
  everything += diffs.out + diffs.err;
  // Debug logging, a copy with its verifying compare, info, and URIs that
  // are refused: none of them says the password either.
  auto rep2 = run_migcheck(
      {"replicate", src, dst, "--target-user", "mover", "--store", store, "--verify", "--verbose"},
      {{"MIGCHECK_TARGET_PASS", secret}});
  CHECK(rep2.exit_code == 0);
  everything += rep2.out + rep2.err;
  auto info = run_migcheck({"info", src, "--json", "--verbose"});
  CHECK(info.exit_code == 0);
  everything += info.out + info.err;
  for (const std::string& uri :
       {"redis://:" + secret + "@127.0.0.1:99999", "redis://:" + secret + "@[::1",
        "redis://user:" + secret + "@127.0.0.1:" + std::to_string(source.port()) + "/x",
        "rediss://:" + secret + "@127.0.0.1:" + std::to_string(source.port())}) {
    auto refused = run_migcheck({"compare", uri, dst, "--store", store, "--connect-timeout", "1s"});
    CHECK(refused.exit_code == 2);
    everything += refused.out + refused.err;
  }
  // A command line that does not parse is quoted back: without the password.
  auto extra = run_migcheck({"compare", src, dst, src, "--target-pass=" + secret});
  CHECK(extra.exit_code == 2);
  CHECK(extra.err.find("not expected") != std::string::npos);
  everything += extra.out + extra.err;
  for (auto& e : fs::directory_iterator(dir)) everything += slurp(e.path());
  CHECK(everything.find(secret) == std::string::npos);
}

// ---------------------------------------------------------------------------
// Targets that refuse writes.

TEST_CASE(
    "fault: a target that is a read-only replica: per-key READONLY outcomes, the run completes, "
    "exit 1",
    "[integration][fault]") {
  t::TestServer source, target;
  t::TestServer primary(t::ServerOptions{.config = {{"repl-diskless-sync-delay", "0"}}});
  Cmds load;
  for (int i = 0; i < 200; ++i) {
    const std::string n = std::to_string(i);
    load.push_back({"SET", "ro:" + n, "v" + n});
    if (i % 10 == 0) load.push_back({"HSET", "roh:" + n, "f", n});
  }
  load.push_back({"SET", "ro:big", std::string(3 << 20, 'b')});  // copied in chunks: a temp key
  source.pipeline(load);
  primary.pipeline({{"SET", "ro:0", "stale"}, {"SET", "only-target", "x"}});
  target.cmd({"REPLICAOF", "127.0.0.1", std::to_string(primary.port())});
  wait_replica_up(target);
  REQUIRE(target.cmd({"GET", "ro:0"}) == "stale");
  const auto keys = keys_of(source);
  REQUIRE(keys.size() == 221);
  const fs::path store = temp_dir("readonly") / "s.db";

  for (bool structural : {false, true}) {
    INFO("--struct " << structural);
    std::vector<std::string> args = {"replicate", source.uri(),   target.uri(),
                                     "--store",   store.string(), "--quiet"};
    if (structural) args.push_back("--struct");
    auto r = run_migcheck(args);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    auto run = last_run(store, "replicate");
    CHECK(run.status == "done");
    CHECK(run.exit_code == 1);
    auto tot = nlohmann::json::parse(run.totals_json);
    CHECK(tot["failed"] == keys.size());
    CHECK(tot["copied"] == 0);
    CHECK(tot["interrupted"] == false);
    auto o = outcomes_of(store, run.id);
    CHECK(o.size() == keys.size());
    for (const auto& k : keys) {
      INFO(k);
      REQUIRE(o.count(k) == 1);
      CHECK(o[k].outcome == "failed");
      CHECK(o[k].error.starts_with("READONLY"));
    }
  }
  CHECK(target.cmd({"DBSIZE"}) == "2");  // no temporary key left, nothing written

  // repair after a compare: the same, for copies and deletes alike.
  auto c = run_migcheck({"compare", source.uri(), target.uri(), "--store", store.string(),
                         "--rounds", "1", "--quiet"});
  INFO(c.err);
  REQUIRE(c.exit_code == 1);
  auto r = run_migcheck(
      {"repair", source.uri(), target.uri(), "--store", store.string(), "--delete-extra"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("READONLY") != std::string::npos);
  auto run = last_run(store, "repair");
  CHECK(run.status == "done");
  CHECK(run.exit_code == 1);
  auto o = outcomes_of(store, run.id);
  CHECK(o.size() == keys.size() + 1);
  for (const auto& [k, v] : o) {
    INFO(k << ": " << v.action << " " << v.outcome);
    CHECK(v.outcome == "failed");
    CHECK(v.error.starts_with("READONLY"));
  }
  CHECK(o["only-target"].action == "delete");
  CHECK(nlohmann::json::parse(run.totals_json)["failed"] == keys.size() + 1);
  CHECK(target.cmd({"DBSIZE"}) == "2");
}

TEST_CASE("fault: an ACL user that may not RESTORE: every key is written by type, exactly",
          "[integration][fault]") {
  t::TestServer source;
  t::TestServer target(t::ServerOptions{.acl_users = {"mover on >mover-pw ~* +@all -restore"}});
  check_copied_by_type(source, target, temp_dir("acl-restore"), {"--target-user", "mover"},
                       {{"MIGCHECK_TARGET_PASS", "mover-pw"}});
}

TEST_CASE("fault: a target with RESTORE renamed away: every key is written by type, exactly",
          "[integration][fault]") {
  t::TestServer source;
  t::TestServer target(t::ServerOptions{.rename_away = {"RESTORE"}});
  check_copied_by_type(source, target, temp_dir("renamed"), {}, {});
}

TEST_CASE(
    "fault: an ACL user limited to a key pattern: keys outside fail with NOPERM, the rest is "
    "copied",
    "[integration][fault]") {
  t::TestServer source;
  t::TestServer target(t::ServerOptions{.acl_users = {"mover on >mover-pw ~allowed:* +@all"}});
  Cmds load;
  std::vector<std::string> allowed, denied;
  for (int i = 0; i < 100; ++i) {
    allowed.push_back("allowed:" + std::to_string(i));
    load.push_back({"SET", allowed.back(), std::to_string(i)});
    if (i % 10 == 0) {
      allowed.push_back("allowed:z" + std::to_string(i));
      load.push_back({"ZADD", allowed.back(), "1.5", "a", std::to_string(i), "b"});
    }
  }
  for (int i = 0; i < 40; ++i) {
    denied.push_back("other:" + std::to_string(i));
    load.push_back({"HSET", denied.back(), "f", std::to_string(i)});
  }
  denied.push_back("big:denied");
  load.push_back({"SET", "big:denied", std::string(3 << 20, 'd')});  // in chunks
  // A big value is built in a temporary key "{allowed:big}migcheck:tmp:..."
  // that the pattern does not cover: see the end of the test.
  load.push_back({"RPUSH", "allowed:big", std::string(600000, 'x'), std::string(600000, 'y')});
  source.pipeline(load);
  const fs::path store = temp_dir("acl-pattern") / "s.db";
  auto r = run_migcheck({"replicate", source.uri(), target.uri(), "--target-user", "mover",
                         "--store", store.string(), "--quiet"},
                        {{"MIGCHECK_TARGET_PASS", "mover-pw"}});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  auto run = last_run(store, "replicate");
  CHECK(run.status == "done");
  CHECK(run.exit_code == 1);
  auto o = outcomes_of(store, run.id);
  for (const auto& k : denied) {
    INFO(k);
    REQUIRE(o.count(k) == 1);
    CHECK(o[k].outcome == "failed");
    CHECK(o[k].error.starts_with("NOPERM"));
    CHECK(target.cmd({"EXISTS", k}) == "0");
  }
  for (const auto& k : allowed) {
    INFO(k);
    CHECK(o.count(k) == 0);
    CHECK(source.debug_digest_value(k) == target.debug_digest_value(k));
  }
  // allowed:big: copied, or (as now) a failure that says why; never silent.
  const bool big_copied = o.count("allowed:big") == 0;
  if (big_copied) {
    CHECK(source.debug_digest_value("allowed:big") == target.debug_digest_value("allowed:big"));
  } else {
    CHECK(o["allowed:big"].outcome == "failed");
    CHECK(o["allowed:big"].error.starts_with("NOPERM"));
  }
  auto tot = nlohmann::json::parse(run.totals_json);
  CHECK(tot["copied"] == allowed.size() + (big_copied ? 1 : 0));
  CHECK(tot["failed"] == denied.size() + (big_copied ? 0 : 1));
  CHECK(o.size() == denied.size() + (big_copied ? 0 : 1));
  // No temporary key left behind.
  CHECK(target.cmd({"DBSIZE"}) == std::to_string(allowed.size() + (big_copied ? 1 : 0)));
}

// ---------------------------------------------------------------------------
// Hostile and odd input.

TEST_CASE("fault: hostile key names: exact differences, copied, escaped in the reports",
          "[integration][fault]") {
  t::TestServer source, target;
  const std::string nul = "nul\0in\0side"s, lf = "line\nfeed", cr = "carriage\rreturn",
                    resp = "*3\r\n$3\r\nDEL\r\n$1\r\nx\r\n", bad = "bad\xc3\x28utf8\xff"s,
                    empty = "", html = "<b>\"quoted\" & 'single'</b>",
                    ctl = "bell\x07tab\tdel\x7f esc\x1b[2J",
                    long_missing = std::string(10 * 1024, 'L') + "\xfe\0end"s,
                    long_same = std::string(10 * 1024, 'M'), extra = "extra\0\r\n\xff"s;
  Cmds common = {{"SADD", bad, "a", "b\0"s},  // identical on both sides
                 {"SET", long_same, "same"},
                 {"SET", ctl, "same"}};
  for (int i = 0; i < 50; ++i) common.push_back({"SET", "plain:" + std::to_string(i), "v"});
  source.pipeline(common);
  target.pipeline(common);
  source.pipeline({{"SET", nul, "v"},  // missing
                   {"HSET", lf, "f", "source"},
                   {"SET", cr, "v", "PX", "600000"},
                   {"RPUSH", resp, "a", "b"},
                   {"SET", empty, "empty name"},
                   {"ZADD", long_missing, "1", "m"},
                   {"XADD", html, "1-1", "f", "v"}});
  target.pipeline({{"HSET", lf, "f", "target"},  // value
                   {"SET", cr, "v"},             // ttl
                   {"SET", resp, "not a list"},  // type
                   {"SET", empty, "other"},      // value
                   {"SET", extra, "x"}});        // extra
  const Kinds expected = {{nul, "missing"},  {lf, "value"},    {cr, "ttl"},
                          {resp, "type"},    {empty, "value"}, {long_missing, "missing"},
                          {html, "missing"}, {extra, "extra"}};
  const fs::path dir = temp_dir("hostile");
  const std::string store = (dir / "s.db").string();

  auto c = run_migcheck(
      {"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"});
  INFO(c.out << c.err);
  REQUIRE(c.exit_code == 1);
  const auto compare_run = last_run(store, "compare");
  CHECK(differences_of(store, compare_run.id) == expected);

  // JSON: every key, byte for byte (text, or base64 when not UTF-8).
  auto j = run_migcheck({"report", "--store", store, "--format", "json", "--out", "-"});
  INFO(j.err);
  CHECK(j.exit_code == 1);
  CHECK(migcheck::is_valid_utf8(j.out));
  CHECK(j.out.find('\0') == std::string::npos);
  CHECK(j.out.find('\r') == std::string::npos);
  auto report = nlohmann::json::parse(j.out);
  Kinds in_json;
  for (const auto& item : report["samples"]["items"]) {
    std::string key;
    if (item.contains("key")) {
      key = item["key"].get<std::string>();
    } else {
      auto decoded = migcheck::base64_decode(item["key_base64"].get<std::string>());
      REQUIRE(decoded);
      key = *decoded;
    }
    in_json.insert({key, item["kind"].get<std::string>()});
  }
  CHECK(in_json == expected);

  // HTML: the keys as escaped text only, the page valid UTF-8.
  const fs::path page = dir / "r.html";
  auto h = run_migcheck({"report", "--store", store, "--format", "html", "--out", page.string()});
  INFO(h.err);
  CHECK(h.exit_code == 1);
  const std::string text = slurp(page);
  CHECK(migcheck::is_valid_utf8(text));
  for (char ch : {'\0', '\r', '\x07', '\x1b', '\x7f'}) {
    INFO("byte " << static_cast<int>(ch));
    CHECK(text.find(ch) == std::string::npos);
  }
  for (const auto& [k, kind] : expected) {
    INFO(shown(k));
    if (!k.empty()) CHECK(text.find(k) == std::string::npos);
    CHECK(text.find(migcheck::html_bytes(k)) != std::string::npos);
  }
  CHECK(text.find("<b>") == std::string::npos);

  // replicate copies them all; only the extra key is left to tell apart.
  auto r = run_migcheck({"replicate", source.uri(), target.uri(), "--store", store, "--quiet"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto rep = nlohmann::json::parse(last_run(store, "replicate").totals_json);
  CHECK(rep["copied"] == keys_of(source).size());
  target.cmd({"DEL", extra});
  check_identical(source, target);
  c = run_migcheck(
      {"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"});
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
}

TEST_CASE("fault: an empty source and an empty target", "[integration][fault]") {
  t::TestServer source, target;
  const fs::path dir = temp_dir("empty");
  const std::string store = (dir / "s.db").string();
  auto c = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--quiet"});
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
  auto run = last_run(store, "compare");
  CHECK(run.status == "done");
  CHECK(differences_of(store, run.id).empty());
  auto r = run_migcheck(
      {"replicate", source.uri(), target.uri(), "--store", store, "--verify", "--quiet"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto tot = nlohmann::json::parse(last_run(store, "replicate").totals_json);
  CHECK(tot["keys_scanned"] == 0);
  CHECK(tot["copied"] == 0);
  CHECK(tot["failed"] == 0);
  CHECK(target.cmd({"DBSIZE"}) == "0");
}

TEST_CASE("fault: 100k keys expired but not reclaimed are neither differences nor copied",
          "[integration][fault]") {
  t::TestServer source, target;
  const fs::path dir = temp_dir("expired");
  const std::string store = (dir / "s.db").string();
  // With active expiry off, expired keys stay until something touches them.
  auto plant = [&] {
    source.cmd({"DEBUG", "SET-ACTIVE-EXPIRE", "0"});
    Cmds load;
    for (int i = 0; i < 100000; ++i)
      load.push_back({"SET", "gone:" + std::to_string(i), "v", "PX", "1"});
    source.pipeline(load);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(source.cmd({"DBSIZE"}) == "100000");
  };
  const auto t0 = std::chrono::steady_clock::now();
  plant();
  auto c = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--quiet"});
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
  auto run = last_run(store, "compare");
  CHECK(differences_of(store, run.id).empty());

  plant();
  auto r = run_migcheck({"replicate", source.uri(), target.uri(), "--store", store, "--quiet"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto tot = nlohmann::json::parse(last_run(store, "replicate").totals_json);
  CHECK(tot["copied"] == 0);
  CHECK(tot["failed"] == 0);
  CHECK(target.cmd({"DBSIZE"}) == "0");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
}

TEST_CASE(
    "fault: a 64 MB string and a 1M-element list are copied and compared exactly, in bounded "
    "memory",
    "[integration][fault]") {
  t::TestServer source, target;
  const fs::path dir = temp_dir("big");
  const std::string store = (dir / "s.db").string();
  constexpr long kStringBytes = 64L << 20;
  // Random bytes: a payload LZF cannot shrink, as real data often is.
  std::string value(kStringBytes, '\0');
  std::mt19937_64 rng(42);
  for (size_t i = 0; i + 8 <= value.size(); i += 8) {
    const uint64_t v = rng();
    std::memcpy(value.data() + i, &v, 8);
  }
  source.pipeline({{"SET", "big:string", value}});
  value = {};
  for (int i = 0; i < 1000000; i += 10000) {
    std::vector<std::string> cmd = {"RPUSH", "big:list"};
    for (int j = i; j < i + 10000; ++j) cmd.push_back(std::to_string(j));
    source.pipeline({cmd});
  }
  source.pipeline({{"PEXPIRE", "big:list", "3600000"}, {"SET", "small", "v"}});
  REQUIRE(source.cmd({"LLEN", "big:list"}) == "1000000");

  auto r =
      run_measured({"replicate", source.uri(), target.uri(), "--store", store, "--quiet"}, dir);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto tot = nlohmann::json::parse(last_run(store, "replicate").totals_json);
  CHECK(tot["copied"] == 3);
  CHECK(tot["chunked"] == 2);
  for (const char* k : {"big:string", "big:list", "small"}) {
    INFO(k);
    CHECK(source.debug_digest_value(k) == target.debug_digest_value(k));
  }
  CHECK(std::llabs(std::stoll(source.cmd({"PEXPIRETIME", "big:list"})) -
                   std::stoll(target.cmd({"PEXPIRETIME", "big:list"}))) <= 2);
  CHECK(target.cmd({"DBSIZE"}) == "3");  // no temporary key left

  auto c = run_measured(
      {"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"}, dir);
  INFO(c.out << c.err);
  CHECK(c.exit_code == 0);
  // Neither command held a whole value: their peak RSS stays far below 64 MB.
  INFO("peak RSS replicate " << r.max_rss_kb << " KiB, compare " << c.max_rss_kb << " KiB");
  CHECK(r.max_rss_kb > 0);
  CHECK(r.max_rss_kb < kStringBytes / 1024 / 2);
  CHECK(c.max_rss_kb > 0);
  CHECK(c.max_rss_kb < kStringBytes / 1024 / 2);

  // One changed byte in the middle of the string is found.
  source.cmd({"SETRANGE", "big:string", std::to_string(kStringBytes / 2), "X"});
  c = run_measured(
      {"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"}, dir);
  CHECK(c.exit_code == 1);
  CHECK(differences_of(store, last_run(store, "compare").id) == Kinds{{"big:string", "value"}});
}

TEST_CASE("fault: target connections cut after a write was applied: every key copied exactly once",
          "[integration][fault]") {
  t::TestServer source, target;
  t::FaultProxy proxy(target.port());
  Cmds load = mixed();
  std::vector<std::string> big_list{"RPUSH", "big:list"};
  for (int i = 0; i < 5000; ++i) big_list.push_back("element-" + std::to_string(i));
  load.push_back(big_list);
  for (int i = 0; i < 40; ++i)
    load.push_back({"RPUSH", "list:" + std::to_string(i), "x", "y", std::to_string(i)});
  source.pipeline(load);
  const fs::path dir = temp_dir("cut");
  const std::string store = (dir / "s.db").string();
  // Each trigger is a write that sending twice would corrupt (RPUSH, APPEND,
  // XADD) or that must be redone whole (RESTORE, RENAME).
  // Pass::Chunk applies a pipeline in part, Pass::All whole, replies lost.
  struct Case {
    std::string trigger;
    bool structural;
    t::FaultProxy::Pass pass;
  };
  using P = t::FaultProxy::Pass;
  for (const Case& c :
       {Case{"RPUSH", true, P::Chunk}, Case{"RPUSH", true, P::All}, Case{"APPEND", false, P::Chunk},
        Case{"APPEND", false, P::All}, Case{"XADD", true, P::Chunk}, Case{"XADD", true, P::All},
        Case{"RESTORE", false, P::Chunk}, Case{"RESTORE", false, P::All},
        Case{"RENAME", true, P::Chunk}, Case{"RENAME", true, P::All}}) {
    INFO("cut after " << c.trigger << (c.structural ? " (--struct)" : "")
                      << (c.pass == P::All ? ", all of the pipeline applied" : ", part of it"));
    target.cmd({"FLUSHALL"});
    const int cuts_before = proxy.cuts();
    proxy.cut_after(c.trigger, 2, c.pass);
    std::vector<std::string> args = {"replicate", source.uri(), proxy.uri(),
                                     "--store",   store,        "--quiet"};
    if (c.structural) args.push_back("--struct");
    auto r = run_migcheck(args);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(proxy.cuts() - cuts_before == 2);
    auto tot = nlohmann::json::parse(last_run(store, "replicate").totals_json);
    CHECK(tot["copied"] == keys_of(source).size());
    CHECK(tot["failed"] == 0);
    check_identical(source, target);
    CHECK(target.cmd({"DBSIZE"}) == std::to_string(keys_of(source).size()));  // no temporary key
  }

  // Reads are sent again: a compare through cut connections is exact.
  target.cmd({"DEL", "list:7"});
  proxy.cut_after("TYPE", 3);
  auto c = run_migcheck(
      {"compare", proxy.uri(), source.uri(), "--store", store, "--rounds", "1", "--quiet"});
  INFO(c.out << c.err);
  CHECK(c.exit_code == 1);
  CHECK(differences_of(store, last_run(store, "compare").id) == Kinds{{"list:7", "extra"}});
}

TEST_CASE("fault: a replicate resumed after the source restarted starts the pass over, exactly",
          "[integration][fault][resume]") {
  t::TestServer source(durable());
  t::TestServer target;
  load(source, 20000);
  auto dir = temp_dir("replicate-resume-restart");
  const fs::path store = dir / "s.db";
  const auto cp = interrupt_past_checkpoint(
      {"replicate", source.uri(), target.uri(), "--max-ops-per-sec", "10000", "--quiet"}, store,
      "replicate");
  REQUIRE(cp.value("keys_scanned", int64_t{0}) > 0);
  REQUIRE(cp["run_ids"].size() == 2);
  source.stop();
  source.restart();  // the same keys, in a new process: its SCAN cursors mean other buckets
  auto r = run_migcheck(
      {"replicate", "--resume", "1", source.uri(), target.uri(), "--store", store.string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("the pass starts over from the beginning") != std::string::npos);
  auto tot = nlohmann::json::parse(last_run(store, "replicate").totals_json);
  CHECK(tot["starts_over"] == 1);
  CHECK(tot["copied"] == keys_of(source).size());
  CHECK(tot["keys_scanned"] == keys_of(source).size());
  check_identical(source, target);
}

TEST_CASE("fault: a full disk under the store: one line, exit 2, the store intact and resumable",
          "[integration][fault]") {
  const fs::path dir = temp_dir("full-disk");
  const fs::path tiny = dir / "tiny";
  fs::create_directories(tiny);
  // A real file system that fills up: a 256 KiB tmpfs (root only).
  if (::mount("tmpfs", tiny.c_str(), "tmpfs", 0, "size=256k") != 0)
    SKIP("cannot mount a tmpfs here (" << std::strerror(errno) << ")");
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{tiny};
  t::TestServer source, target;
  Cmds load;
  for (int i = 0; i < 6000; ++i)
    load.push_back({"SET", "missing:" + std::to_string(i) + std::string(40, 'k'), "v"});
  source.pipeline(load);
  const fs::path store = tiny / "s.db";
  auto r = run_migcheck({"compare", source.uri(), target.uri(), "--store", store.string(),
                         "--rounds", "1", "--quiet"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("error: cannot write store " + store.string() +
                   ": database or disk is full\n") != std::string::npos);
  CHECK(r.err.find("internal error") == std::string::npos);
  {
    migcheck::Store s(store.string(), false);
    auto run = s.run(1);
    REQUIRE(run);
    CHECK(run->status == "failed");
    // Every row stored is whole: none half-written or moved-from.
    s.for_each_difference(1, {}, [](const migcheck::Difference& d) {
      CHECK(d.kind == "missing");
      CHECK(d.key.starts_with("missing:"));
    });
  }
  // Moved to a disk with room, it resumes and ends as a run on a roomy disk would.
  for (const char* suffix : {"", "-wal"})
    if (fs::exists(store.string() + suffix))
      fs::copy_file(store.string() + suffix, (dir / "s.db").string() + suffix);
  auto resumed = run_migcheck({"compare", "--resume", "1", source.uri(), target.uri(), "--store",
                               (dir / "s.db").string(), "--quiet"});
  INFO(resumed.err);
  CHECK(resumed.exit_code == 1);
  Kinds expected;
  for (const auto& k : keys_of(source)) expected.insert({k, "missing"});
  CHECK(differences_of(dir / "s.db", 1) == expected);
}

TEST_CASE("fault: target killed and restarted mid-repair: every difference repaired again, once",
          "[integration][fault]") {
  t::TestServer source;
  t::TestServer target(durable());
  load(source, 20000);
  load(target, 20000);
  Cmds changed;
  for (int i = 0; i < 20000; i += 3) changed.push_back({"SET", "s:" + std::to_string(i), "old"});
  target.pipeline(changed);
  auto dir = temp_dir("repair-kill");
  const std::string store = (dir / "s.db").string();
  auto c = run_migcheck(
      {"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"});
  REQUIRE(c.exit_code == 1);
  auto run = std::async(std::launch::async, [&] {
    return run_migcheck({"repair", source.uri(), target.uri(), "--store", store,
                         "--max-ops-per-sec", "8000", "--retry-for", "20s", "--quiet"});
  });
  wait_for_migcheck(target);  // a kill before it connects is a refusal to start
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  target.kill9();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  target.restart();
  auto r = run.get();
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("every selected difference is repaired again") != std::string::npos);
  auto tot = nlohmann::json::parse(last_run(store, "repair").totals_json);
  CHECK(tot["starts_over"] == 1);
  CHECK(tot["selected"] == changed.size());
  CHECK(tot["repaired"] == changed.size());
  CHECK(tot["failed"] == 0);
  check_identical(source, target);
}

TEST_CASE("fault: a target that fills up mid-replicate: OOM per key, the run completes, exit 1",
          "[integration][fault]") {
  t::TestServer source;
  t::TestServer target(t::ServerOptions{.maxmemory = "4mb"});
  Cmds load;
  for (int i = 0; i < 6000; ++i)
    load.push_back({"SET", "k:" + std::to_string(i), std::string(1000, 'a' + i % 26)});
  load.push_back({"SET", "big:string", std::string(3 << 20, 'b')});  // in chunks
  source.pipeline(load);
  const fs::path store = temp_dir("oom") / "s.db";
  auto r = run_migcheck({"replicate", source.uri(), target.uri(), "--store", store.string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("OOM command not allowed") != std::string::npos);  // in the summary
  const auto run = last_run(store, "replicate");
  CHECK(run.status == "done");
  auto tot = nlohmann::json::parse(run.totals_json);
  const int64_t copied = tot["copied"], failed = tot["failed"];
  CHECK(copied > 0);
  CHECK(failed > 0);
  CHECK(copied + failed == static_cast<int64_t>(load.size()));
  auto o = outcomes_of(store, run.id);
  CHECK(static_cast<int64_t>(o.size()) == failed);
  for (const auto& [k, v] : o) {
    INFO(shown(k));
    CHECK(v.outcome == "failed");
    CHECK(v.error.starts_with("OOM command not allowed"));
  }
  // Every key copied is whole, and no temporary key is left behind.
  CHECK(target.cmd({"DBSIZE"}) == std::to_string(copied));
  std::vector<std::string> on_target = keys_of(target);
  auto sf = facts_of(source, on_target), tf = facts_of(target, on_target);
  for (const auto& k : on_target) {
    INFO(shown(k));
    CHECK(sf[k] == tf[k]);
  }
}
