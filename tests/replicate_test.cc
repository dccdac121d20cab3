// `migcheck replicate` end to end against real servers: scan mode with every
// type, live mode following a writer during and after the scan, Valkey 8 into
// Redis 7.0 by type, --mem-limit, notifications switched off or CONFIG
// refused, queue overflow, dry run and SIGINT. Plus the notify-flags check
// and the coalescing event queue.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <thread>

#include "cli_runner.h"
#include "dataset_parts.h"
#include "latest_run.h"
#include "live.h"
#include "server_fixture.h"
#include "store.h"
#include "test_util.h"

namespace t = migcheck::test;
using t::run_migcheck;
using namespace std::string_literals;
using namespace std::chrono_literals;

namespace {

using migcheck::test::poll_int;
using migcheck::test::slurp;
using migcheck::test::wait_until;

using t::Cmds;

const t::ServerOptions kNotifying{.config = {{"notify-keyspace-events", "KEA"}}};

Cmds every_type() {
  Cmds c = {
      {"SET", "str:1", "hello"},
      {"SET", "str:bin", "\0\xff\r\n value"s},
      {"SET", "bin\0key\xff"s, "v"},
      {"SET", "\xff\xfe\0"s, "\0"s},
      {"SET", "str:ttl", "expires", "PX", "600000"},
      {"RPUSH", "list:1", "a", "b", "c"},
      {"RPUSH", "list:bin", "\0"s, "\xff"s},
      {"PEXPIRE", "list:1", "700000"},
  };
  t::append_cmds(c, t::small_collections());
  t::append_cmds(c, {{"XGROUP", "CREATE", "stream:1", "g2", "$"},
                     {"XGROUP", "CREATECONSUMER", "stream:1", "g2", "bob"},
                     {"XGROUP", "CREATE", "stream:empty", "g", "0", "MKSTREAM"}});
  for (int i = 0; i < 2000; ++i) {
    const std::string n = std::to_string(i);
    c.push_back({"SET", "k:" + n, "value-" + n});
    if (i % 10 == 0) c.push_back({"HSET", "h:" + n, "a", n, "b", "x"});
    if (i % 13 == 0) c.push_back({"PEXPIRE", "k:" + n, "900000"});
  }
  return c;
}

std::string tmp_store(const std::string& name) {
  return migcheck::test::tmp_store("replicate", name);
}

// DEBUG DIGEST counts keys that expired but were not reclaimed yet; a full
// SCAN reclaims them first, on both sides alike.
std::string settled_digest(t::TestServer& s) {
  keys_of(s);
  return s.debug_digest();
}

nlohmann::json totals(const std::string& store) {
  return t::latest_totals(store, "replicate");
}

std::map<std::string, migcheck::Outcome> outcomes(const std::string& store) {
  return t::latest_outcomes(store, "replicate");
}

// Runs migcheck on a thread while the test goes on (a writer, a signal).
class Background {
 public:
  explicit Background(std::vector<std::string> args)
      : thread_([this, a = std::move(args)] { result_ = run_migcheck(a, {}, 60s); }) {}
  ~Background() {
    if (thread_.joinable()) thread_.join();
  }
  t::ProcessResult wait() {
    thread_.join();
    return result_;
  }

