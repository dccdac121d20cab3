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
#include "failover_fixture.h"
#include "server_fixture.h"
#include "store.h"

using namespace std::chrono_literals;
namespace t = migcheck::test;

namespace {

std::string tmp(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("migcheck-loading-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

using t::read_all;

nlohmann::json totals(const std::string& store, const std::string& command) {
  migcheck::Store s(store, false);
  auto run = s.latest_run(command);
  REQUIRE(run);
  return nlohmann::json::parse(run->totals_json);
}

// Loading about 0.5 ms per key, answering -LOADING meanwhile.
const std::vector<std::pair<std::string, std::string>> kSlowLoad = {
    {"key-load-delay", "500"}, {"loading-process-events-interval-bytes", "1024"}};

std::vector<std::vector<std::string>> keys_cmds(const std::string& prefix, int n,
                                                const std::string& value) {
  std::vector<std::vector<std::string>> c;
  for (int i = 0; i < n; ++i) c.push_back({"SET", prefix + std::to_string(i), value});
  return c;
}

// Restarts `srv` on its port and dir, keeping what it persisted; returns
// once it answers (while still loading).
void restart_keeping_data(t::TestServer& srv, bool save_rdb) {
  if (save_rdb) {
    try {
      srv.reply({"SHUTDOWN", "SAVE"});
    } catch (const std::exception&) {
      // The connection closes as the server exits.
    }
  }
  srv.restart();  // stop() only reaps when the server already exited
}

}  // namespace

TEST_CASE("restart: a target restarted from its RDB under compare; LOADING waited out, exact",
          "[restart][loading][integration]") {
  t::TestServer source;
  t::TestServer target(t::ServerOptions{.config = kSlowLoad});
  source.pipeline(keys_cmds("key:", 5000, "v"));
  auto tc = keys_cmds("key:", 5000, "v");
  for (int i = 0; i < 30; ++i) tc[static_cast<size_t>(i) * 100][2] = "other";
  target.pipeline(tc);
  const std::string store = tmp("rdb.db");
  std::filesystem::remove(store);
  t::Spawned proc({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1",
                   "--quiet", "--max-ops-per-sec", "6000", "--retry-for", "30s"},
                  tmp("rdb.out"), tmp("rdb.err"));
  std::this_thread::sleep_for(800ms);
  restart_keeping_data(target, true);
  // Still loading when it first answers: migcheck meets the same state.
  CHECK(target.cmd({"INFO", "persistence"}).find("loading:1") != std::string::npos);
  const int code = proc.wait(120s);
  INFO(read_all(tmp("rdb.err")));
  REQUIRE(code == 1);
  auto tot = totals(store, "compare");
  INFO(tot.dump());
  CHECK(tot["keys_checked"] == 5000);
  CHECK(tot["differences"] == 30);
  CHECK(tot["waited_out"].value("LOADING", 0) >= 1);
  CHECK(tot["starts_over"].get<int>() >= 1);  // a new process: compare started over
}

TEST_CASE("restart: a target restarted from its AOF under replicate; the copy ends exact",
          "[restart][loading][integration]") {
  t::TestServer source;
  auto cfg = kSlowLoad;
  cfg.emplace_back("appendonly", "yes");
  t::TestServer target(t::ServerOptions{.config = cfg});
  source.pipeline(keys_cmds("key:", 4000, "value"));
  // Ballast that makes the target's load take a while; in the AOF's RDB
  // preamble, where key-load-delay applies.
  target.pipeline(keys_cmds("ballast:", 4000, "b"));
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
  t::Spawned proc({"replicate", source.uri(), target.uri(), "--store", store, "--quiet",
                   "--max-ops-per-sec", "4000", "--retry-for", "30s"},
                  tmp("aof.out"), tmp("aof.err"));
  std::this_thread::sleep_for(800ms);
  restart_keeping_data(target, false);  // SHUTDOWN flushes the AOF
  CHECK(target.cmd({"INFO", "persistence"}).find("loading:1") != std::string::npos);
  const int code = proc.wait(120s);
  INFO(read_all(tmp("aof.err")));
  REQUIRE(code == 0);
  auto tot = totals(store, "replicate");
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
  source.pipeline(keys_cmds("key:", 5000, "v"));
  auto tc = keys_cmds("key:", 5000, "v");
  for (int i = 0; i < 25; ++i) tc[static_cast<size_t>(i) * 200][2] = "other";
  target.pipeline(tc);
  const std::string store = tmp("sleep.db");
  std::filesystem::remove(store);
  t::Spawned proc({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1",
                   "--quiet", "--max-ops-per-sec", "6000", "--timeout", "1s", "--retry-for", "30s"},
                  tmp("sleep.out"), tmp("sleep.err"));
  std::this_thread::sleep_for(800ms);
  // Blocks every client of the source for 2.5 s (a long command, a stuck
  // fork): replies time out, connections are re-made, reads sent again.
  const auto t0 = std::chrono::steady_clock::now();
  source.reply({"DEBUG", "SLEEP", "2.5"});
  CHECK(std::chrono::steady_clock::now() - t0 >= 2s);
  const int code = proc.wait(120s);
  const std::string err = read_all(tmp("sleep.err"));
  INFO(err);
  REQUIRE(code == 1);
  auto tot = totals(store, "compare");
  INFO(tot.dump());
  CHECK(tot["keys_checked"] == 5000);
  CHECK(tot["differences"] == 25);
}

TEST_CASE("stall: a target in DEBUG SLEEP past the reply timeout under compare; exact",
          "[restart][integration]") {
  t::TestServer source, target;
  source.pipeline(keys_cmds("key:", 5000, "v"));
  auto tc = keys_cmds("key:", 5000, "v");
  for (int i = 0; i < 25; ++i) tc[static_cast<size_t>(i) * 200][2] = "other";
  target.pipeline(tc);
  const std::string store = tmp("tsleep.db");
  std::filesystem::remove(store);
  t::Spawned proc({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1",
                   "--quiet", "--max-ops-per-sec", "6000", "--timeout", "1s", "--retry-for", "30s"},
                  tmp("tsleep.out"), tmp("tsleep.err"));
  std::this_thread::sleep_for(800ms);
  REQUIRE(proc.running());  // the stall lands mid-run
  const auto t0 = std::chrono::steady_clock::now();
  target.reply({"DEBUG", "SLEEP", "2.5"});
  CHECK(std::chrono::steady_clock::now() - t0 >= 2s);
  CHECK(proc.running());
  const int code = proc.wait(120s);
  INFO(read_all(tmp("tsleep.err")));
  REQUIRE(code == 1);
  auto tot = totals(store, "compare");
  INFO(tot.dump());
  CHECK(tot["keys_checked"] == 5000);
  CHECK(tot["differences"] == 25);
}

TEST_CASE("stall: a target in DEBUG SLEEP past the reply timeout under replicate; exact",
          "[restart][integration]") {
  t::TestServer source, target;
  auto sc = keys_cmds("key:", 4000, "v");
  for (int i = 0; i < 4000; i += 3)
    sc[static_cast<size_t>(i)] = {"RPUSH", "key:" + std::to_string(i), "a", "b"};
  source.pipeline(sc);
  target.pipeline(keys_cmds("stale:", 50, "x"));  // kept: replicate never deletes in scan mode
  const std::string store = tmp("rsleep.db");
  std::filesystem::remove(store);
  t::Spawned proc({"replicate", source.uri(), target.uri(), "--store", store, "--quiet",
                   "--max-ops-per-sec", "4000", "--timeout", "1s", "--retry-for", "30s"},
                  tmp("rsleep.out"), tmp("rsleep.err"));
  std::this_thread::sleep_for(600ms);
  REQUIRE(proc.running());
  // Writes in flight when the target stalls: their replies time out, and a
  // write whose reply was lost is made again from scratch.
  target.reply({"DEBUG", "SLEEP", "2.5"});
  CHECK(proc.running());
  const int code = proc.wait(120s);
  INFO(read_all(tmp("rsleep.err")));
  REQUIRE(code == 0);
  CHECK(target.cmd({"DBSIZE"}) == "4050");
  for (int i = 0; i < 4000; ++i) {
    const std::string k = "key:" + std::to_string(i);
    REQUIRE(target.debug_digest_value(k) == source.debug_digest_value(k));
  }
  auto tot = totals(store, "replicate");
  INFO(tot.dump());
  CHECK(tot["keys_scanned"] == 4000);
  CHECK(tot["copied"] == 4000);
  CHECK(tot["failed"] == 0);
}
