// `migcheck repair` end to end against real servers: compare -> repair ->
// compare again, for every kind of difference and every type (streams with
// groups and PEL included), Valkey 8 into Redis 7.0 (payloads refused, so by
// type), a target out of memory, dry runs and kept extras.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <sstream>
#include <thread>

#include "cli_runner.h"
#include "dataset_parts.h"
#include "latest_run.h"
#include "server_fixture.h"
#include "store.h"
#include "test_util.h"

namespace t = migcheck::test;
using t::run_migcheck;
using namespace std::string_literals;

namespace {

using migcheck::test::poll_int;
using migcheck::test::wait_until;

using t::Cmds;

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
  };
  t::append_cmds(c, t::deleted_then_read_stream());
  t::append_cmds(
      c, {{"XADD", "stream:g", "1-1", "f", "v1"},
          {"XADD", "stream:g", "2-1", "f", "v2"},
          {"XGROUP", "CREATE", "stream:g", "readers", "0"},
          {"XREADGROUP", "GROUP", "readers", "r1", "COUNT", "2", "STREAMS", "stream:g", ">"},
          {"XGROUP", "CREATE", "stream:empty", "g", "0", "MKSTREAM"}});
  for (int i = 0; i < 300; ++i)
    c.push_back({"SET", "plain:" + std::to_string(i), std::to_string(i)});
  return c;
}

// One difference of each kind, on each type where it makes sense.
Cmds differences() {
  return {
      {"DEL", "str:1"},                 // missing string
      {"DEL", "stream:1"},              // missing stream with groups
      {"DEL", "hash:1"},                // missing hash
      {"SET", "extra:1", "only here"},  // extra
      {"HSET", "extra:2", "f", "v"},    // extra
      {"DEL", "list:bin"},              // type
      {"SET", "list:bin", "now a string"},
      {"PERSIST", "zset:1"},                   // ttl
      {"PEXPIRE", "set:int", "100000"},        // ttl
      {"SET", "str:int", "999"},               // value: string
      {"RPUSH", "list:2", "z"},                // value: list
      {"HSET", "hash:bin", "\0f"s, "other"},   // value: hash
      {"SADD", "set:1", "z"},                  // value: set
      {"ZADD", "zset:1", "5", "a"},            // value: zset (and ttl above)
      {"XACK", "stream:g", "readers", "1-1"},  // value: stream PEL only
      {"DEL", "stream:empty"},                 // missing empty stream
      {"SET", "bin\0key\xff"s, "changed"},     // value on a binary key
  };
}

std::string tmp_store(const std::string& name) {
  return migcheck::test::tmp_store("repair", name);
}

t::ProcessResult compare(const std::string& src, const std::string& tgt, const std::string& store) {
  return run_migcheck({"compare", src, tgt, "--store", store, "--rounds", "1", "--quiet"});
}

std::map<std::string, migcheck::Outcome> outcomes(const std::string& store) {
  return t::latest_outcomes(store, "repair");
}

nlohmann::json totals(const std::string& store) {
  return t::latest_totals(store, "repair");
}

// A source loaded with dataset(), and a target loaded alike then given
// one difference of each kind (differences()).
struct DifferingPair {
  t::TestServer source, target;
  DifferingPair() {
    source.pipeline(dataset());
    target.pipeline(dataset());
    target.pipeline(differences());
  }
};

}  // namespace