 private:
  t::ProcessResult result_;
  std::thread thread_;
};

// Random writes of every kind, for `duration`.
void write_for(t::TestServer& s, std::chrono::milliseconds duration, unsigned seed) {
  std::mt19937 rng(seed);
  const auto until = std::chrono::steady_clock::now() + duration;
  int n = 0;
  while (std::chrono::steady_clock::now() < until) {
    Cmds batch;
    for (int i = 0; i < 40; ++i, ++n) {
      const std::string k = "k:" + std::to_string(rng() % 3000);
      const std::string v = std::to_string(n);
      switch (rng() % 12) {
        case 0:
          batch.push_back({"SET", k, v});
          break;
        case 1:
          batch.push_back({"DEL", k});
          break;
        case 2:
          batch.push_back({"SET", k, v, "PX", std::to_string(50 + rng() % 400)});
          break;  // expires during the run
        case 3:
          batch.push_back({"RENAME", "h:" + std::to_string(10 * (rng() % 200)), "renamed:" + v});
          break;
        case 4:
          batch.push_back({"DEL", k});
          batch.push_back({"RPUSH", k, "now", "a", "list"});
          break;  // type change
        case 5:
          batch.push_back({"RPUSH", "big:list", std::string(200, 'x') + v});
          break;
        case 6:
          batch.push_back({"HSET", "big:hash", "f" + std::to_string(rng() % 20000), v});
          break;
        case 7:
          batch.push_back({"XADD", "stream:1", "*", "n", v});
          break;
        case 8:
          batch.push_back({"ZADD", "zset:1", std::to_string(rng() % 100) + ".25", "m" + v});
          break;
        case 9:
          batch.push_back({"SADD", "set:int", v});
          break;
        case 10:
          batch.push_back({"PEXPIRE", k, "900000"});
          break;
        default:
          batch.push_back({"INCR", "counter"});
          break;
      }
    }
    s.pipeline(batch, false);  // RENAME of a missing key fails: fine
    std::this_thread::sleep_for(5ms);
  }
}

Cmds big_keys() {
  std::vector<std::string> list{"RPUSH", "big:list"}, hash{"HSET", "big:hash"};
  for (int i = 0; i < 8000; ++i) {
    list.push_back(std::string(150, 'l') + std::to_string(i));
    hash.insert(hash.end(), {"f" + std::to_string(i), std::string(120, 'h')});
  }
  return {list, hash};
}

}  // namespace

TEST_CASE("replicate: notify-keyspace-events check names the flags to set") {
  using migcheck::check_notify_flags;
  CHECK(check_notify_flags("KEA").ok);
  CHECK(check_notify_flags("AKE").ok);
  CHECK(check_notify_flags("EA").ok);
  CHECK(check_notify_flags("Eg$lshztxe").ok);
  auto off = check_notify_flags("");
  CHECK_FALSE(off.ok);
  CHECK(off.suggested == "KEA");
  auto keyspace_only = check_notify_flags("KA");
  CHECK(keyspace_only.ok);
  CHECK_FALSE(keyspace_only.keyevent);
  auto no_expired = check_notify_flags("Eg$lshzt");
  CHECK_FALSE(no_expired.ok);
  CHECK(no_expired.missing == "xe");
  CHECK(no_expired.suggested == "EA");
  auto strings_only = check_notify_flags("Eg$xe", {"string"});
  CHECK(strings_only.ok);
  CHECK_FALSE(check_notify_flags("Eg$xe", {"hash"}).ok);
  CHECK(check_notify_flags("KEm", {}).suggested == "KEAm");
}

TEST_CASE("replicate: the event queue coalesces per key and never drops silently") {
  migcheck::EventQueue q(3);
  const auto t0 = std::chrono::steady_clock::now();
  using P = migcheck::EventQueue::Push;
  CHECK(q.push("a", t0) == P::Queued);
  CHECK(q.push("b", t0 + 1ms) == P::Queued);
  CHECK(q.push("a", t0 + 2ms) == P::Coalesced);
  CHECK(q.push("\0c"s, t0 + 3ms) == P::Queued);
  CHECK(q.push("d", t0 + 4ms) == P::Full);
  CHECK(q.size() == 3);
  std::vector<std::pair<std::string, migcheck::SteadyTime>> out;
  CHECK(q.pop(out, 2, migcheck::Millis(0)) == 2);
  REQUIRE(out.size() == 2);
  CHECK(out[0].first == "a");
  CHECK(out[0].second == t0);  // the first event's time: lag counts from the oldest change
  CHECK(out[1].first == "b");
  CHECK(q.push("a", t0 + 5ms) == P::Queued);
  out.clear();
  CHECK(q.pop(out, 10, migcheck::Millis(0)) == 2);
  CHECK(out[0].first == "\0c"s);
  CHECK(out[1].first == "a");
  out.clear();
  const auto before = std::chrono::steady_clock::now();
  CHECK(q.pop(out, 10, migcheck::Millis(50)) == 0);
  CHECK(std::chrono::steady_clock::now() - before >= 40ms);
}

