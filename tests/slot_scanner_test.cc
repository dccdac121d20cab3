// Tests of slot-by-slot enumeration (src/slot_scanner.h) against real
// clusters: exact key sets (each key once), resume from the slots done, and
// a slot range resharded with redis-cli while the enumeration runs.
#include <catch2/catch_test_macros.hpp>

#include <atomic>
#include <chrono>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client.h"
#include "rate_limiter.h"
#include "scan_drain.h"
#include "scanner.h"
#include "server_fixture.h"
#include "slot_scanner.h"
#include "uri.h"

using namespace migcheck;
using namespace std::chrono_literals;
using migcheck::test::drain;
using migcheck::test::TestCluster;

namespace {

std::set<std::string> load(TestCluster& cluster, int n) {
  std::set<std::string> keys;
  std::vector<std::vector<std::vector<std::string>>> per(static_cast<size_t>(cluster.size()));
  for (int i = 0; i < n; ++i) {
    // A few hash-tagged keys pile up in one slot.
    std::string k = i % 50 == 0 ? "{tag}:" + std::to_string(i) : "key:" + std::to_string(i);
    keys.insert(k);
    auto& node = cluster.node_for_key(k);
    for (int j = 0; j < cluster.size(); ++j)
      if (&cluster.node(j) == &node) per[static_cast<size_t>(j)].push_back({"SET", k, "v"});
  }
  for (int j = 0; j < cluster.size(); ++j)
    if (!per[static_cast<size_t>(j)].empty()) cluster.node(j).pipeline(per[static_cast<size_t>(j)]);
  return keys;
}

std::string node_id(migcheck::test::TestServer& s) {
  return s.reply({"CLUSTER", "MYID"}).str;
}

// `got` holds every key of `keys`, each once.
void check_every_key_once(const std::vector<std::string>& got, const std::set<std::string>& keys) {
  CHECK(got.size() == keys.size());
  CHECK(std::set<std::string>(got.begin(), got.end()) == keys);
}

}  // namespace

TEST_CASE("slot scanner: slot ranges round trip", "[slot_scanner]") {
  std::bitset<kSlots> s;
  CHECK(slot_ranges(s).empty());
  s.set(0);
  s.set(5);
  for (int i = 100; i <= 16383; ++i) s.set(i);
  CHECK(slot_ranges(s) == "0,5,100-16383");
  CHECK(parse_slot_ranges("0,5,100-16383") == s);
  CHECK_THROWS(parse_slot_ranges("5-3"));
  CHECK_THROWS(parse_slot_ranges("16384"));
}

TEST_CASE("slot scanner: a cluster is enumerated exactly, and resumes from the slots done",
          "[slot_scanner][integration]") {
  TestCluster cluster;
  const auto keys = load(cluster, 6000);
  Client client(parse_uri(cluster.seed_uri()), ClientOptions{});
  {
    Scanner s(client, ScanOptions{.count = 200});
    REQUIRE(s.by_slot());
    check_every_key_once(drain(s), keys);
    CHECK(s.keys_seen() == keys.size());
  }
  // Stopped after a few pages; a new scanner continues from the position.
  std::vector<std::string> got;
  nlohmann::json pos;
  {
    Scanner s(client, ScanOptions{.count = 200});
    for (int i = 0; i < 5; ++i) s.next(got);
    pos = s.cursors_json();
  }
  CHECK(got.size() < keys.size());
  Scanner s2(client, ScanOptions{.count = 200});
  s2.restore_position(pos);
  drain(s2, got);
  check_every_key_once(got, keys);
  // MATCH is applied to the slot pages as SCAN would.
  Scanner m(client, ScanOptions{.match = "{tag}*", .count = 200});
  CHECK(drain(m).size() == 120);
}