TEST_CASE("repair: every kind of difference on every type is fixed and verified", "[integration]") {
  DifferingPair pair;
  auto& [source, target] = pair;
  const std::string store = tmp_store("kinds");

  auto r = compare(source.uri(), target.uri(), store);
  INFO(r.err);
  REQUIRE(r.exit_code == 1);

  r = run_migcheck(
      {"repair", source.uri(), target.uri(), "--store", store, "--delete-extra", "--batch", "7"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("Result: REPAIRED") != std::string::npos);

  auto o = outcomes(store);
  CHECK(o.size() == 15);
  for (auto& [k, v] : o) {
    INFO(k << ": " << v.action << " " << v.outcome << " " << v.error << " " << v.detail);
    CHECK(v.outcome == migcheck::Outcome::Result::Repaired);
  }
  CHECK(o["extra:1"].action == migcheck::Outcome::Action::Delete);
  CHECK(o["str:1"].action == migcheck::Outcome::Action::Restore);
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
    CHECK(v.outcome == migcheck::Outcome::Result::Repaired);
    if (k != "extra") CHECK(v.action == migcheck::Outcome::Action::Fallback);
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
  Cmds load = t::letter_values("blob:", 10, 400000);
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
    if (v.outcome == migcheck::Outcome::Result::Failed) {
      ++failed;
      CHECK(v.error.starts_with("OOM command not allowed"));
    } else {
      CHECK(v.outcome == migcheck::Outcome::Result::Repaired);
      ++repaired;
    }
  }
  CHECK(failed > 0);
  CHECK(failed + repaired == 60);
  CHECK(totals(store)["failed"] == failed);
}

