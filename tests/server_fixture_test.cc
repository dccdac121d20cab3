// Tests of the test fixtures themselves (tests/server_fixture.h): real
// redis-server and valkey-server processes, TLS, ACLs, restarts and clusters.
#include "server_fixture.h"

#include "engines.h"

#include <catch2/catch_test_macros.hpp>

#include <signal.h>

#include <filesystem>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

using migcheck::test::Auth;
using migcheck::test::key_slot;
using migcheck::test::Reply;
using migcheck::test::ServerOptions;
using migcheck::test::TestCluster;
using migcheck::test::TestServer;
using namespace std::string_literals;

namespace {

bool is_hex40(const std::string& s) {
  return std::regex_match(s, std::regex("[0-9a-f]{40}"));
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

void check_binary_safe_roundtrip(TestServer& srv) {
  const std::string key = "bin\0key\r\n"s;
  const std::string value = "\0\1\2 value \xff\r\n"s;
  REQUIRE(srv.cmd({"SET", key, value}) == "OK");
  Reply got = srv.reply({"GET", key});
  CHECK(got.type == Reply::Type::Bulk);
  CHECK(got.str == value);
  CHECK(srv.cmd({"EXISTS", std::string("bin")}) == "0");
  CHECK(srv.reply({"GET", "missing"}).is_nil());
}

}  // namespace

TEST_CASE("fixture: redis-server starts and round-trips binary keys") {
  std::optional<TestServer> srv(std::in_place);
  CHECK(srv->running());
  CHECK(srv->pid() > 0);
  CHECK(srv->uri() == "redis://127.0.0.1:" + std::to_string(srv->port()));
  CHECK(std::filesystem::exists(srv->dir() + "/redis.conf"));
  CHECK(srv->cmd({"PING"}) == "PONG");
  check_binary_safe_roundtrip(*srv);
  CHECK(srv->cmd({"INFO", "server"}).find("redis_version:7.") != std::string::npos);

  // The destructor stops the process and removes the dir.
  const std::string dir = srv->dir();
  const pid_t pid = srv->pid();
  srv.reset();
  CHECK(!std::filesystem::exists(dir));
  CHECK(::kill(pid, 0) != 0);
}

TEST_CASE("fixture: valkey-server starts and round-trips binary keys") {
  if (!migcheck::test::have_binary("valkey-server")) SKIP("valkey-server not installed");
  TestServer srv(ServerOptions{.binary = "valkey-server"});
  CHECK(srv.cli_binary() == "valkey-cli");
  check_binary_safe_roundtrip(srv);
  CHECK(srv.cmd({"INFO", "server"}).find("valkey_version:8.") != std::string::npos);
  CHECK(srv.cli({"PING"}).out == "PONG\n");
}

TEST_CASE("fixture: replies are parsed structurally and pipelines are binary-safe") {
  TestServer srv;
  std::vector<std::vector<std::string>> load;
  for (int i = 0; i < 2500; ++i) {
    load.push_back({"HSET", "h\0"s + std::to_string(i), "f", std::to_string(i)});
  }
  srv.pipeline(load);
  CHECK(srv.reply({"DBSIZE"}).integer == 2500);

  srv.pipeline({{"XADD", "s", "1-1", "a", "1", "b", "2"}, {"XADD", "s", "2-1", "c", "3"}});
  Reply range = srv.reply({"XRANGE", "s", "-", "+"});
  REQUIRE(range.type == Reply::Type::Array);
  REQUIRE(range.elements.size() == 2);
  CHECK(range.elements[0].elements[0].str == "1-1");
  CHECK(range.elements[0].elements[1].elements.size() == 4);
  CHECK(srv.cmd({"XRANGE", "s", "-", "+"}) == "1-1\na\n1\nb\n2\n2-1\nc\n3");

  CHECK(starts_with(srv.cmd({"NOSUCHCOMMAND"}), "(error) ERR unknown command"));
  CHECK_THROWS_AS(srv.pipeline({{"SET", "x", "1"}, {"INCR", "s"}}), std::runtime_error);
  CHECK_NOTHROW(srv.pipeline({{"INCR", "s"}}, /*throw_on_error=*/false));

  std::vector<Reply> r = srv.replies({{"SELECT", "3"}, {"SET", "k", "v"}, {"DBSIZE"}});
  CHECK(r[2].integer == 1);
  CHECK(srv.cmd({"EXISTS", "k"}) == "0");  // every call starts on a fresh connection in db 0
}

TEST_CASE("fixture: requirepass rejects unauthenticated clients") {
  TestServer srv(ServerOptions{.password = "s3cret pass"});
  Reply anon = srv.replies({{"PING"}}, Auth::None).front();
  CHECK(anon.is_error());
  CHECK(starts_with(anon.str, "NOAUTH"));
  CHECK(srv.cmd({"PING"}) == "PONG");
  CHECK(srv.cli({"PING"}).out == "PONG\n");
  CHECK(srv.uri().find("s3cret") == std::string::npos);
}

TEST_CASE("fixture: ACL user lines are loaded") {
  TestServer srv(ServerOptions{.acl_users = {"reader on >pw ~* +@read -@dangerous"}});
  srv.cmd({"SET", "k", "v"});
  auto r = srv.replies({{"AUTH", "reader", "pw"}, {"GET", "k"}, {"SET", "k", "w"}}, Auth::None);
  CHECK(r[0].str == "OK");
  CHECK(r[1].str == "v");
  CHECK(r[2].is_error());
  CHECK(starts_with(r[2].str, "NOPERM"));
  CHECK(srv.replies({{"AUTH", "reader", "wrong"}}, Auth::None)[0].is_error());
}

TEST_CASE("fixture: rename_away makes commands unknown; debug and maxmemory options apply") {
  TestServer srv(ServerOptions{.rename_away = {"CONFIG", "FLUSHALL"}, .maxmemory = "2mb"});
  CHECK(starts_with(srv.cmd({"CONFIG", "GET", "port"}), "(error) ERR unknown command"));
  CHECK(starts_with(srv.cmd({"FLUSHALL"}), "(error) ERR unknown command"));
  CHECK(srv.cmd({"INFO", "memory"}).find("maxmemory:2097152") != std::string::npos);

  TestServer nodebug(
      ServerOptions{.config = {{"hash-max-listpack-entries", "0"}}, .enable_debug = false});
  CHECK(srv.debug_digest().size() == 40);
  CHECK_THROWS_AS(nodebug.debug_digest(), std::runtime_error);
  CHECK(nodebug.cmd({"CONFIG", "GET", "hash-max-listpack-entries"}) ==
        "hash-max-listpack-entries\n0");
}

TEST_CASE("fixture: a bad directive fails the start with the server's own message") {
  try {
    TestServer srv(ServerOptions{.config = {{"no-such-directive", "1"}}});
    FAIL("server started with a bad directive");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("no-such-directive") != std::string::npos);
  }
}

