// Live mode (replicate/live.h) across a cluster failover, against a real
// 3-master cluster with one replica each: a source master is killed with
// kill -9 while `migcheck replicate --mode live` runs; the subscriptions
// must move to the promoted replica, so writes and deletions made there reach
// the target (checked with DEBUG DIGEST-VALUE), and the run's totals record
// the gap and the move. Also a slot range resharded under live mode.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.h"
#include "run_fixture.h"
#include "server_fixture.h"
#include "store.h"

using namespace std::chrono_literals;
namespace t = migcheck::test;

namespace {

using t::eventually;
using t::owner_of;

}  // namespace

TEST_CASE("live failover: subscriptions move to the promoted replica; its writes reach the target",
          "[failover][live][integration]") {
  t::FailoverPair src([](const std::string& k, int) {
    return std::vector<std::string>{"SET", k, "v"};
  });
  auto& [cluster, target, victim, heir] = src;
  t::LiveRun run(cluster.seed_uri(), target.uri(), t::tmp_file("livefo", "live"));
  cluster.node(victim).kill9();
  // The replica is promoted (any surviving node says so).
  REQUIRE(eventually([&] { return owner_of(cluster, 0, 16383) == heir; }, 20s));
  // migcheck subscribes there on its own: without it, no event of the heir
  // would ever be seen again.
  const bool moved = eventually([&] { return run.logged(src.heir_addr() + " subscribed"); }, 20s);
  INFO(run.err());
  REQUIRE(moved);

  // Writes and deletions on the promoted node, after its subscription:
  // carried by its events alone.
  auto on_heir = [&](const std::string& k) { return owner_of(cluster, 0, t::key_slot(k)) == heir; };
  std::vector<std::string> written, deleted;
  for (int i = 0; written.size() < 100; ++i) {
    const std::string k = "after:" + std::to_string(i);
    if (!on_heir(k)) continue;
    cluster.node(heir).pipeline({{"HSET", k, "f", std::to_string(i), "g", "x"}});
    written.push_back(k);
  }
  for (int i = 0; i < 300 && deleted.size() < 20; ++i) {
    const std::string k = "pre:" + std::to_string(i);
    if (!on_heir(k)) continue;
    REQUIRE(target.cmd({"EXISTS", k}) == "1");  // copied by the scan
    cluster.node(heir).pipeline({{"DEL", k}});
    deleted.push_back(k);
  }
  REQUIRE(deleted.size() == 20);
  const bool arrived = eventually(
      [&] {
        for (const auto& k : written)
          if (target.debug_digest_value(k) != cluster.node(heir).debug_digest_value(k))
            return false;
        for (const auto& k : deleted)
          if (target.cmd({"EXISTS", k}) != "0") return false;
        return true;
      },
      15s);
  CHECK(arrived);
  REQUIRE(run.running());  // the run was still going through the event
  const auto totals = run.stop(0);
  INFO(totals.dump());
  CHECK(totals["event_gaps"]["count"].get<int>() >= 1);
  CHECK(totals["event_gaps"]["open"] == 0);
  CHECK(totals["event_gaps"]["subscription_moves"].get<int>() >= 1);
  CHECK(totals["scan_passes"].get<int>() >= 2);  // the rescan after the move
  // The promoted node's keys all reached the target.
  CHECK(target.cmd({"DBSIZE"}) == std::to_string(300 - 20 + 100));
}

TEST_CASE("live failover: a source slot range resharded under live mode; the target ends exact",
          "[failover][live][integration]") {
  t::TestCluster cluster(t::ServerOptions{.config = {{"notify-keyspace-events", "KEA"}}}, 3, 0);
  t::TestServer target;
  for (int i = 0; i < 600; ++i)
    cluster.cmd_routed({"SADD", "pre:" + std::to_string(i), "a", std::to_string(i)});
  t::LiveRun run(cluster.seed_uri(), target.uri(), t::tmp_file("livefo", "reshard"));
  // Writes and deletions across every slot while keys move: MIGRATE deletes
  // each key on the old owner (a del event there) after restoring it on the
  // new one, so a copy must follow the key to where it lives now.
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int i = 0; writing; ++i) {
      cluster.cmd_routed({"SADD", "pre:" + std::to_string(i % 600), "w" + std::to_string(i)});
      if (i % 7 == 0) cluster.cmd_routed({"DEL", "pre:" + std::to_string((i * 13) % 600)});
      cluster.cmd_routed({"SET", "new:" + std::to_string(i % 400), std::to_string(i)});
      std::this_thread::sleep_for(2ms);
    }
  });
  REQUIRE(run.running());
  t::reshard(cluster, owner_of(cluster, 0, 16383), owner_of(cluster, 0, 0), 1500);
  writing = false;
  writer.join();
  REQUIRE(run.running());  // the reshard happened under the live run
  t::check_converges(cluster, target, 0, 20s, run);
  const auto totals = run.stop(0);
  INFO(totals.dump());
  CHECK(totals["failed"] == 0);
  CHECK(totals["event_gaps"]["open"] == 0);
}
