// `migcheck info` end to end: engines, modes, refused CONFIG, errors and exit codes.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "cli_runner.h"
#include "server_fixture.h"

namespace t = migcheck::test;
using t::run_migcheck;

TEST_CASE("info: Redis 7.0 and Valkey 8 standalone, JSON", "[integration]") {
  t::TestServer redis;
  redis.cmd({"SET", "a", "1"});
  REQUIRE(t::have_binary("valkey-server"));
  t::TestServer valkey(t::ServerOptions{.binary = "valkey-server"});
  valkey.cmd({"SET", "a", "1"});
  auto r = run_migcheck({"info", redis.uri(), valkey.uri(), "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  REQUIRE(j.size() == 2);
  CHECK(j[0]["engine"] == "redis");
  CHECK(j[0]["version"].get<std::string>().rfind("7.0", 0) == 0);
  CHECK(j[0]["rdb_version"] == 10);
  CHECK(j[0]["mode"] == "standalone");
  CHECK(j[0]["dbsize"] == 1);
  CHECK(j[1]["engine"] == "valkey");
  CHECK(j[1]["version"].get<std::string>().rfind("8.", 0) == 0);
  CHECK(j[1]["rdb_version"] == 11);
}

TEST_CASE("info: CONFIG renamed away is reported, not fatal; empty db has unknown RDB version",
          "[integration]") {
  t::TestServer s(t::ServerOptions{.rename_away = {"CONFIG", "DEBUG"}});
  auto r = run_migcheck({"info", s.uri()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("unknown (CONFIG not allowed)") != std::string::npos);
  CHECK(r.out.find("unknown (empty database)") != std::string::npos);
}

TEST_CASE("info: the RDB version comes from a small key's DUMP, never a big one's",
          "[integration]") {
  t::TestServer s;
  // Only big values: DUMPing one would block the server while it is
  // serialized and bring it whole into migcheck's memory.
  s.pipeline({{"SET", "big:1", std::string(1 << 20, 'a')},
              {"RPUSH", "big:2", std::string(100000, 'b'), std::string(100000, 'c')}});
  s.cmd({"CONFIG", "RESETSTAT"});
  auto r = run_migcheck({"info", s.uri(), "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j[0]["rdb_version"].is_null());
  CHECK(r.out.find("no small key found to DUMP") != std::string::npos);
  CHECK(s.cmd({"INFO", "commandstats"}).find("cmdstat_dump") == std::string::npos);
  // With a small key among them, that one is found and DUMPed.
  s.cmd({"SET", "small", "v"});
  bool found = false;
  for (int i = 0; i < 20 && !found; ++i) {
    auto again = nlohmann::json::parse(run_migcheck({"info", s.uri(), "--json"}).out);
    found = again[0]["rdb_version"] == 10;
  }
  CHECK(found);
}

TEST_CASE("info: TLS and ACL endpoints, password from the environment", "[integration]") {
  const auto& m = t::tls_material();
  t::TestServer s(t::ServerOptions{.acl_users = {"ops on >pa55 ~* +@all"}, .tls = true});
  std::string uri = "rediss://localhost:" + std::to_string(s.port());
  auto r = run_migcheck({"info", uri, "--source-user", "ops", "--source-cacert", m.ca_cert},
                        {{"MIGCHECK_SOURCE_PASS", "pa55"}});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("tls                      yes") != std::string::npos);
  CHECK(r.out.find("pa55") == std::string::npos);
}

TEST_CASE("info: cluster topology", "[integration][cluster]") {
  t::TestCluster c;
  for (int i = 0; i < 30; ++i) c.cmd_routed({"SET", "key" + std::to_string(i), "v"});
  auto r = run_migcheck({"info", c.seed_uri(), "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out)[0];
  CHECK(j["mode"] == "cluster");
  CHECK(j["dbsize"] == 30);
  REQUIRE(j["nodes"].size() == 3);
  int slots = 0;
  for (auto& n : j["nodes"])
    for (auto& range : n["slots"]) slots += range[1].get<int>() - range[0].get<int>() + 1;
  CHECK(slots == 16384);
}

TEST_CASE("info: bad input gives one line and exit 2", "[integration]") {
  t::TestServer s(t::ServerOptions{.password = "right"});
  const std::string port = std::to_string(s.port());
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  } cases[] = {
      {{"info", "redis://:wrong-pw@127.0.0.1:" + port},
       "authentication failed for redis://127.0.0.1:" + port},
      {{"info", "redis://127.0.0.1:" + port}, "authentication required"},
      {{"info", "redis://127.0.0.1:" + std::to_string(t::free_port())}, "connection refused"},
      {{"info", "ftp://x"}, "unsupported URI scheme"},
      {{"info", "redis://h:99999"}, "invalid port"},
      {{"info", "rediss://:right@127.0.0.1:" + port, "--connect-timeout", "500ms",
        "--source-insecure"},
       "TLS handshake with rediss://127.0.0.1:" + port},
  };
  for (auto& c : cases) {
    auto r = run_migcheck(c.args);
    INFO(c.args[1] << " -> " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(c.expect) != std::string::npos);
    // One error line (a warning such as --insecure's may precede it).
    CHECK(r.err.find("error: ") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') <= 2);
    CHECK(r.err.find("error: ") == r.err.rfind("error: "));
    CHECK(r.err.find("wrong-pw") == std::string::npos);
    CHECK(r.err.find("right") == std::string::npos);
  }
}

TEST_CASE("info: offers no --store (it records nothing)") {
  auto help = migcheck::test::run_migcheck({"info", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("--store") == std::string::npos);
  auto r = migcheck::test::run_migcheck({"info", "--store", "x.db", "redis://127.0.0.1:1"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("unknown option --store for 'info'") != std::string::npos);
}
