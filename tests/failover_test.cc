// Failovers under a run against a real 3-master cluster with one replica
// each (short cluster-node-timeout): a master killed with kill -9 mid
// enumeration is followed to its promoted replica with an exact key set;
// keyed reads and `migcheck info` keep working after the failover.
#include <catch2/catch_test_macros.hpp>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"
#include "client.h"
#include "rate_limiter.h"
#include "scanner.h"
#include "server_fixture.h"
#include "store.h"
#include "uri.h"

using namespace migcheck;
using namespace std::chrono_literals;
using migcheck::test::TestCluster;
using migcheck::test::TestServer;

namespace {

// The cluster's masters and, for each, whether its replica holds its keys.
void wait_replicated(TestCluster& c) {
  const auto until = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    bool ok = true;
    for (int i = 0; i < c.size(); ++i) {
      auto role = c.node(i).reply({"ROLE"});
      if (role.elements.empty() || role.elements[0].str != "slave") continue;
      auto info = c.node(i).cmd({"INFO", "replication"});
      if (info.find("master_link_status:up") == std::string::npos) ok = false;
      const int port = static_cast<int>(std::stol(role.elements[2].text()));
      for (int j = 0; j < c.size(); ++j)
        if (c.node(j).port() == port &&
            c.node(j).reply({"DBSIZE"}).integer != c.node(i).reply({"DBSIZE"}).integer)
          ok = false;
    }
    if (ok) return;
    if (std::chrono::steady_clock::now() > until) FAIL("replicas did not catch up");
    std::this_thread::sleep_for(100ms);
  }
}

int master_owning_slot(TestCluster& c, int slot) {
  auto slots = c.node(0).reply({"CLUSTER", "SLOTS"});
  for (const auto& range : slots.elements)
    if (range.elements[0].integer <= slot && slot <= range.elements[1].integer)
      for (int i = 0; i < c.size(); ++i)
        if (c.node(i).port() == range.elements[2].elements[1].integer) return i;
  return -1;
}

}  // namespace

TEST_CASE("failover: a master killed mid-enumeration; its replica's keys counted exactly",
          "[failover][integration]") {
  TestCluster cluster(migcheck::test::ServerOptions{.config = {{"cluster-node-timeout", "1000"}}},
                      3, 1);
  std::set<std::string> keys;
  for (int i = 0; i < 12000; ++i) {
    std::string k = "key:" + std::to_string(i);
    keys.insert(k);
    cluster.cmd_routed({"SET", k, "v"});
  }
  wait_replicated(cluster);
  const int victim = master_owning_slot(cluster, 16383);
  REQUIRE(victim > 0);  // not the seed

  ClientOptions co;
  co.retry_for = Millis(30000);
  Client client(parse_uri(cluster.seed_uri()), co);
  RateLimiter limiter(2000);
  Scanner s(client, ScanOptions{.count = 100, .limiter = &limiter});
  REQUIRE(s.by_slot());
  std::vector<std::string> got;
  for (int i = 0; i < 3; ++i) s.next(got);
  cluster.node(victim).kill9();
  while (s.next(got)) {
  }
  CHECK(got.size() == keys.size());
  CHECK(std::set<std::string>(got.begin(), got.end()) == keys);

  // Keyed reads go to the promoted replica.
  std::vector<Command> gets;
  for (int i = 0; i < 2000; ++i) gets.push_back({"GET", "key:" + std::to_string(i)});
  auto replies = client.execute(gets);
  for (const auto& r : replies) REQUIRE(r.str == "v");

  // A fresh `migcheck info` skips the dead node (health "fail").
  auto info = migcheck::test::run_migcheck({"info", cluster.seed_uri()}, {}, 60s);
  INFO(info.err);
  CHECK(info.exit_code == 0);
}

