// The Prometheus endpoint (src/metrics.cc): served on loopback, scraped over
// real HTTP, in the text exposition format.
#include "metrics.h"

#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "errors.h"
#include "server_fixture.h"

using namespace migcheck;
using migcheck::test::run_process;

namespace {

std::string scrape(int port) {
  auto r = run_process(
      {"curl", "-sS", "--max-time", "5", "http://127.0.0.1:" + std::to_string(port) + "/metrics"},
      std::chrono::seconds(10));
  REQUIRE(r.exit_code == 0);
  return r.out;
}

}  // namespace

TEST_CASE("metrics: counters, gauges and the lag histogram are served at /metrics") {
  Metrics& m = Metrics::get();
  m.serve("127.0.0.1:0");
  REQUIRE(m.port() > 0);
  m.run_state("replicate", "running");
  m.round(2);
  m.keys_scanned("source", 10);
  m.keys_checked(7);
  m.keys_copied(5);
  m.keys_failed(1);
  m.differences("value", 3);
  m.events("received", 4);
  m.replication_lag(0.003);
  m.reconnect("LOADING");
  m.waited("LOADING", 1.5);
  m.rate_limited_sleep(0.25);
  m.run_state("replicate", "done");

  const std::string text = scrape(m.port());
  CHECK(text.find("migcheck_keys_checked_total 7") != std::string::npos);
  CHECK(text.find("migcheck_keys_scanned_total{side=\"source\"} 10") != std::string::npos);
  CHECK(text.find("migcheck_keys_written_total{outcome=\"copied\"} 5") != std::string::npos);
  CHECK(text.find("migcheck_differences_total{kind=\"value\"} 3") != std::string::npos);
  CHECK(text.find("migcheck_round 2") != std::string::npos);
  CHECK(text.find("migcheck_replication_lag_seconds_bucket{le=\"0.005\"} 1") != std::string::npos);
  CHECK(text.find("migcheck_wait_seconds_total{cause=\"LOADING\"} 1.5") != std::string::npos);
  // The state moved on: the old one is 0, the new one 1.
  CHECK(text.find("migcheck_run_state{command=\"replicate\",state=\"running\"} 0") !=
        std::string::npos);
  CHECK(text.find("migcheck_run_state{command=\"replicate\",state=\"done\"} 1") !=
        std::string::npos);
}

TEST_CASE("metrics: a malformed or taken address is a one-line UsageError") {
  Metrics& m = Metrics::get();
  CHECK_THROWS_AS(m.serve("localhost"), UsageError);
  CHECK_THROWS_AS(m.serve("127.0.0.1:http"), UsageError);
  // A port another process listens on.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const std::string taken = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  try {
    m.serve(taken);
    FAIL("serving on a port in use did not fail");
  } catch (const UsageError& e) {
    CHECK(std::string(e.what()).rfind("cannot serve metrics on " + taken + ": ", 0) == 0);
  }
  ::close(fd);
}

TEST_CASE("metrics: every series the Grafana dashboard queries is one migcheck serves") {
  std::ifstream in(std::string(MIGCHECK_SOURCE_DIR) + "/deploy/grafana-dashboard.json");
  REQUIRE(in);
  const auto dashboard = nlohmann::json::parse(in);
  Metrics& m = Metrics::get();
  m.serve("127.0.0.1:0");
  // Every family shows once it has a sample.
  m.run_state("compare", "running");
  m.keys_scanned("target", 1);
  m.keys_copied(1);
  m.differences("missing", 1);
  m.events("applied", 1);
  m.replication_lag(0.1);
  m.reconnect("connection lost");
  m.waited("BUSY", 0.1);
  const std::string text = scrape(m.port());
  std::set<std::string> served;
  const std::regex sample_name(R"(^(migcheck_[a-z_]+?)(_bucket|_sum|_count)?[{ ])");
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch mt;
    if (std::regex_search(line, mt, sample_name)) {
      served.insert(mt[1].str());
      served.insert(mt[1].str() + mt[2].str());
    }
  }
  int queried = 0;
  const std::regex used(R"(migcheck_[a-z_]+)");
  for (const auto& panel : dashboard.at("panels"))
    for (const auto& target : panel.at("targets")) {
      const std::string expr = target.at("expr");
      for (auto it = std::sregex_iterator(expr.begin(), expr.end(), used);
           it != std::sregex_iterator(); ++it) {
        INFO(it->str());
        CHECK(served.count(it->str()) == 1);
        ++queried;
      }
    }
  CHECK(queried >= 10);
}
