// Real restarts and stalls under the CLI, against real servers: a target
// shut down with SHUTDOWN SAVE and started again from its RDB, a target
// restarted from its AOF, both loading slowly (key-load-delay) so that
// migcheck meets -LOADING; a source stalled in DEBUG SLEEP past the reply
// timeout. Each run must end with the exact result (DEBUG DIGEST-VALUE as
// the oracle) and record what it waited out.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"
#include "key_cmds.h"
#include "run_fixture.h"
#include "server_fixture.h"
#include "store.h"

using namespace std::chrono_literals;
namespace t = migcheck::test;

namespace {

std::string tmp(const std::string& name) {
  return t::tmp_file("loading", name);
}

using t::latest_totals;
using t::run_through;

// Loading about 0.5 ms per key, answering -LOADING meanwhile.
const std::vector<std::pair<std::string, std::string>> kSlowLoad = {
    {"key-load-delay", "500"}, {"loading-process-events-interval-bytes", "1024"}};

using t::set_cmds;

// Blocks every client of `srv` for 2.5 s; checks that it did.
void debug_sleep(t::TestServer& srv) {
  const auto t0 = std::chrono::steady_clock::now();
  srv.reply({"DEBUG", "SLEEP", "2.5"});
  CHECK(std::chrono::steady_clock::now() - t0 >= 2s);
}

// Restarts `srv` on its port and dir, keeping what it persisted; returns
// once it answers, and checks that it still loads then: migcheck meets the
// same state.
void restart_keeping_data(t::TestServer& srv, bool save_rdb) {
  if (save_rdb) {
    try {
      srv.reply({"SHUTDOWN", "SAVE"});
    } catch (const std::exception&) {
      // The connection closes as the server exits.
    }
  }
  srv.restart();  // stop() only reaps when the server already exited
  CHECK(srv.cmd({"INFO", "persistence"}).find("loading:1") != std::string::npos);
}

// A source and a target of 5000 keys of which 25 differ, compared (rounds
// 1, a 1 s reply timeout) while `stalled` sleeps 2.5 s in DEBUG SLEEP (a
// long command, a stuck fork): replies time out, connections are re-made,
// reads sent again; the result is exact.
void compare_through_stall(t::TestServer& source, t::TestServer& target, t::TestServer& stalled,
                           const std::string& name) {
  source.pipeline(set_cmds("key:", 5000, "v"));
  auto tc = set_cmds("key:", 5000, "v");
  for (int i = 0; i < 25; ++i) tc[static_cast<size_t>(i) * 200][2] = "other";
  target.pipeline(tc);
  t::compare_through(
      {source.uri(), target.uri(), "--max-ops-per-sec", "6000", "--timeout", "1s"}, tmp(name),
      {.keys = 5000, .differences = 25}, 800ms, [&] { debug_sleep(stalled); }, true);
}

}  // namespace

TEST_CASE("restart: a target restarted from its RDB under compare; LOADING waited out, exact",
          "[restart][loading][integration]") {
  t::TestServer source;
  t::TestServer target(t::ServerOptions{.config = kSlowLoad});
  source.pipeline(set_cmds("key:", 5000, "v"));
  auto tc = set_cmds("key:", 5000, "v");
  for (int i = 0; i < 30; ++i) tc[static_cast<size_t>(i) * 100][2] = "other";
  target.pipeline(tc);
  const auto tot = t::compare_through({source.uri(), target.uri(), "--max-ops-per-sec", "6000"},
                                      tmp("rdb"), {.keys = 5000, .differences = 30}, 800ms,
                                      [&] { restart_keeping_data(target, true); });
  INFO(tot.dump());
  CHECK(tot["waited_out"].value("LOADING", 0) >= 1);
  CHECK(tot["starts_over"].get<int>() >= 1);  // a new process: compare started over
}