namespace {

std::string store_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("migcheck-failover-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

// A cluster source of `n` keys and a standalone target equal but for
// `diffs` changed values; the compare's exact result is known.
void load_pair(TestCluster& src, TestServer& tgt, int n, int diffs) {
  std::vector<std::vector<std::string>> t;
  for (int i = 0; i < n; ++i) {
    std::string k = "key:" + std::to_string(i);
    src.cmd_routed({"SET", k, "v"});
    t.push_back({"SET", k, i < diffs ? "other" : "v"});
  }
  tgt.pipeline(t);
}

}  // namespace

TEST_CASE("failover: compare over a cluster source whose master is killed mid-run is exact",
          "[failover][integration]") {
  TestCluster cluster(migcheck::test::ServerOptions{.config = {{"cluster-node-timeout", "1000"}}},
                      3, 1);
  TestServer target;
  load_pair(cluster, target, 6000, 30);
  wait_replicated(cluster);
  const int victim = master_owning_slot(cluster, 16383);
  REQUIRE(victim > 0);
  const std::string store = store_path("compare.db");
  std::filesystem::remove(store);
  migcheck::test::Spawned proc(
      {"compare", cluster.seed_uri(), target.uri(), "--store", store, "--rounds", "1", "--quiet",
       "--max-ops-per-sec", "4000", "--retry-for", "30s"},
      store_path("out"), store_path("err"));
  std::this_thread::sleep_for(1500ms);
  cluster.node(victim).kill9();
  const int code = proc.wait(120s);
  std::ifstream err(store_path("err"));
  std::string text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
  INFO(text);
  REQUIRE(code == 1);
  Store s(store, false);
  auto rec = s.run(1);
  REQUIRE(rec);
  auto totals = nlohmann::json::parse(rec->totals_json);
  CHECK(totals["keys_checked"] == 6000);
  CHECK(totals["differences"] == 30);
}

TEST_CASE(
    "failover: compare while a slot range is resharded, and with a replica killed under "
    "--read-from replica, is exact",
    "[failover][integration]") {
  TestCluster cluster(migcheck::test::ServerOptions{.config = {{"cluster-node-timeout", "1000"}}},
                      3, 1);
  TestServer target;
  load_pair(cluster, target, 6000, 30);
  wait_replicated(cluster);
  auto run = [&](const std::string& name, std::vector<std::string> extra,
                 const std::function<void()>& event) {
    const std::string store = store_path(name + ".db");
    std::filesystem::remove(store);
    std::vector<std::string> args{
        "compare", cluster.seed_uri(), target.uri(), "--store",           store, "--rounds", "1",
        "--quiet", "--retry-for",      "30s",        "--max-ops-per-sec", "4000"};
    args.insert(args.end(), extra.begin(), extra.end());
    migcheck::test::Spawned proc(args, store_path(name + ".out"), store_path(name + ".err"));
    std::this_thread::sleep_for(1000ms);
    event();
    const int code = proc.wait(120s);
    std::ifstream err(store_path(name + ".err"));
    std::string text((std::istreambuf_iterator<char>(err)), std::istreambuf_iterator<char>());
    INFO(name << ": " << text);
    REQUIRE(code == 1);
    Store s(store, false);
    auto totals = nlohmann::json::parse(s.run(1)->totals_json);
    CHECK(totals["keys_checked"] == 6000);
    CHECK(totals["differences"] == 30);
  };
  // The last slots (not read yet) move to the seed's node.
  const int from = master_owning_slot(cluster, 16383), to = master_owning_slot(cluster, 0);
  run("reshard", {}, [&] {
    auto rr = migcheck::test::run_process(
        {cluster.node(0).cli_binary(), "--cluster", "reshard",
         "127.0.0.1:" + std::to_string(cluster.node(to).port()), "--cluster-from",
         cluster.node(from).cmd({"CLUSTER", "MYID"}), "--cluster-to",
         cluster.node(to).cmd({"CLUSTER", "MYID"}), "--cluster-slots", "2000", "--cluster-yes"},
        120s);
    REQUIRE(rr.ok());
  });
  // The replica that serves the last slots dies; reads fall back.
  run("replica", {"--read-from", "replica"}, [&] {
    const int owner_port = cluster.node(master_owning_slot(cluster, 16383)).port();
    for (int i = 0; i < cluster.size(); ++i) {
      auto role = cluster.node(i).reply({"ROLE"});
      if (role.elements.size() >= 3 && role.elements[0].str == "slave" &&
          std::stol(role.elements[2].text()) == owner_port) {
        cluster.node(i).kill9();
        return;
      }
    }
    FAIL("no replica of the last slots' primary");
  });
}
