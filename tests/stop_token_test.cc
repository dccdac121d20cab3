// Tests of the run's stop token (src/stop_token.h): waits end at once on a
// stop, the rate limiter's debt too, and end to end a rate-limited command
// stops within a second of SIGINT while a second signal kills at once.
#include <catch2/catch_test_macros.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "cli_runner.h"
#include "key_cmds.h"
#include "rate_limiter.h"
#include "server_fixture.h"
#include "signals.h"
#include "stop_token.h"
#include "test_util.h"

using namespace migcheck;
using namespace std::chrono_literals;
using migcheck::test::Spawned;
using migcheck::test::TestServer;

namespace {
std::string temp(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("migcheck-stop-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

// Lets a spawned run work for `after`, sends SIGINT, and returns how long it
// took to exit; it must exit 2 (interrupted, resumable).
std::chrono::steady_clock::duration interrupted_after(Spawned& proc,
                                                      std::chrono::milliseconds after) {
  std::this_thread::sleep_for(after);
  const auto t0 = std::chrono::steady_clock::now();
  proc.signal(SIGINT);
  CHECK(proc.wait(10s) == 2);
  return std::chrono::steady_clock::now() - t0;
}

}  // namespace

TEST_CASE("stop token: a wait ends at once on request, runs its course otherwise", "[stop_token]") {
  signals::reset();
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(stop_token::wait_for(120ms));
  CHECK(std::chrono::steady_clock::now() - t0 >= 120ms);

  std::thread stopper([] {
    std::this_thread::sleep_for(100ms);
    stop_token::request();
  });
  t0 = std::chrono::steady_clock::now();
  CHECK(stop_token::wait_for(30s));
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  stopper.join();
  CHECK(stop_token::requested());
  signals::reset();

  // An engine's own abort flag ends a wait too.
  std::atomic<bool> abort{true};
  t0 = std::chrono::steady_clock::now();
  CHECK(stop_token::wait_for(30s, &abort));
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
}

TEST_CASE("stop token: the rate limiter's debt is cut short by a stop", "[stop_token]") {
  signals::reset();
  RateLimiter limiter(10);  // 1000 tokens = 100 s of debt
  std::thread stopper([] {
    std::this_thread::sleep_for(200ms);
    stop_token::request();
  });
  auto t0 = std::chrono::steady_clock::now();
  limiter.acquire(1000);
  CHECK(std::chrono::steady_clock::now() - t0 < 1500ms);
  stopper.join();
  signals::reset();
}

TEST_CASE("stop token: SIGINT stops a rate-limited compare within a second; a second signal kills",
          "[stop_token][integration]") {
  TestServer source, target;
  const auto c = migcheck::test::set_cmds("k", 3000);
  source.pipeline(c);
  target.pipeline(c);
  const std::string store = migcheck::test::tmp_store("stop", "compare");
  const std::vector<std::string> args{"compare", source.uri(), target.uri(),
                                      "--store", store,        "--max-ops-per-sec",
                                      "50",      "--batch",    "500"};
  {
    Spawned proc(args, temp("out1"), temp("err1"));
    std::this_thread::sleep_for(2500ms);
    auto t0 = std::chrono::steady_clock::now();
    proc.signal(SIGINT);
    const int code = proc.wait(10s);
    CHECK(code == 2);
    CHECK(std::chrono::steady_clock::now() - t0 < 1500ms);
  }
  {
    std::filesystem::remove(store);
    Spawned proc(args, temp("out2"), temp("err2"));
    std::this_thread::sleep_for(2500ms);
    proc.signal(SIGINT);
    std::this_thread::sleep_for(20ms);
    auto t0 = std::chrono::steady_clock::now();
    proc.signal(SIGTERM);
    const int code = proc.wait(10s);
    // Killed by the second signal, or already stopped by the first.
    CHECK((code == 128 + SIGTERM || code == 2));
    CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  }
}

TEST_CASE("stop token: SIGINT stops a rate-limited replicate within a second, resumable",
          "[stop_token][integration]") {
  TestServer source, target;
  source.pipeline(migcheck::test::set_cmds("k", 300));
  const std::string store = migcheck::test::tmp_store("stop", "replicate");
  Spawned proc(
      {"replicate", source.uri(), target.uri(), "--store", store, "--max-ops-per-sec", "50"},
      temp("rout"), temp("rerr"));
  CHECK(interrupted_after(proc, 2500ms) < 1500ms);
  // The run resumes (at the same rate: 300 keys stay a short run) and completes.
  auto r = migcheck::test::run_migcheck(
      {"replicate", source.uri(), target.uri(), "--store", store, "--resume", "1"}, {},
      std::chrono::seconds(120));
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(target.reply({"DBSIZE"}).integer == 300);
}

TEST_CASE("stop token: a second signal kills while the first waits on a blocked server",
          "[stop_token][integration]") {
  // The first signal stops the run at a batch boundary, which a server
  // blocked in DEBUG SLEEP holds back; the second must not wait for it.
  TestServer source, target;
  source.cmd({"DEBUG", "POPULATE", "300000"});
  target.cmd({"DEBUG", "POPULATE", "300000"});
  const std::string store = migcheck::test::tmp_store("stop", "blocked");
  Spawned proc({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1",
                "--timeout", "60s"},
               temp("out3"), temp("err3"));
  // Blocked early: on a quiet machine the whole compare takes about 1.5 s.
  std::this_thread::sleep_for(300ms);
  REQUIRE(proc.running());
  std::thread sleeper([&] { source.cmd({"DEBUG", "SLEEP", "6"}); });
  std::this_thread::sleep_for(200ms);
  const bool held = proc.running();  // by the sleeping source, not finished
  proc.signal(SIGINT);
  std::this_thread::sleep_for(400ms);
  const auto t0 = std::chrono::steady_clock::now();
  proc.signal(SIGTERM);
  const int code = proc.wait(10s);
  const auto took = std::chrono::steady_clock::now() - t0;
  sleeper.join();
  CHECK(held);
  CHECK(code == 128 + SIGTERM);
  CHECK(took < 1s);
  std::filesystem::remove(store);
}

TEST_CASE("stop token: SIGINT stops a rate-limited repair within a second, resumable",
          "[stop_token][integration]") {
  // 500-key batches at 50 commands/s: a worker sleeps off many seconds of
  // debt per step, which the run's stop token must cut short.
  TestServer source, target;
  source.pipeline(migcheck::test::set_cmds("k", 3000));
  const std::string store = migcheck::test::tmp_store("stop", "repair");
  auto cmp = migcheck::test::run_migcheck(
      {"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet"});
  REQUIRE(cmp.exit_code == 1);
  Spawned proc({"repair", source.uri(), target.uri(), "--store", store, "--max-ops-per-sec", "50",
                "--batch", "500"},
               temp("pout"), temp("perr"));
  CHECK(interrupted_after(proc, 2500ms) < 1500ms);
  CHECK(target.reply({"DBSIZE"}).integer < 3000);  // stopped part way
  // Resumed and sped up, the run completes.
  auto r = migcheck::test::run_migcheck({"repair", source.uri(), target.uri(), "--store", store,
                                         "--resume", "2", "--max-ops-per-sec", "1000000"},
                                        {}, std::chrono::seconds(120));
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(target.reply({"DBSIZE"}).integer == 3000);
  std::filesystem::remove(store);
}