TEST_CASE("repair: --dry-run records the plan and leaves the target unchanged", "[integration]") {
  DifferingPair pair;
  auto& [source, target] = pair;
  const std::string store = tmp_store("dry");
  REQUIRE(compare(source.uri(), target.uri(), store).exit_code == 1);
  const std::string before = target.debug_digest();

  auto r = run_migcheck(
      {"repair", source.uri(), target.uri(), "--store", store, "--delete-extra", "--dry-run"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(target.debug_digest() == before);
  auto o = outcomes(store);
  CHECK(o.size() == 15);
  for (auto& [k, v] : o) CHECK(v.outcome == migcheck::Outcome::Result::Planned);
  CHECK(o["extra:1"].action == migcheck::Outcome::Action::Delete);
  CHECK(o["str:1"].action == migcheck::Outcome::Action::Restore);
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
  CHECK(o["extra"].outcome == migcheck::Outcome::Result::Skipped);
  CHECK(o["extra"].detail == "extra key kept (use --delete-extra)");
  CHECK(o["b"].outcome == migcheck::Outcome::Result::Repaired);
  CHECK(target.cmd({"GET", "extra"}) == "x");

  // Only the extras, from the same compare run.
  r = run_migcheck({"repair", source.uri(), target.uri(), "--store", store, "--kind", "extra",
                    "--delete-extra", "--quiet"});
  CHECK(r.exit_code == 0);
  o = outcomes(store);
  CHECK(o.size() == 1);
  CHECK(o["extra"].outcome == migcheck::Outcome::Result::Repaired);
  CHECK(o["extra"].action == migcheck::Outcome::Action::Delete);
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

TEST_CASE(
    "repair: interrupted by SIGINT, then killed, then resumed: each key repaired and counted once",
    "[integration][resume]") {
  t::TestServer source, target;
  // About 2,000 keys/s with one key per batch: the run lasts several
  // checkpoint intervals (2 s), so the kill lands between two of them.
  constexpr int kKeys = 15000;
  source.pipeline(t::numbered_keys(kKeys));
  target.pipeline({{"SET", "extra:1", "x"}});
  const std::string store = tmp_store("resume");
  REQUIRE(compare(source.uri(), target.uri(), store).exit_code == 1);
  // One key per batch and one connection: slow enough to stop in the middle.
  const std::vector<std::string> args{"repair",  source.uri(), target.uri(),    "--store", store,
                                      "--batch", "1",          "--connections", "1",       "-q"};
  const std::string out = store + ".out", err = store + ".err";
  const std::string outcomes_sql = "SELECT count(*) FROM outcomes WHERE run = 2";
  {
    t::Spawned p(args, out, err);
    REQUIRE(
        wait_until([&] { return poll_int(store, outcomes_sql) >= 500; }, std::chrono::seconds(60)));
    p.signal(SIGINT);
    REQUIRE(p.wait() == 2);
  }
  std::ifstream e(err);
  std::string err_text((std::istreambuf_iterator<char>(e)), {});
  CHECK(err_text.find("migcheck repair --resume 2") != std::string::npos);
  const int64_t after_sigint = poll_int(store, outcomes_sql);
  CHECK(after_sigint < kKeys);
  {
    migcheck::Store s(store, false);
    CHECK(s.run(2)->status == "interrupted");
  }

  // Resumed, then killed without a chance to checkpoint: what it stored
  // after its last checkpoint is dropped on the next resume.
  auto resumed = args;
  resumed.insert(resumed.begin() + 1, {"--resume", "2"});
  {
    // Rate-limited (a resume takes --max-ops-per-sec given again), so that
    // on a loaded machine the run still lasts several checkpoints and cannot
    // end before the kill below finds it between two of them.
    auto slowed = resumed;
    slowed.insert(slowed.end(), {"--max-ops-per-sec", "2000"});
    t::Spawned p(slowed, out, err);
    const std::string cp_sql =
        "SELECT count(*) FROM checkpoints WHERE run = 2 AND json_extract(value, '$.selected') > " +
        std::to_string(after_sigint);
    REQUIRE(wait_until(
        [&] {
          return poll_int(store, cp_sql) == 1 &&
                 poll_int(store, outcomes_sql) >
                     poll_int(store,
                              "SELECT json_extract(value, '$.selected') FROM checkpoints "
                              "WHERE run = 2") +
                         50;
        },
        std::chrono::seconds(60)));
    p.signal(SIGKILL);
    REQUIRE(p.wait() == 128 + SIGKILL);
  }
  auto unlimited = resumed;  // the limit given to the killed resume was recorded
  unlimited.insert(unlimited.end(), {"--max-ops-per-sec", "0"});
  auto r = run_migcheck(unlimited);
  INFO(r.err);
  REQUIRE(r.exit_code == 1);  // the extra key is kept (no --delete-extra)

  // Each key has exactly one outcome; the counters are those of one pass.
  CHECK(poll_int(store, outcomes_sql) == kKeys + 1);
  CHECK(poll_int(store, "SELECT count(DISTINCT key) FROM outcomes WHERE run = 2") == kKeys + 1);
  auto o = outcomes(store);
  int64_t repaired = 0;
  for (const auto& [k, v] : o) repaired += v.outcome == migcheck::Outcome::Result::Repaired;
  CHECK(repaired == kKeys);
  auto j = totals(store);
  CHECK(j["selected"] == kKeys + 1);
  CHECK(j["repaired"] == kKeys);
  CHECK(j["kept_extra"] == 1);
  CHECK(j["failed"] == 0);
  CHECK(j["restored"] == kKeys);
  {
    migcheck::Store s(store, false);
    CHECK(s.run(2)->status == "done");
    CHECK(s.runs().size() == 2);  // resumed in place, no new run
  }
  // A finished run is not resumed again.
  auto again = run_migcheck(resumed);
  CHECK(again.exit_code == 2);
  CHECK(again.err.find("finished") != std::string::npos);
  CHECK(source.debug_digest() != target.debug_digest());  // the extra key
  target.pipeline({{"DEL", "extra:1"}});
  CHECK(source.debug_digest() == target.debug_digest());
}

TEST_CASE("repair: --max-ops-per-sec caps the commands sent to the source", "[integration]") {
  t::TestServer source, target;
  Cmds load, drift;
  for (int i = 0; i < 300; ++i) {
    load.push_back({"SET", "k:" + std::to_string(i), "v"});
    drift.push_back({"SET", "k:" + std::to_string(i), "old"});
  }
  source.pipeline(load);
  target.pipeline(drift);
  const std::string store = tmp_store("rate");
  REQUIRE(compare(source.uri(), target.uri(), store).exit_code == 1);
  source.cmd({"CONFIG", "RESETSTAT"});
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run_migcheck({"repair", source.uri(), target.uri(), "--store", store,
                         "--max-ops-per-sec", "1000", "--quiet"});
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(totals(store)["repaired"] == 300);
  const int64_t calls = source.commands_called();
  // The copy (probe, expiry, DUMP) and the verification read every key.
  CHECK(calls >= 900);
  // A bucket of a tenth of a second, then 1000 commands/s (connection set-up
  // and the server facts are not charged).
  CHECK(secs >= (static_cast<double>(calls) - 150) / 1000.0);
}
