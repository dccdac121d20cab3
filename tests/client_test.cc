// Client against real servers: slot routing across a 3-master cluster,
// MOVED and ASK during a slot migration, reconnects and giving up.
#include "client.h"

#include <catch2/catch_test_macros.hpp>

#include <thread>

#include "errors.h"
#include "fault_proxy.h"
#include "server_fixture.h"

using namespace migcheck;
namespace t = migcheck::test;

namespace {

ClientOptions quick(Millis retry_for = Millis(5000)) {
  ClientOptions o;
  o.conn.connect_timeout = Millis(2000);
  o.conn.command_timeout = Millis(3000);
  o.retry_for = retry_for;
  return o;
}

std::string node_id(t::TestServer& s) {
  return s.cmd({"CLUSTER", "MYID"});
}

}  // namespace

TEST_CASE("client: routes keyed batches across a 3-master cluster", "[integration][cluster]") {
  t::TestCluster cluster;
  Client c(parse_uri(cluster.seed_uri()), quick());
  REQUIRE(c.cluster());
  CHECK(c.scan_nodes().size() == 3);
  std::vector<Command> sets, gets;
  for (int i = 0; i < 600; ++i) {
    std::string k = "key:" + std::to_string(i) + std::string("\0\xff", 2);
    sets.push_back({"SET", k, std::to_string(i)});
    gets.push_back({"GET", k});
  }
  for (auto& r : c.execute(sets)) CHECK(r.str == "OK");
  auto got = c.execute(gets);
  for (int i = 0; i < 600; ++i) CHECK(got[i].str == std::to_string(i));
  // Every node got its share: the keys really were spread by slot.
  for (int n = 0; n < 3; ++n) CHECK(std::stoi(cluster.node(n).cmd({"DBSIZE"})) > 100);
}

TEST_CASE("client: follows MOVED after a slot moved and ASK during migration",
          "[integration][cluster]") {
  t::TestCluster cluster;
  Client c(parse_uri(cluster.seed_uri()), quick());
  const std::string moved_key = "moved-key", asked_key = "asked-key";
  c.execute(std::vector<Command>{{"SET", moved_key, "m"}, {"SET", asked_key, "a"}});

  auto migrate_slot = [&](const std::string& key, bool finish) {
    t::TestServer& from = cluster.node_for_key(key);
    t::TestServer* to = nullptr;
    for (int i = 0; i < cluster.size(); ++i)
      if (&cluster.node(i) != &from) to = &cluster.node(i);
    std::string slot = std::to_string(key_slot(key));
    to->cmd({"CLUSTER", "SETSLOT", slot, "IMPORTING", node_id(from)});
    from.cmd({"CLUSTER", "SETSLOT", slot, "MIGRATING", node_id(*to)});
    REQUIRE(from.cmd({"MIGRATE", "127.0.0.1", std::to_string(to->port()), key, "0", "5000"}) ==
            "OK");
    if (finish) {
      for (int i = 0; i < cluster.size(); ++i)
        cluster.node(i).cmd({"CLUSTER", "SETSLOT", slot, "NODE", node_id(*to)});
    }
  };
  migrate_slot(moved_key, true);
  migrate_slot(asked_key, false);  // left MIGRATING: the old owner answers ASK

  auto r =
      c.execute(std::vector<Command>{{"GET", moved_key}, {"GET", asked_key}, {"GET", moved_key}});
  CHECK(r[0].str == "m");
  CHECK(r[1].str == "a");
  CHECK(r[2].str == "m");
  // The slot map was refreshed: the moved key now routes directly.
  cluster.refresh_slots();
  CHECK(c.nodes()[c.node_for_key(moved_key)].endpoint.port ==
        cluster.node_for_key(moved_key).port());
}

TEST_CASE("client: reconnects after a restart and re-issues the batch", "[integration]") {
  t::TestServer s;
  Client c(parse_uri(s.uri()), quick());
  CHECK(c.execute(std::vector<Command>{{"SET", "a", "1"}})[0].str == "OK");
  s.restart();  // same port, data gone
  auto r = c.execute(std::vector<Command>{{"SET", "b", "2"}, {"GET", "b"}});
  CHECK(r[1].str == "2");
  CHECK(c.on_node(0, {"DBSIZE"}).integer == 1);
}

TEST_CASE("client: a server that stays down ends in a clear error after --retry-for",
          "[integration]") {
  t::TestServer s;
  Client c(parse_uri(s.uri()), quick(Millis(800)));
  s.stop();
  auto start = std::chrono::steady_clock::now();
  try {
    c.execute(std::vector<Command>{{"GET", "a"}});
    FAIL("no error");
  } catch (const ConnectionError& e) {
    CHECK(std::string(e.what()).find("giving up on redis://127.0.0.1:") == 0);
    CHECK_FALSE(e.retryable);
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("client: clock offset is measured from TIME", "[integration]") {
  t::TestServer s;
  Client c(parse_uri(s.uri()), quick());
  // Same machine: the server's clock is ours, within scheduling noise.
  CHECK(std::llabs(c.clock_offset_ms(0)) < 50);
}

TEST_CASE("client: a write cut off after the server applied it is LOST, never sent twice",
          "[integration][fault]") {
  t::TestServer server;
  t::FaultProxy proxy(server.port());
  Client c(parse_uri(proxy.uri()), quick());
  const std::vector<Command> push{{"SET", "before", "1"}, {"RPUSH", "list", "a", "b"}};

  // Sent again: the server ends up with the elements twice. This is why
  // writes that are not idempotent must not be resent.
  proxy.cut_after("RPUSH");
  auto resent = c.execute(push);
  CHECK(proxy.cuts() == 1);
  CHECK(resent[1].integer == 4);
  CHECK(server.cmd({"LLEN", "list"}) == "4");

  server.cmd({"DEL", "list"});
  proxy.cut_after("RPUSH");
  auto once = c.execute(push, Resend::Never);
  CHECK(proxy.cuts() == 2);
  REQUIRE(once.size() == 2);
  for (const auto& r : once) {
    CHECK(is_lost_reply(r));
    CHECK(r.str.find("may or may not have been applied") != std::string::npos);
  }
  CHECK(server.cmd({"LLEN", "list"}) == "2");  // applied once, and only once

  // The next batch goes out on a new connection.
  auto next = c.execute(std::vector<Command>{{"RPUSH", "list", "c"}}, Resend::Never);
  CHECK(next[0].integer == 3);
}