TEST_CASE("fixture: TLS server answers over redis-cli --tls") {
  const auto& tls = migcheck::test::tls_material();
  TestServer srv(ServerOptions{.tls = true, .tls_auth_clients = true});
  CHECK(starts_with(srv.uri(), "rediss://127.0.0.1:"));
  CHECK(srv.cmd({"PING"}) == "PONG");  // private client, over the unix socket
  CHECK(srv.cli({"PING"}).out == "PONG\n");

  const std::string port = std::to_string(srv.port());
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {"redis-cli", "-h", "127.0.0.1", "-p", port, "--tls"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("PING");
    return migcheck::test::run_process(argv, std::chrono::seconds(10)).out;
  };
  CHECK(run({"--cacert", tls.ca_cert, "--cert", tls.client_cert, "--key", tls.client_key}) ==
        "PONG\n");
  // An unrelated CA cannot verify the server; a client cert from it is refused.
  CHECK(run({"--cacert", tls.other_ca_cert, "--cert", tls.client_cert, "--key", tls.client_key})
            .find("PONG") == std::string::npos);
  CHECK(
      run({"--cacert", tls.ca_cert, "--cert", tls.other_client_cert, "--key", tls.other_client_key})
          .find("PONG") == std::string::npos);
  CHECK(run({"--cacert", tls.ca_cert}).find("PONG") == std::string::npos);

  TestServer optional_certs(ServerOptions{.tls = true});
  CHECK(optional_certs.cli({"PING"}).out == "PONG\n");
}

TEST_CASE("fixture: unix socket servers expose their path") {
  TestServer srv(ServerOptions{.unix_socket = true});
  REQUIRE(!srv.unix_path().empty());
  CHECK(std::filesystem::exists(srv.unix_path()));
  auto r = migcheck::test::run_process({"redis-cli", "-s", srv.unix_path(), "PING"});
  CHECK(r.out == "PONG\n");
  CHECK(TestServer().unix_path().empty());
}

TEST_CASE("fixture: restart keeps the port and dir; kill9 and stop end the process") {
  TestServer srv;
  const int port = srv.port();
  const std::string dir = srv.dir();
  srv.cmd({"SET", "k", "v"});

  srv.restart();
  CHECK(srv.port() == port);
  CHECK(srv.dir() == dir);
  CHECK(srv.running());
  CHECK(srv.cmd({"EXISTS", "k"}) == "0");

  srv.kill9();
  CHECK(!srv.running());
  CHECK(srv.pid() == -1);
  CHECK_THROWS_AS(srv.cmd({"PING"}), std::runtime_error);
  srv.restart();
  CHECK(srv.port() == port);
  CHECK(srv.cmd({"PING"}) == "PONG");

  srv.stop();
  CHECK(!srv.running());
  srv.stop();  // idempotent
}

