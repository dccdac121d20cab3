// Connection layer against real servers: pipelining over TCP, TLS and unix
// sockets, AUTH/ACL, TLS verification, refused and dropped connections.
#include "connection.h"

#include <catch2/catch_test_macros.hpp>

#include <functional>
#include <thread>

#include "cli_runner.h"
#include "errors.h"
#include "server_fixture.h"

using namespace migcheck;
namespace t = migcheck::test;

namespace {

ConnectOptions quick() {
  ConnectOptions o;
  o.connect_timeout = Millis(2000);
  o.command_timeout = Millis(3000);
  o.max_in_flight = 64;  // small window: exercises the bounded in-flight path
  return o;
}

void pipeline_roundtrip(Connection& c) {
  std::vector<Command> cmds;
  for (int i = 0; i < 500; ++i)
    cmds.push_back({"SET", "k" + std::to_string(i) + std::string("\0x", 2), std::to_string(i)});
  for (int i = 0; i < 500; ++i)
    cmds.push_back({"GET", "k" + std::to_string(i) + std::string("\0x", 2)});
  auto replies = c.pipeline(cmds);
  REQUIRE(replies.size() == 1000);
  for (int i = 0; i < 500; ++i) {
    CHECK(replies[i].str == "OK");
    CHECK(replies[500 + i].str == std::to_string(i));
  }
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConnectionError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("connection: pipelines hundreds of commands over TCP", "[integration]") {
  t::TestServer s;
  Connection c(parse_uri(s.uri()), quick());
  pipeline_roundtrip(c);
}

TEST_CASE("connection: pipelines over TLS with CA verification", "[integration]") {
  const auto& m = t::tls_material();
  t::TestServer s(t::ServerOptions{.tls = true});
  Endpoint ep = parse_uri("rediss://localhost:" + std::to_string(s.port()));
  ep.tls.cacert = m.ca_cert;
  Connection c(ep, quick());
  pipeline_roundtrip(c);
  // 127.0.0.1 is in the certificate's subjectAltName too.
  Endpoint ip = parse_uri("rediss://127.0.0.1:" + std::to_string(s.port()));
  ip.tls.cacert = m.ca_cert;
  Connection c2(ip, quick());
  CHECK(c2.command({"PING"}).str == "PONG");
}

TEST_CASE("connection: TLS failures are clear and not retryable", "[integration]") {
  const auto& m = t::tls_material();
  t::TestServer s(t::ServerOptions{.tls = true});
  Endpoint ep = parse_uri("rediss://localhost:" + std::to_string(s.port()));
  ep.tls.cacert = m.other_ca_cert;
  std::string msg = error_of([&] { Connection c(ep, quick()); });
  CHECK(msg.find("TLS handshake with rediss://localhost:") != std::string::npos);
  CHECK(msg.find("certificate verify failed") != std::string::npos);

  // --insecure skips verification.
  ep.tls.insecure = true;
  Connection ok(ep, quick());
  CHECK(ok.command({"PING"}).str == "PONG");

  // A plain client on a TLS port.
  std::string plain = error_of(
      [&] { Connection c(parse_uri("redis://127.0.0.1:" + std::to_string(s.port())), quick()); });
  CHECK(plain.find("127.0.0.1:" + std::to_string(s.port())) != std::string::npos);
}

TEST_CASE("connection: TLS to a plain port fails fast with a hint", "[integration]") {
  t::TestServer s;
  Endpoint ep = parse_uri("rediss://127.0.0.1:" + std::to_string(s.port()));
  ep.tls.insecure = true;
  ConnectOptions o = quick();
  o.connect_timeout = Millis(1000);
  std::string msg = error_of([&] { Connection c(ep, o); });
  CHECK(msg.find("TLS handshake with rediss://127.0.0.1:") != std::string::npos);
}

TEST_CASE("connection: client certificates", "[integration]") {
  const auto& m = t::tls_material();
  t::TestServer s(t::ServerOptions{.tls = true, .tls_auth_clients = true});
  Endpoint ep = parse_uri("rediss://localhost:" + std::to_string(s.port()));
  ep.tls.cacert = m.ca_cert;
  ep.tls.cert = m.client_cert;
  ep.tls.key = m.client_key;
  Connection c(ep, quick());
  CHECK(c.command({"PING"}).str == "PONG");
  ep.tls.cert.clear();
  ep.tls.key.clear();
  CHECK(error_of([&] {
          Connection n(ep, quick());
          n.command({"PING"});
        }) != "(no error)");
}

TEST_CASE("connection: a missing client certificate is one clear line", "[integration]") {
  const auto& m = t::tls_material();
  t::TestServer s(t::ServerOptions{.tls = true, .tls_auth_clients = true});
  Endpoint ep = parse_uri("rediss://localhost:" + std::to_string(s.port()));
  ep.tls.cacert = m.ca_cert;
  const std::string msg = error_of([&] {
    Connection n(ep, quick());
    n.command({"PING"});
  });
  INFO(msg);
  CHECK(msg.find("the server requires a client certificate") != std::string::npos);
  CHECK(msg.find("--source-cert and --source-key") != std::string::npos);
  CHECK(msg.find('\n') == std::string::npos);
  // From the command line: that line, exit 2.
  auto r = t::run_migcheck(
      {"info", "rediss://localhost:" + std::to_string(s.port()), "--source-cacert", m.ca_cert});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("the server requires a client certificate") != std::string::npos);
  // A server that does not require one (tls-auth-clients no) still works
  // without: the request alone is not taken for a refusal.
  t::TestServer optional(t::ServerOptions{.tls = true});
  Endpoint o = parse_uri("rediss://localhost:" + std::to_string(optional.port()));
  o.tls.cacert = m.ca_cert;
  Connection c(o, quick());
  CHECK(c.command({"PING"}).str == "PONG");
}

TEST_CASE("connection: AUTH with password and ACL user", "[integration]") {
  t::TestServer s(
      t::ServerOptions{.password = "s3cret", .acl_users = {"alice on >wonder ~* +@all"}});
  Endpoint ep = parse_uri(s.uri());
  std::string noauth = error_of([&] {
    Connection c(ep, quick());
    c.command({"PING"});
  });
  ep.password = "wrong";
  std::string wrong = error_of([&] { Connection c(ep, quick()); });
  CHECK(wrong.find("authentication failed for redis://127.0.0.1:") != std::string::npos);
  CHECK(wrong.find("wrong") == std::string::npos);  // the password is never echoed
  ep.password = "s3cret";
  Connection c(ep, quick());
  CHECK(c.command({"PING"}).str == "PONG");
  Endpoint acl = parse_uri("redis://alice:wonder@127.0.0.1:" + std::to_string(s.port()) + "/2");
  Connection a(acl, quick());
  CHECK(a.command({"CLIENT", "GETNAME"}).str == "migcheck");
  a.command({"SET", "in-db-2", "1"});
  CHECK(s.replies({{"SELECT", "2"}, {"EXISTS", "in-db-2"}})[1].integer == 1);
}

TEST_CASE("connection: refused and unresolvable endpoints", "[integration]") {
  int port = t::free_port();
  std::string msg = error_of(
      [&] { Connection c(parse_uri("redis://127.0.0.1:" + std::to_string(port)), quick()); });
  CHECK(msg ==
        "cannot connect to redis://127.0.0.1:" + std::to_string(port) + ": connection refused");
  std::string dns =
      error_of([&] { Connection c(parse_uri("redis://no-such-host.invalid:6379"), quick()); });
  CHECK(dns.find("cannot connect to redis://no-such-host.invalid:6379: cannot resolve host") == 0);
}

TEST_CASE("connection: unix socket", "[integration]") {
  t::TestServer s(t::ServerOptions{.unix_socket = true});
  Connection c(parse_uri("unix://" + s.unix_path()), quick());
  pipeline_roundtrip(c);
}

TEST_CASE("connection: server closing mid-pipeline is a ConnectionError", "[integration]") {
  t::TestServer s;
  Connection c(parse_uri(s.uri()), quick());
  std::vector<Command> cmds;
  for (int i = 0; i < 2000; ++i)
    cmds.push_back({"SET", "k" + std::to_string(i), std::string(1000, 'x')});
  std::thread killer([&] { s.kill9(); });
  killer.join();
  CHECK_THROWS_AS(c.pipeline(cmds), ConnectionError);
  CHECK(c.broken());
}

TEST_CASE("connection: a silent server times out instead of hanging", "[integration]") {
  t::TestServer s;
  ConnectOptions o = quick();
  o.command_timeout = Millis(300);
  Connection c(parse_uri(s.uri()), o);
  auto start = std::chrono::steady_clock::now();
  // BLPOP blocks server-side for 2s: the reply wait must give up at 300ms.
  std::string msg = error_of([&] { c.command({"BLPOP", "nothing", "2"}); });
  CHECK(msg.find("timed out after 300ms waiting for a reply from redis://127.0.0.1:") == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500));
}