TEST_CASE("replicate: scan mode copies every type, binary keys and TTLs, then verifies",
          "[integration]") {
  t::TestServer source, target;
  source.pipeline(every_type());
  target.pipeline({{"SET", "str:1", "stale"}, {"RPUSH", "hash:1", "wrong type"}});
  const std::string store = tmp_store("scan");
  auto r = run_migcheck({"replicate", source.uri(), target.uri(), "--store", store, "--connections",
                         "3", "--batch", "100", "--verify"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("REPLICATED AND VERIFIED") != std::string::npos);
  CHECK(source.debug_digest() == target.debug_digest());
  for (const char* k : {"str:ttl", "list:1", "k:13"})
    CHECK(std::llabs(std::stoll(source.cmd({"PEXPIRETIME", k})) -
                     std::stoll(target.cmd({"PEXPIRETIME", k}))) <= 2);
  auto tot = totals(store);
  CHECK(tot["copied"] == keys_of(source).size());
  CHECK(tot["restored"] == tot["copied"]);
  CHECK(tot["failed"] == 0);
  CHECK(tot["verify_differences"] == 0);
}

TEST_CASE("replicate: live mode follows a writer during and after the scan", "[integration]") {
  t::TestServer source(kNotifying), target;
  source.pipeline(every_type());
  source.pipeline(big_keys());
  const std::string store = tmp_store("live");
  Background run({"replicate", source.uri(), target.uri(), "--store", store, "--mode", "live",
                  "--idle", "1500ms", "--connections", "2", "--batch", "200"});
  write_for(source, 2500ms, 7);
  auto r = run.wait();
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("lag") != std::string::npos);
  std::this_thread::sleep_for(500ms);  // the last short TTLs run out on both sides
  CHECK(settled_digest(source) == settled_digest(target));
  auto tot = totals(store);
  CHECK(tot["events_applied"].get<int64_t>() > 100);
  CHECK(tot["chunked"].get<int64_t>() >= 2);  // the big keys, copied again while written to
  CHECK(tot["lag_ms"]["count"].get<int64_t>() > 0);
  CHECK(tot["lag_ms"]["p99"].get<double>() >= tot["lag_ms"]["p50"].get<double>());
  CHECK(tot["deleted"].get<int64_t>() > 0);
}

