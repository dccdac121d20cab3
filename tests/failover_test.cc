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
#include "run_fixture.h"
#include "scan_drain.h"
#include "scanner.h"
#include "server_fixture.h"
#include "store.h"
#include "uri.h"

using namespace migcheck;
using namespace std::chrono_literals;
using migcheck::test::TestCluster;
using migcheck::test::TestServer;

namespace {

// Every replica linked and holding its primary's keys, within 30 s.
void wait_replicated(TestCluster& c) {
  REQUIRE(migcheck::test::eventually([&] { return migcheck::test::replicated(c); }, 30s));
}

int master_owning_slot(TestCluster& c, int slot) {
  return migcheck::test::owner_of(c, 0, slot);
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
  auto got = migcheck::test::first_slot_pages(s, 3);
  cluster.node(victim).kill9();
  migcheck::test::drain(s, got);
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
  return migcheck::test::tmp_file("failover", name);
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

// A cluster source (fast failover) of 6000 keys, its replicas in sync, and
// a standalone target differing in 30 values.
struct ComparedPair {
  TestCluster cluster{migcheck::test::ServerOptions{.config = {{"cluster-node-timeout", "1000"}}},
                      3, 1};
  TestServer target;
  ComparedPair() {
    load_pair(cluster, target, 6000, 30);
    wait_replicated(cluster);
  }
  // A compare (`extra` options beside the usual ones) with `event` landed
  // after `after` while it runs; the result must be exact. `name` names its
  // files.
  void compare_through(const std::string& name, const std::vector<std::string>& extra,
                       std::chrono::milliseconds after, const std::function<void()>& event);
};

void ComparedPair::compare_through(const std::string& name, const std::vector<std::string>& extra,
                                   std::chrono::milliseconds after,
                                   const std::function<void()>& event) {
  INFO(name);
  std::vector<std::string> args{cluster.seed_uri(), target.uri(), "--max-ops-per-sec", "4000"};
  args.insert(args.end(), extra.begin(), extra.end());
  migcheck::test::compare_through(args, store_path(name), {.keys = 6000, .differences = 30}, after,
                                  event);
}

}  // namespace

TEST_CASE_METHOD(ComparedPair,
                 "failover: compare over a cluster source whose master is killed mid-run is exact",
                 "[failover][integration]") {
  const int victim = master_owning_slot(cluster, 16383);
  REQUIRE(victim > 0);
  compare_through("compare", {}, 1500ms, [&] { cluster.node(victim).kill9(); });
}

TEST_CASE_METHOD(ComparedPair,
                 "failover: compare while a slot range is resharded, and with a replica killed "
                 "under --read-from replica, is exact",
                 "[failover][integration]") {
  // The last slots (not read yet) move to the seed's node.
  const int from = master_owning_slot(cluster, 16383), to = master_owning_slot(cluster, 0);
  compare_through("reshard", {}, 1000ms, [&] { migcheck::test::reshard(cluster, from, to, 2000); });
  // The replica that serves the last slots dies; reads fall back.
  compare_through("replica", {"--read-from", "replica"}, 1000ms, [&] {
    const int replica = migcheck::test::replica_of(cluster, master_owning_slot(cluster, 16383));
    if (replica < 0) FAIL("no replica of the last slots' primary");
    cluster.node(replica).kill9();
  });
}