TEST_CASE("fixture: DEBUG DIGEST returns 40 hex chars and tracks content") {
  TestServer a;
  TestServer b(ServerOptions{
      .binary = migcheck::test::have_binary("valkey-server") ? "valkey-server" : "redis-server"});
  CHECK(a.debug_digest() == std::string(40, '0'));  // empty keyspace
  for (TestServer* s : {&a, &b}) s->pipeline({{"RPUSH", "l", "x", "y"}, {"SET", "s", "1"}});
  CHECK(is_hex40(a.debug_digest()));
  CHECK(a.debug_digest() == b.debug_digest());
  CHECK(is_hex40(a.debug_digest_value("l")));
  CHECK(a.debug_digest_value("l") == b.debug_digest_value("l"));
  b.cmd({"RPUSH", "l", "z"});
  CHECK(a.debug_digest() != b.debug_digest());
  CHECK(a.debug_digest_value("l") != b.debug_digest_value("l"));
}

TEST_CASE("fixture: free_port and have_binary") {
  int p1 = migcheck::test::free_port(), p2 = migcheck::test::free_port();
  CHECK(p1 != p2);
  CHECK(p1 > 1024);
  CHECK(p1 + 10000 < 32768);
  CHECK(migcheck::test::have_binary("redis-server"));
  CHECK(migcheck::test::have_binary("/usr/bin/env"));
  CHECK(!migcheck::test::have_binary("migcheck-no-such-binary"));
}

TEST_CASE("fixture: key_slot matches the server's CLUSTER KEYSLOT") {
  CHECK(key_slot("foo") == 12182);
  CHECK(key_slot("123456789") == 12739);
  CHECK(key_slot("{user1000}.following") == key_slot("user1000"));
  CHECK(key_slot("foo{}{bar}") == key_slot("foo{}{bar}"));
  TestServer srv(ServerOptions{.cluster = true});
  std::vector<std::string> keys = {"",     "a",        "{", "{}", "foo{}{bar}", "foo{{bar}}zap",
                                   "{a}b", "nul\0{x}"s};
  for (int i = 0; i < 50; ++i) keys.push_back("key:" + std::to_string(i * 7919));
  for (const auto& k : keys) {
    CHECK(srv.reply({"CLUSTER", "KEYSLOT", k}).integer == key_slot(k));
  }
}

TEST_CASE("fixture: cluster of 3 masters reaches state ok and routes keys") {
  TestCluster cluster;
  REQUIRE(cluster.size() == 3);
  CHECK(cluster.seed_uri() == cluster.node(0).uri());
  for (int i = 0; i < 3; ++i) {
    CHECK(cluster.node(i).cmd({"CLUSTER", "INFO"}).find("cluster_state:ok") != std::string::npos);
  }

  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) keys.push_back("key:" + std::to_string(i));
  keys.push_back("nul\0key"s);
  for (const auto& k : keys) REQUIRE(cluster.cmd_routed({"SET", k, "v-" + k}) == "OK");
  for (const auto& k : keys) CHECK(cluster.cmd_routed({"GET", k}) == "v-" + k);
  long long total = 0;
  for (int i = 0; i < 3; ++i) {
    long long n = cluster.node(i).reply({"DBSIZE"}).integer;
    CHECK(n > 0);  // keys really are spread over all masters
    total += n;
  }
  CHECK(total == static_cast<long long>(keys.size()));

  // A node that does not own the key answers MOVED; routing still finds it.
  TestServer& owner = cluster.node_for_key("key:1");
  TestServer& other = &owner == &cluster.node(0) ? cluster.node(1) : cluster.node(0);
  CHECK(starts_with(other.cmd({"GET", "key:1"}), "(error) MOVED"));
  CHECK(cluster.cmd_routed({"MSET", "{t}a", "1", "{t}b", "2"}) == "OK");
  CHECK(cluster.cmd_routed({"MGET", "{t}a", "{t}b"}) == "1\n2");

  cluster.flushall();
  for (int i = 0; i < 3; ++i) CHECK(cluster.node(i).reply({"DBSIZE"}).integer == 0);
}

TEST_CASE("fixture: engines by name start the right server, with their own CLI", "[integration]") {
  CHECK(migcheck::test::engine_binary("redis-6.2").empty());
  CHECK(migcheck::test::engine_binary("").empty());
  const std::pair<const char*, const char*> engines[] = {{"redis-7.0", "redis_version:7.0."},
                                                         {"valkey-8.0", "valkey_version:8.0."},
                                                         {"redis-8.0", "redis_version:8.0."},
                                                         {"valkey-8.1", "valkey_version:8.1."}};
  for (const auto& [engine, version] : engines) {
    INFO(engine);
    const std::string bin = MIGCHECK_REQUIRE_ENGINE(engine);
    TestServer s(ServerOptions{.binary = bin});
    CHECK(s.cmd({"INFO", "server"}).find(version) != std::string::npos);
    auto cli = s.cli({"INFO", "server"});
    CHECK(cli.ok());
    CHECK(cli.out.find(version) != std::string::npos);
  }
}
