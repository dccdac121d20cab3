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
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "cli_runner.h"
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

// One sample of every family (run_state's "running" then "done"), with the
// values the first test checks.
void sample_every_family(Metrics& m) {
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
}

}  // namespace

TEST_CASE("metrics: counters, gauges and the lag histogram are served at /metrics") {
  Metrics& m = Metrics::get();
  m.serve("127.0.0.1:0");
  REQUIRE(m.port() > 0);
  sample_every_family(m);
  const std::string text = scrape(m.port());
  CHECK(text.find("migcheck_keys_checked_total 7") != std::string::npos);
  CHECK(text.find("migcheck_keys_scanned_total{side=\"source\"} 10") != std::string::npos);
  CHECK(text.find("migcheck_keys_written_total{outcome=\"copied\"} 5") != std::string::npos);
  CHECK(text.find("migcheck_differences{kind=\"value\"} 3") != std::string::npos);
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
  sample_every_family(m);  // every family shows once it has a sample
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

namespace {

// A real Prometheus server on loopback scraping `target` every second, with
// its own throwaway storage.
struct Prometheus {
  std::filesystem::path dir;
  int port = migcheck::test::free_port();
  std::unique_ptr<migcheck::test::Spawned> proc;

  explicit Prometheus(int target) {
    dir = std::filesystem::temp_directory_path() /
          ("migcheck-prometheus-" + std::to_string(::getpid()) + "-" + std::to_string(port));
    std::filesystem::create_directories(dir / "data");
    std::ofstream(dir / "prometheus.yml")
        << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "scrape_configs:\n  - job_name: migcheck\n    static_configs:\n"
        << "      - targets: ['127.0.0.1:" << target << "']\n";
    proc = std::make_unique<migcheck::test::Spawned>(
        std::vector<std::string>{"/usr/bin/prometheus",
                                 "--config.file=" + (dir / "prometheus.yml").string(),
                                 "--storage.tsdb.path=" + (dir / "data").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port)},
        (dir / "out").string(), (dir / "err").string(), /*other_program=*/true);
  }
  ~Prometheus() {
    proc.reset();
    std::filesystem::remove_all(dir);
  }
  // The value of an instant query's first sample, or -1 while there is none.
  double query(const std::string& promql) {
    auto r = run_process({"curl", "-sS", "--max-time", "5", "-G",
                          "http://127.0.0.1:" + std::to_string(port) + "/api/v1/query",
                          "--data-urlencode", "query=" + promql},
                         std::chrono::seconds(10));
    if (r.exit_code != 0) return -1;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded() || j.value("status", "") != "success") return -1;
    const auto& result = j["data"]["result"];
    if (!result.is_array() || result.empty()) return -1;
    return std::stod(result[0]["value"][1].get<std::string>());
  }
};

}  // namespace

TEST_CASE("metrics: a real Prometheus scrapes a live replicate", "[integration]") {
  REQUIRE(std::filesystem::exists("/usr/bin/prometheus"));  // scripts/setup.sh installs it
  migcheck::test::TestServer source(
      migcheck::test::ServerOptions{.config = {{"notify-keyspace-events", "KEA"}}});
  migcheck::test::TestServer target;
  std::vector<std::vector<std::string>> keys;
  for (int i = 0; i < 200; ++i) keys.push_back({"SET", "k" + std::to_string(i), "v"});
  source.pipeline(keys);
  const int metrics_port = migcheck::test::free_port();
  const auto dir = std::filesystem::temp_directory_path();
  const std::string tag = std::to_string(::getpid());
  migcheck::test::Spawned run(
      {"replicate", "--mode", "live", "--idle", "60s", "--quiet", "--metrics",
       "127.0.0.1:" + std::to_string(metrics_port), "--store",
       (dir / ("migcheck-metrics-" + tag + ".db")).string(), source.uri(), target.uri()},
      (dir / ("migcheck-metrics-" + tag + ".out")).string(),
      (dir / ("migcheck-metrics-" + tag + ".err")).string());
  Prometheus prom(metrics_port);
  // The scan pass copies 200 keys; live events copy 50 more.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  double copied = -1;
  bool live_written = false;
  while (std::chrono::steady_clock::now() < until) {
    copied = prom.query("migcheck_keys_written_total{outcome=\"copied\"}");
    if (copied >= 200 && !live_written) {
      std::vector<std::vector<std::string>> more;
      for (int i = 0; i < 50; ++i) more.push_back({"SET", "live" + std::to_string(i), "v"});
      source.pipeline(more);
      live_written = true;
    }
    if (copied >= 250) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  CHECK(copied >= 250);
  CHECK(prom.query("migcheck_events_total{event=\"applied\"}") >= 50);
  CHECK(prom.query("migcheck_replication_lag_seconds_count") >= 50);
  CHECK(prom.query("migcheck_run_state{command=\"replicate\",state=\"running\"}") == 1);
  run.signal(SIGINT);
  run.wait();
  for (const char* ext : {".db", ".db-wal", ".db-shm", ".out", ".err"})
    std::filesystem::remove(dir / ("migcheck-metrics-" + tag + ext));
}