TEST_CASE("replicate: Valkey 8 into Redis 7.0 through the fallback, scan then live",
          "[integration]") {
  if (!t::have_binary("valkey-server")) SKIP("valkey-server not installed");
  t::TestServer source(
      t::ServerOptions{.binary = "valkey-server", .config = {{"notify-keyspace-events", "KEA"}}});
  t::TestServer target;
  source.pipeline(every_type());
  const std::string store = tmp_store("valkey");
  auto r = run_migcheck({"replicate", source.uri(), target.uri(), "--store", store, "--verify"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  auto tot = totals(store);
  CHECK(tot["restored"] == 0);
  CHECK(tot["fallbacks"] == tot["copied"]);
  for (const auto& k : keys_of(source)) {
    if (source.cmd({"TYPE", k}) == "zset") continue;  // 7.0 and 7.2+ print scores differently
    INFO(k);
    CHECK(source.debug_digest_value(k) == target.debug_digest_value(k));
  }

  Background live({"replicate", source.uri(), target.uri(), "--store", store, "--mode", "liveonly",
                   "--idle", "1s", "--verify"});
  std::this_thread::sleep_for(300ms);
  source.pipeline({{"XADD", "stream:1", "9-9", "new", "entry"},
                   {"XREADGROUP", "GROUP", "g2", "bob", "COUNT", "1", "STREAMS", "stream:1", ">"},
                   {"XADD", "stream:1", "9-10", "nudge", "x"},  // XREADGROUP alone emits no event
                   {"SET", "str:1", "changed"},
                   {"DEL", "list:1"},
                   {"HSET", "hash:1", "new", "field"}});
  r = live.wait();
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  for (const char* k : {"stream:1", "str:1", "hash:1"})
    CHECK(source.debug_digest_value(k) == target.debug_digest_value(k));
  CHECK(target.cmd({"EXISTS", "list:1"}) == "0");
  CHECK(target.reply({"XPENDING", "stream:1", "g2"}).elements[0].integer == 1);
}

TEST_CASE("replicate: --mem-limit skips exactly the big keys and lists them", "[integration]") {
  t::TestServer source, target;
  Cmds load;
  for (int i = 0; i < 200; ++i) load.push_back({"SET", "small:" + std::to_string(i), "v"});
  for (int i = 0; i < 3; ++i)
    load.push_back({"SET", "huge:" + std::to_string(i), std::string(300000, 'h')});
  load.push_back({"RPUSH", "huge:list", std::string(200000, 'l'), std::string(200000, 'm')});
  source.pipeline(load);
  const std::string store = tmp_store("memlimit");
  auto r = run_migcheck(
      {"replicate", source.uri(), target.uri(), "--store", store, "--mem-limit", "100kb"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  auto o = outcomes(store);
  CHECK(o.size() == 4);
  for (const char* k : {"huge:0", "huge:1", "huge:2", "huge:list"}) {
    INFO(k);
    CHECK(o[k].outcome == migcheck::Outcome::Result::Skipped);
    CHECK(o[k].detail.find("--mem-limit") != std::string::npos);
    CHECK(r.out.find(k) != std::string::npos);
    CHECK(target.cmd({"EXISTS", k}) == "0");
  }
  CHECK(target.cmd({"DBSIZE"}) == "200");
  CHECK(totals(store)["skipped"] == 4);
}

TEST_CASE("replicate: live mode without notifications says exactly what to set", "[integration]") {
  t::TestServer target;
  SECTION("notifications off") {
    t::TestServer source;  // notify-keyspace-events ""
    auto r = run_migcheck(
        {"replicate", source.uri(), target.uri(), "--store", tmp_store("off"), "--mode", "live"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("notify-keyspace-events is \"\"") != std::string::npos);
    CHECK(r.err.find("CONFIG SET notify-keyspace-events KEA") != std::string::npos);
  }
  SECTION("some flags missing") {
    t::TestServer source(t::ServerOptions{.config = {{"notify-keyspace-events", "Kx"}}});
    auto r = run_migcheck({"replicate", source.uri(), target.uri(), "--store", tmp_store("part"),
                           "--mode", "liveonly"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("CONFIG SET notify-keyspace-events KEA") != std::string::npos);
  }
  SECTION("CONFIG refused, as on ElastiCache") {
    t::TestServer source(
        t::ServerOptions{.config = {{"notify-keyspace-events", "KEA"}}, .rename_away = {"CONFIG"}});
    const std::string store = tmp_store("refused");
    auto r =
        run_migcheck({"replicate", source.uri(), target.uri(), "--store", store, "--mode", "live"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("parameter group") != std::string::npos);
    CHECK(r.err.find("--assume-notifications") != std::string::npos);
    source.pipeline({{"SET", "a", "1"}});
    Background live({"replicate", source.uri(), target.uri(), "--store", store, "--mode", "live",
                     "--idle", "1s", "--assume-notifications"});
    std::this_thread::sleep_for(400ms);
    source.pipeline({{"SET", "b", "2"}});
    r = live.wait();
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(target.cmd({"GET", "a"}) == "1");
    CHECK(target.cmd({"GET", "b"}) == "2");
  }
}

TEST_CASE("replicate: a full event queue records the keys and rescans, nothing is lost",
          "[integration]") {
  t::TestServer source(kNotifying), target;
  const std::string store = tmp_store("overflow");
  Background run({"replicate", source.uri(), target.uri(), "--store", store, "--mode", "liveonly",
                  "--idle", "1500ms", "--queue", "5", "--batch", "10"});
  std::this_thread::sleep_for(300ms);
  for (int round = 0; round < 20; ++round) {
    Cmds batch;
    for (int i = 0; i < 200; ++i)
      batch.push_back({"SET", "key:" + std::to_string(round * 200 + i), "v"});
    source.pipeline(batch);
  }
  auto r = run.wait();
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("event queue is full") != std::string::npos);
  auto tot = totals(store);
  CHECK(tot["queue_overflows"].get<int64_t>() > 0);
  CHECK(tot["overflows_uncovered"] == 0);
  CHECK(tot["scan_passes"].get<int64_t>() >= 1);
  bool recorded = false;
  for (auto& [k, o] : outcomes(store))
    recorded |= o.detail.starts_with("queue overflow: re-copy needed");
  CHECK(recorded);
  CHECK(source.debug_digest() == target.debug_digest());
}

TEST_CASE("replicate: --dry-run leaves the target unchanged", "[integration]") {
  t::TestServer source, target;
  source.pipeline(every_type());
  target.pipeline({{"SET", "str:1", "stale"}});
  const std::string before = target.debug_digest();
  const std::string store = tmp_store("dry");
  auto r = run_migcheck(
      {"replicate", source.uri(), target.uri(), "--store", store, "--dry-run", "--quiet"});
  CHECK(r.exit_code == 0);
  CHECK(target.debug_digest() == before);
  CHECK(totals(store)["planned"] == keys_of(source).size());
}

TEST_CASE("replicate: SIGINT stops live mode cleanly with totals", "[integration]") {
  t::TestServer source(kNotifying), target;
  source.pipeline({{"SET", "a", "1"}});
  const std::string store = tmp_store("sigint");
  Background run({"replicate", source.uri(), target.uri(), "--store", store, "--mode", "live"});
  // Find the process by its unique store path, then interrupt it.
  pid_t pid = -1;
  for (int i = 0; i < 100 && pid < 0; ++i) {
    std::this_thread::sleep_for(50ms);
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
      std::ifstream f(e.path() / "cmdline");
      std::string cmdline((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      if (cmdline.find("replicate") != std::string::npos &&
          cmdline.find(store) != std::string::npos) {
        pid = std::stoi(e.path().filename().string());
        break;
      }
    }
  }
  REQUIRE(pid > 0);
  std::this_thread::sleep_for(500ms);  // past the scan, into the live tail
  source.pipeline({{"SET", "b", "2"}});
  std::this_thread::sleep_for(300ms);
  ::kill(pid, SIGINT);
  auto r = run.wait();
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("events") != std::string::npos);
  CHECK(target.cmd({"GET", "b"}) == "2");
  migcheck::Store s(store, false);
  CHECK(s.latest_run("replicate")->status == "done");
}

TEST_CASE("replicate: live mode on a cluster source listens on every primary",
          "[integration][cluster]") {
  t::TestCluster source(kNotifying);
  t::TestServer target;
  for (int i = 0; i < 300; ++i) source.cmd_routed({"SET", "pre:" + std::to_string(i), "v"});
  const std::string store = tmp_store("cluster-live");
  Background live({"replicate", source.seed_uri(), target.uri(), "--store", store, "--mode", "live",
                   "--idle", "1500ms"});
  std::this_thread::sleep_for(500ms);
  // Keys on every node: each primary publishes its own keys' events.
  for (int i = 0; i < 300; ++i) {
    source.cmd_routed({"SET", "live:" + std::to_string(i), std::to_string(i)});
    if (i % 3 == 0) source.cmd_routed({"DEL", "pre:" + std::to_string(i)});
    if (i % 5 == 0) source.cmd_routed({"HSET", "h:{" + std::to_string(i) + "}", "f", "v"});
  }
  auto r = live.wait();
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("on 3 node(s)") != std::string::npos);
  CHECK(target.cmd({"DBSIZE"}) == std::to_string(300 + 300 - 100 + 60));
  r = run_migcheck(
      {"compare", source.seed_uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
}

TEST_CASE("replicate: a scan interrupted by SIGINT, then killed, resumes and counts each key once",
          "[integration][resume]") {
  t::TestServer source, target;
  constexpr int kKeys = 12000, kBig = 25;
  source.pipeline(t::numbered_keys(kKeys));
  Cmds big;
  for (int i = 0; i < kBig; ++i)
    big.push_back({"SET", "big:" + std::to_string(i), std::string(20000, 'b')});
  source.pipeline(big);
  const std::string store = tmp_store("resume");
  // Rate-limited so that the pass lasts several checkpoint intervals (2 s).
  const std::vector<std::string> args{
      "replicate", source.uri(),        target.uri(), "--store",      store, "--mem-limit",
      "10kb",      "--max-ops-per-sec", "6000",       "--scan-count", "100", "-q"};
  const std::string out = store + ".out", err = store + ".err";
  auto target_keys = [&] { return std::stoll(target.cmd({"DBSIZE"})); };
  {
    t::Spawned p(args, out, err);
    REQUIRE(wait_until([&] { return target_keys() >= 1500; }, 60s));
    p.signal(SIGINT);
    REQUIRE(p.wait() == 2);
  }
  CHECK(slurp(err).find("migcheck replicate --resume 1") != std::string::npos);
  {
    migcheck::Store s(store, false);
    CHECK(s.run(1)->status == "interrupted");
  }
  const int64_t after_sigint = target_keys();
  CHECK(after_sigint < kKeys);

  auto resumed = args;
  resumed.insert(resumed.begin() + 1, {"--resume", "1"});
  const std::string scanned_sql =
      "SELECT json_extract(value, '$.keys_scanned') FROM checkpoints WHERE run = 1 AND name = "
      "'replicate'";
  {
    // Killed between two checkpoints: its work after the last one is redone.
    t::Spawned p(resumed, out, err);
    const int64_t at_sigint = poll_int(store, scanned_sql);
    REQUIRE(wait_until([&] { return poll_int(store, scanned_sql) > at_sigint; }, 60s));
    const int64_t at_checkpoint = target_keys();
    REQUIRE(wait_until([&] { return target_keys() > at_checkpoint + 300; }, 60s));
    p.signal(SIGKILL);
    REQUIRE(p.wait() == 128 + SIGKILL);
  }
  auto r = run_migcheck(resumed);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 1);  // the big keys are skipped (--mem-limit)

  auto j = totals(store);
  CHECK(j["keys_scanned"] == kKeys + kBig);
  CHECK(j["copied"] == kKeys);
  CHECK(j["skipped"] == kBig);
  CHECK(j["failed"] == 0);
  CHECK(poll_int(store, "SELECT count(*) FROM outcomes WHERE run = 1") == kBig);
  CHECK(poll_int(store, "SELECT count(DISTINCT key) FROM outcomes WHERE run = 1") == kBig);
  CHECK(target_keys() == kKeys);
  target.pipeline(big);
  CHECK(source.debug_digest() == target.debug_digest());
  {
    migcheck::Store s(store, false);
    CHECK(s.run(1)->status == "done");
    CHECK(s.runs().size() == 1);
  }
}

TEST_CASE("replicate: only a stopped scan-mode run can be resumed", "[integration][resume]") {
  t::TestServer source(kNotifying), target;
  source.pipeline({{"SET", "a", "1"}});
  const std::string store = tmp_store("resume-live");
  auto live = run_migcheck({"replicate", source.uri(), target.uri(), "--store", store, "--mode",
                            "live", "--idle", "300ms", "-q"});
  REQUIRE(live.exit_code == 0);
  auto again =
      run_migcheck({"replicate", "--resume", "1", source.uri(), target.uri(), "--store", store});
  CHECK(again.exit_code == 2);
  CHECK(again.err.find("finished") != std::string::npos);
  {
    migcheck::Store s(store, false);
    s.finish_run(1, "interrupted", 2);
  }
  again =
      run_migcheck({"replicate", "--resume", "1", source.uri(), target.uri(), "--store", store});
  CHECK(again.exit_code == 2);
  CHECK(again.err.find("only scan-mode runs can be resumed") != std::string::npos);
  auto missing =
      run_migcheck({"replicate", "--resume", "7", source.uri(), target.uri(), "--store", store});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("no such run") != std::string::npos);
}

TEST_CASE("replicate: the progress line says of how many keys, and a percentage", "[integration]") {
  t::TestServer source, target;
  Cmds keys;
  for (int i = 0; i < 30; ++i) keys.push_back({"SET", "p" + std::to_string(i), "v"});
  source.pipeline(keys);
  const auto store = (std::filesystem::temp_directory_path() /
                      ("migcheck-progress-" + std::to_string(::getpid()) + ".db"))
                         .string();
  std::filesystem::remove(store);
  auto r = run_migcheck({"replicate", "--store", store, source.uri(), target.uri()});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  // The final line: everything scanned, of the source's 30 keys.
  CHECK(r.err.find("30 scanned of 30 (100.0%)") != std::string::npos);
  CHECK(r.err.find(" 0 keys/s") == std::string::npos);
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(store + suffix);
}