TEST_CASE("restart: a target restarted from its AOF under replicate; the copy ends exact",
          "[restart][loading][integration]") {
  t::TestServer source;
  auto cfg = kSlowLoad;
  cfg.emplace_back("appendonly", "yes");
  t::TestServer target(t::ServerOptions{.config = cfg});
  source.pipeline(set_cmds("key:", 4000, "value"));
  // Ballast that makes the target's load take a while; in the AOF's RDB
  // preamble, where key-load-delay applies.
  target.pipeline(set_cmds("ballast:", 4000, "b"));
  target.cmd({"BGREWRITEAOF"});
  for (int i = 0; i < 200; ++i) {
    if (target.cmd({"INFO", "persistence"}).find("aof_rewrite_in_progress:0") !=
            std::string::npos &&
        target.cmd({"INFO", "persistence"}).find("aof_rewrite_scheduled:0") != std::string::npos)
      break;
    std::this_thread::sleep_for(50ms);
  }
  const std::string store = tmp("aof.db");
  std::filesystem::remove(store);
  const auto ran = run_through(
      {"replicate", source.uri(), target.uri(), "--store", store, "--quiet", "--max-ops-per-sec",
       "4000", "--retry-for", "30s"},
      tmp("aof"), 800ms, [&] { restart_keeping_data(target, false); });  // SHUTDOWN flushes the AOF
  INFO(ran.err);
  REQUIRE(ran.code == 0);
  auto tot = latest_totals(store, "replicate");
  INFO(tot.dump());
  CHECK(tot["waited_out"].value("LOADING", 0) >= 1);
  CHECK(tot["starts_over"].get<int>() >= 1);
  CHECK(target.cmd({"DBSIZE"}) == "8000");
  for (int i = 0; i < 4000; i += 7) {
    const std::string k = "key:" + std::to_string(i);
    REQUIRE(target.debug_digest_value(k) == source.debug_digest_value(k));
  }
}

TEST_CASE("stall: a source in DEBUG SLEEP past the reply timeout under compare; exact",
          "[restart][integration]") {
  t::TestServer source, target;
  compare_through_stall(source, target, source, "sleep");
}

TEST_CASE("stall: a target in DEBUG SLEEP past the reply timeout under compare; exact",
          "[restart][integration]") {
  t::TestServer source, target;
  compare_through_stall(source, target, target, "tsleep");
}

TEST_CASE("stall: a target in DEBUG SLEEP past the reply timeout under replicate; exact",
          "[restart][integration]") {
  t::TestServer source, target;
  auto sc = set_cmds("key:", 4000, "v");
  for (int i = 0; i < 4000; i += 3)
    sc[static_cast<size_t>(i)] = {"RPUSH", "key:" + std::to_string(i), "a", "b"};
  source.pipeline(sc);
  target.pipeline(set_cmds("stale:", 50, "x"));  // kept: replicate never deletes in scan mode
  const std::string store = tmp("rsleep.db");
  std::filesystem::remove(store);
  // Writes in flight when the target stalls: their replies time out, and a
  // write whose reply was lost is made again from scratch.
  const auto ran =
      run_through({"replicate", source.uri(), target.uri(), "--store", store, "--quiet",
                   "--max-ops-per-sec", "4000", "--timeout", "1s", "--retry-for", "30s"},
                  tmp("rsleep"), 600ms, [&] { debug_sleep(target); });
  INFO(ran.err);
  CHECK(ran.running_after);
  REQUIRE(ran.code == 0);
  CHECK(target.cmd({"DBSIZE"}) == "4050");
  for (int i = 0; i < 4000; ++i) {
    const std::string k = "key:" + std::to_string(i);
    REQUIRE(target.debug_digest_value(k) == source.debug_digest_value(k));
  }
  auto tot = latest_totals(store, "replicate");
  INFO(tot.dump());
  CHECK(tot["keys_scanned"] == 4000);
  CHECK(tot["copied"] == 4000);
  CHECK(tot["failed"] == 0);
}