TEST_CASE("slot scanner: a slot range resharded during the enumeration: every key once",
          "[slot_scanner][integration]") {
  TestCluster cluster;
  const auto keys = load(cluster, 20000);
  ClientOptions co;
  Client client(parse_uri(cluster.seed_uri()), co);
  // Slowed down so that the reshard lands mid-run.
  RateLimiter limiter(3000);
  Scanner s(client, ScanOptions{.count = 100, .limiter = &limiter});
  auto got = migcheck::test::first_slot_pages(s, 3);
  // Slots of node 2 (the end of the range, not read yet) move to node 0.
  const std::string from = node_id(cluster.node(2)), to = node_id(cluster.node(0));
  std::atomic<bool> reshard_done{false};
  migcheck::test::ProcessResult rr;
  std::thread reshard([&] {
    rr = migcheck::test::run_process(
        {cluster.node(0).cli_binary(), "--cluster", "reshard",
         "127.0.0.1:" + std::to_string(cluster.node(0).port()), "--cluster-from", from,
         "--cluster-to", to, "--cluster-slots", "3000", "--cluster-yes", "--cluster-pipeline", "5"},
        120s);
    reshard_done = true;
  });
  bool overlapped = false;
  while (s.next(got))
    if (!reshard_done) overlapped = true;
  reshard.join();
  INFO(rr.out.substr(rr.out.size() > 2000 ? rr.out.size() - 2000 : 0) << rr.err);
  REQUIRE(rr.ok());
  CHECK(overlapped);
  CHECK(got.size() == keys.size());
  CHECK(std::set<std::string>(got.begin(), got.end()) == keys);
}

TEST_CASE("slot scanner: --read-from replica over a slot half migrated: every key once",
          "[slot_scanner][integration]") {
  TestCluster cluster(migcheck::test::ServerOptions{}, 3, 1);
  std::set<std::string> keys;
  std::vector<std::vector<std::string>> moving;
  for (int i = 0; i < 400; ++i) {
    keys.insert("{moving}:" + std::to_string(i));
    moving.push_back({"SET", "{moving}:" + std::to_string(i), "v"});
  }
  migcheck::test::TestServer& from = cluster.node_for_key("{moving}");
  from.pipeline(moving);
  for (int i = 0; i < 2000; ++i) {
    const std::string k = "key:" + std::to_string(i);
    keys.insert(k);
    cluster.cmd_routed({"SET", k, "v"});
  }
  migcheck::test::TestServer* to = &cluster.node(0) == &from ? &cluster.node(1) : &cluster.node(0);
  const std::string slot = std::to_string(migcheck::test::key_slot("{moving}"));
  to->cmd({"CLUSTER", "SETSLOT", slot, "IMPORTING", node_id(from)});
  from.cmd({"CLUSTER", "SETSLOT", slot, "MIGRATING", node_id(*to)});
  // Half of the slot's keys move; the migration then pauses (as a reshard
  // in progress does between batches).
  auto half = from.reply({"CLUSTER", "GETKEYSINSLOT", slot, "200"});
  std::vector<std::string> mig = {"MIGRATE", "127.0.0.1", std::to_string(to->port()), "", "0",
                                  "5000",    "KEYS"};
  for (auto& k : half.elements) mig.push_back(k.str);
  REQUIRE(from.cmd(mig) == "OK");
  // Every replica has applied its primary's writes (the deletions too).
  for (int attempt = 0;; ++attempt) {
    long long on_replicas = 0;
    for (int i = 0; i < cluster.size(); ++i)
      if (cluster.node(i).reply({"ROLE"}).elements.at(0).str == "slave")
        on_replicas += cluster.node(i).reply({"DBSIZE"}).integer;
    if (on_replicas == static_cast<long long>(keys.size())) break;
    REQUIRE(attempt < 300);
    std::this_thread::sleep_for(100ms);
  }
  ClientOptions co;
  co.read_from_replica = true;
  Client client(parse_uri(cluster.seed_uri()), co);
  Scanner s(client, ScanOptions{.count = 100});
  REQUIRE(s.by_slot());
  // The replica of the migrating node holds only the keys not moved yet,
  // and its view does not show the migration: read on the primary.
  check_every_key_once(drain(s), keys);
  CHECK(s.slot_scanner()->slots_to_primary() >= 1);
}
