// Tests of transient server states (src/transient.h) against real servers:
// a server reloading its data answers LOADING and a long script makes it
// answer BUSY; keyed reads and SCAN wait them out within --retry-for, and the
// wait is tallied for the run's totals ("waited_out").
#include <catch2/catch_test_macros.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "client.h"
#include "readiness.h"
#include "report_model.h"
#include "scanner.h"
#include "server_fixture.h"
#include "transient.h"
#include "uri.h"

using namespace migcheck;
using namespace std::chrono_literals;
using migcheck::test::TestServer;

namespace {

// A script that keeps `srv` busy for `ms` by the server's clock (BUSY to
// every other client once busy-reply-threshold has passed), run from a
// thread of its own (joined at the latest when it goes out of scope).
std::jthread busy_script(TestServer& srv, int ms) {
  return std::jthread([&srv, ms] {
    srv.reply({"EVAL",
               "local t = redis.call('TIME') local s = t[1] * 1000000 + t[2] "
               "while true do local n = redis.call('TIME') "
               "if n[1] * 1000000 + n[2] - s > " +
                   std::to_string(ms * 1000) + " then break end end return 1",
               "0"});
  });
}

}  // namespace

TEST_CASE("transient: codes that are waited out", "[transient]") {
  CHECK(transient::is_transient("LOADING"));
  CHECK(transient::is_transient("BUSY"));
  CHECK(transient::is_transient("MASTERDOWN"));
  CHECK(transient::is_transient("TRYAGAIN"));
  CHECK(transient::is_transient("CLUSTERDOWN"));
  CHECK_FALSE(transient::is_transient("ERR"));
  CHECK_FALSE(transient::is_transient("WRONGTYPE"));
  CHECK(transient::is_wrong_primary("READONLY"));
  CHECK(transient::is_wrong_primary("NOREPLICAS"));
}

TEST_CASE("transient: LOADING while a server reloads its data is waited out",
          "[transient][integration]") {
  TestServer srv;
  std::vector<std::vector<std::string>> c;
  for (int i = 0; i < 20000; ++i) c.push_back({"SET", "k" + std::to_string(i), "v"});
  srv.pipeline(c);
  // Loading takes about 2 s and serves other clients (with -LOADING) meanwhile.
  srv.cmd({"CONFIG", "SET", "key-load-delay", "100"});
  srv.cmd({"CONFIG", "SET", "loading-process-events-interval-bytes", "1024"});
  transient::reset();
  ClientOptions co;
  co.retry_for = Millis(60000);
  Client client(parse_uri(srv.uri()), co);
  std::thread reload([&] { srv.reply({"DEBUG", "RELOAD"}); });
  std::this_thread::sleep_for(300ms);
  // Keyed reads and SCAN during the load get answers, not LOADING (the
  // tally proves the load was met).
  std::vector<Command> gets;
  for (int i = 0; i < 100; ++i) gets.push_back({"GET", "k" + std::to_string(i)});
  auto replies = client.execute(gets);
  for (const auto& r : replies) CHECK(r.str == "v");
  Scanner s(client, ScanOptions{.count = 1000});
  std::vector<std::string> keys;
  while (s.next(keys)) {
  }
  reload.join();
  CHECK(keys.size() == 20000);
  auto totals = transient::totals_json();
  INFO(totals.dump());
  CHECK(totals.value("LOADING", 0) >= 1);
  srv.cmd({"CONFIG", "SET", "key-load-delay", "0"});
}

namespace {

// GET k, 400 ms into a script of `script_ms` on a server that answers BUSY
// 100 ms into a script, by a client retrying for `retry_for`: its reply,
// and how long the GET took. The script is over on return.
std::pair<Reply, std::chrono::steady_clock::duration> get_during_script(int script_ms,
                                                                        Millis retry_for) {
  TestServer srv(migcheck::test::ServerOptions{.config = {{"busy-reply-threshold", "100"}}});
  srv.cmd({"SET", "k", "v"});
  ClientOptions co;
  co.retry_for = retry_for;
  Client client(parse_uri(srv.uri()), co);
  std::jthread script = busy_script(srv, script_ms);
  std::this_thread::sleep_for(400ms);
  std::vector<Command> get{{"GET", "k"}};
  const auto t0 = std::chrono::steady_clock::now();
  auto r = client.execute(get);
  const auto took = std::chrono::steady_clock::now() - t0;
  script.join();
  return {r.at(0), took};
}

}  // namespace

TEST_CASE("transient: BUSY while a long script runs is waited out", "[transient][integration]") {
  transient::reset();
  const auto [reply, took] = get_during_script(1500, Millis(30000));
  CHECK(reply.str == "v");
  CHECK(transient::totals_json().value("BUSY", 0) >= 1);
}

TEST_CASE("transient: a state that outlasts --retry-for is returned as the error it is",
          "[transient][integration]") {
  const auto [reply, took] = get_during_script(2000, Millis(300));
  CHECK(took < 1500ms);
  CHECK(reply.is_error());
  CHECK(reply.error_code() == "BUSY");
}

TEST_CASE("transient: the report's readiness lists what was waited out", "[transient][report]") {
  ReportModel m;
  auto find = [&]() -> const Check* {
    static std::vector<Check> cs;
    cs = readiness_checks(m);
    for (const auto& c : cs)
      if (c.id == "waited_out") return &c;
    return nullptr;
  };
  CHECK(find() == nullptr);  // runs that do not record it
  m.totals = {{"waited_out", nlohmann::json::object()}};
  REQUIRE(find());
  CHECK(find()->status == CheckStatus::kPass);
  m.totals = {{"waited_out", {{"LOADING", 2}, {"BUSY", 1}}}};
  REQUIRE(find());
  CHECK(find()->detail.find("LOADING x2") != std::string::npos);
  CHECK(find()->detail.find("BUSY x1") != std::string::npos);
}
