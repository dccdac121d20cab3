// Helpers shared by the tests that kill, restart or fail over servers under
// a run (live_failover_test, cluster_target_test, loading_restart_test):
// polling, reading a spawned run's log, the roles and slot owners of a
// TestCluster's nodes, found by port so that a killed node is never asked,
// a reshard, and the per-key oracle of a cluster source against a target.
#pragma once

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

#include "server_fixture.h"

namespace migcheck::test {

// Polls `done` every 50 ms for up to `timeout`.
template <class F>
bool eventually(F done, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

inline std::string read_all(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Every replica linked and holding as many keys as its primary.
inline bool replicated(TestCluster& c) {
  for (int i = 0; i < c.size(); ++i) {
    auto role = c.node(i).reply({"ROLE"});
    if (role.elements.empty() || role.elements[0].str != "slave") continue;
    if (c.node(i).cmd({"INFO", "replication"}).find("master_link_status:up") == std::string::npos)
      return false;
    const int port = static_cast<int>(std::stol(role.elements[2].text()));
    for (int j = 0; j < c.size(); ++j)
      if (c.node(j).port() == port &&
          c.node(j).reply({"DBSIZE"}).integer != c.node(i).reply({"DBSIZE"}).integer)
        return false;
  }
  return true;
}

// The node (index) to which node `ask` (alive) says `slot` belongs; -1 if none.
inline int owner_of(TestCluster& c, int ask, int slot) {
  auto slots = c.node(ask).reply({"CLUSTER", "SLOTS"});
  for (const auto& range : slots.elements)
    if (range.elements.size() >= 3 && range.elements[0].integer <= slot &&
        slot <= range.elements[1].integer)
      for (int i = 0; i < c.size(); ++i)
        if (c.node(i).port() == range.elements[2].elements[1].integer) return i;
  return -1;
}

// The replica (index) of primary `primary`; -1 if none.
inline int replica_of(TestCluster& c, int primary) {
  for (int i = 0; i < c.size(); ++i) {
    if (i == primary) continue;
    auto role = c.node(i).reply({"ROLE"});
    if (role.elements.size() >= 3 && role.elements[0].str == "slave" &&
        std::stol(role.elements[2].text()) == c.node(primary).port())
      return i;
  }
  return -1;
}

// Kills (SIGKILL) the primary that owns slot 16383 (never the seed, node 0,
// when the cluster was made by TestCluster), then waits until its replica
// holds the slots. Returns the replica's index.
inline int kill_last_primary_and_wait(TestCluster& c) {
  const int victim = owner_of(c, 0, 16383);
  const int heir = replica_of(c, victim);
  if (victim <= 0 || heir < 0) throw std::runtime_error("no killable primary with a replica");
  c.node(victim).kill9();
  if (!eventually([&] { return owner_of(c, 0, 16383) == heir; }, std::chrono::seconds(20)))
    throw std::runtime_error("the replica was not promoted");
  return heir;
}

// Every key of the cluster's live primaries, with the node holding it.
inline std::map<std::string, int> source_keys(TestCluster& c) {
  std::map<std::string, int> keys;
  for (int i = 0; i < c.size(); ++i) {
    if (!c.node(i).running()) continue;
    auto role = c.node(i).reply({"ROLE"});
    if (role.elements.empty() || role.elements[0].str != "master") continue;
    for (const auto& k : c.node(i).reply({"KEYS", "*"}).elements) keys[k.str] = i;
  }
  return keys;
}

// The target holds exactly the source's keys (plus `extra` keys), each with
// the source's DEBUG DIGEST-VALUE. `why` says what differs.
inline bool target_equals(TestCluster& c, TestServer& target, long long extra, std::string& why) {
  const auto keys = source_keys(c);
  const long long size = target.reply({"DBSIZE"}).integer;
  if (size != static_cast<long long>(keys.size()) + extra) {
    why = "target holds " + std::to_string(size) + " keys, source " + std::to_string(keys.size());
    return false;
  }
  for (const auto& [k, node] : keys)
    if (target.debug_digest_value(k) != c.node(node).debug_digest_value(k)) {
      why = "value of " + k + " differs";
      return false;
    }
  why.clear();
  return true;
}

// Moves `slots` slots from primary `from` to primary `to` with
// `redis-cli --cluster reshard` (MIGRATING/IMPORTING, MIGRATE, SETSLOT NODE);
// throws if it fails.
inline void reshard(TestCluster& c, int from, int to, int slots) {
  auto r = run_process(
      {c.node(0).cli_binary(), "--cluster", "reshard",
       "127.0.0.1:" + std::to_string(c.node(to).port()), "--cluster-from",
       c.node(from).cmd({"CLUSTER", "MYID"}), "--cluster-to", c.node(to).cmd({"CLUSTER", "MYID"}),
       "--cluster-slots", std::to_string(slots), "--cluster-yes"},
      std::chrono::seconds(120));
  if (!r.ok()) throw std::runtime_error("redis-cli --cluster reshard failed: " + r.err);
}

}  // namespace migcheck::test
