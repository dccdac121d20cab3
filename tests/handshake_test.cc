// Connection set-up against peers that are not what the URI promised
// (src/connection.cc's handshake): a silent peer is given up on within
// --connect-timeout, an HTTP server is named as such, a TLS port reached
// with redis:// gets a rediss:// hint; zero timeouts are refused.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <chrono>
#include <string>

#include "cli_runner.h"
#include "fake_peer.h"
#include "server_fixture.h"

using Catch::Matchers::ContainsSubstring;
using migcheck::test::FakePeer;
using migcheck::test::run_migcheck;
using migcheck::test::TestServer;

TEST_CASE("handshake: a peer that never answers is given up on within --connect-timeout",
          "[handshake]") {
  FakePeer silent(FakePeer::Mode::Silent);
  const auto start = std::chrono::steady_clock::now();
  auto r = run_migcheck({"info", silent.uri(), "--connect-timeout", "1s", "--timeout", "30s"});
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("no answer within 1"));
  CHECK_THAT(r.err, ContainsSubstring("(not a Redis server?)"));
  CHECK(took < std::chrono::seconds(15));  // not the 30 s of --timeout
}

TEST_CASE("handshake: an HTTP server is named as such, without a TLS hint", "[handshake]") {
  FakePeer http(FakePeer::Mode::Answer,
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  auto r = run_migcheck({"info", http.uri(), "--connect-timeout", "2s"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("is an HTTP server, not Redis"));
  CHECK_THAT(r.err, !ContainsSubstring("TLS"));
}

TEST_CASE("handshake: a peer resetting a plain connection gets a TLS hint", "[handshake]") {
  FakePeer reset(FakePeer::Mode::Reset);
  auto r = run_migcheck({"info", reset.uri(), "--connect-timeout", "2s"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("is it a TLS-only port? try rediss://"));
}

TEST_CASE("handshake: redis:// to a real TLS-only port hints rediss://", "[handshake]") {
  TestServer tls({.tls = true});
  auto r = run_migcheck(
      {"info", "redis://127.0.0.1:" + std::to_string(tls.port()), "--connect-timeout", "3s"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("try rediss://"));
}

TEST_CASE("handshake: zero timeouts are refused on the command line", "[handshake]") {
  TestServer server;
  for (const char* flag : {"--timeout", "--connect-timeout"}) {
    auto r = run_migcheck({"info", server.uri(), flag, "0s"});
    INFO(flag << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, ContainsSubstring("must be more than 0"));
  }
  CHECK(run_migcheck({"info", server.uri(), "--timeout", "2s"}).exit_code == 0);
}
