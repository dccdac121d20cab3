// Server facts (src/server_info.cc) of a user limited to `-@all +@read` (INFO,
// TIME, CONFIG, CLIENT refused), and the ACL rules README lists per command,
// verified end to end with ACL users holding exactly those rules: the
// commands work, and the report lists what could not be checked.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "client.h"
#include "report_fixture.h"
#include "server_fixture.h"
#include "server_info.h"

using Catch::Matchers::ContainsSubstring;
using nlohmann::json;
using namespace migcheck;
using namespace migcheck::test;

namespace {

// The rules of README's "ACL rules each command needs".
constexpr const char* kReadRules = "-@all +@read";
constexpr const char* kWriteRules = "-@all +@read +@write";
constexpr const char* kLiveRules = "-@all +@read +@pubsub +config|get";

std::string acl_user(const std::string& name, const std::string& rules) {
  return name + " on >" + name + "-pw ~* &* " + rules;
}
std::string as(const TestServer& s, const std::string& name) {
  return "redis://" + name + ":" + name + "-pw@127.0.0.1:" + std::to_string(s.port());
}

std::vector<std::vector<std::string>> data(int n) {
  std::vector<std::vector<std::string>> c;
  for (int i = 0; i < n; ++i) {
    c.push_back({"SET", "s:" + std::to_string(i), "v"});
    c.push_back({"HSET", "h:" + std::to_string(i), "f", "v"});
  }
  c.push_back({"RPUSH", "l", "a", "b"});
  c.push_back({"ZADD", "z", "1", "a"});
  c.push_back({"SADD", "set", "a"});
  c.push_back({"XADD", "x", "1-1", "f", "v"});
  c.push_back({"SET", "ttl", "v", "PX", "600000"});
  return c;
}

}  // namespace

TEST_CASE("server_info: INFO refused is recorded as unchecked, never a failure",
          "[server_info][integration]") {
  TestServer s(ServerOptions{.acl_users = {acl_user("reader", kReadRules)}});
  s.pipeline(data(5));
  Client c(parse_uri(as(s, "reader")), ClientOptions{});
  ServerFacts f = gather_facts(c);
  CHECK_FALSE(f.info_allowed);
  CHECK_FALSE(f.keyspace_known);
  CHECK(f.keys_per_db == std::map<int, int64_t>{{0, 15}});  // DBSIZE of db0
  REQUIRE(f.identity);
  CHECK(f.identity->run_ids.empty());
  CHECK_FALSE(f.identity->addresses.empty());
  std::string all;
  for (const auto& u : f.unchecked) all += u + "\n";
  CHECK_THAT(all, ContainsSubstring("restarts"));
  CHECK_THAT(all, ContainsSubstring("memory"));
  CHECK_THAT(all, ContainsSubstring("notify-keyspace-events"));
  CHECK_THAT(all, ContainsSubstring("identity"));
  CHECK(f.rdb_version);  // RANDOMKEY, MEMORY USAGE and DUMP are reads

  ServerFacts back = facts_from_json(to_json(f));
  CHECK_FALSE(back.info_allowed);
  CHECK(back.unchecked == f.unchecked);
  REQUIRE(back.identity);
  CHECK(back.identity->addresses == f.identity->addresses);

  // An admin sees everything, identity included.
  Client admin(parse_uri(s.uri()), ClientOptions{});
  ServerFacts full = gather_facts(admin);
  CHECK(full.info_allowed);
  CHECK(full.unchecked.empty());
  REQUIRE(full.identity);
  CHECK(full.identity->run_ids.size() == 1);
}

TEST_CASE("server_info: the README's ACL rules suffice for compare, repair and replicate",
          "[server_info][integration]") {
  TestServer source(
      ServerOptions{.config = {{"notify-keyspace-events", "KEA"}},
                    .acl_users = {acl_user("reader", kReadRules), acl_user("live", kLiveRules)}});
  TestServer target(ServerOptions{
      .acl_users = {acl_user("reader", kReadRules), acl_user("writer", kWriteRules)}});
  source.pipeline(data(50));
  target.pipeline(data(48));
  ReportTempDir dir;
  const std::string store = dir.file("m.db");
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--store", store, "-q"});
    return run_migcheck(args);
  };

  // compare: reads on both sides.
  auto r = cli({"compare", as(source, "reader"), as(target, "reader"), "--rounds", "1"});
  INFO(r.err);
  CHECK(r.exit_code == 1);  // 4 keys missing on the target
  CHECK_THAT(r.err, ContainsSubstring("could not fully check"));

  // A user name written as redis://name@host is a password (as in
  // redis-cli): the failure says how to give a user.
  // (Its own store: the failed run it leaves is not one to repair.)
  r = run_migcheck({"compare", "redis://reader@127.0.0.1:" + std::to_string(source.port()),
                    as(target, "reader"), "--store", dir.file("auth.db"), "-q"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("redis://user:password@host"));

  // repair: reads on the source, reads and writes on the target.
  r = cli({"repair", as(source, "reader"), as(target, "writer")});
  INFO(r.err);
  CHECK(r.exit_code == 0);

  r = cli({"compare", as(source, "reader"), as(target, "reader"), "--rounds", "1"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  r = cli({"report", "--format", "json", "--out", "-"});
  INFO(r.err);
  json j = json::parse(r.out);
  // What the users could not check is listed, as warnings, not failures.
  std::string unchecked;
  for (const auto& c : j["checks"])
    if (c["id"] == "unchecked") {
      CHECK(c["status"] == "warn");
      unchecked = c["detail"].get<std::string>();
    }
  CHECK_THAT(unchecked, ContainsSubstring("source: server restarts during the run (INFO refused)"));
  CHECK_THAT(unchecked, ContainsSubstring("restarts"));
  CHECK_THAT(unchecked, ContainsSubstring("memory"));
  CHECK_THAT(unchecked, ContainsSubstring("notify-keyspace-events"));
  CHECK_THAT(unchecked, ContainsSubstring("identity"));
  CHECK(j["verdict"] == "READY");
  CHECK(r.exit_code == 0);

  // replicate (scan): the same rules as repair.
  target.cmd({"FLUSHALL"});
  r = cli({"replicate", as(source, "reader"), as(target, "writer")});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(target.cmd({"DBSIZE"}) == source.cmd({"DBSIZE"}));

  // replicate --mode live: the source also subscribes and reads the setting.
  target.cmd({"FLUSHALL"});
  r = cli(
      {"replicate", as(source, "live"), as(target, "writer"), "--mode", "live", "--idle", "1s"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(target.cmd({"DBSIZE"}) == source.cmd({"DBSIZE"}));
}

TEST_CASE("server facts: RDB versions of Redis and Valkey releases", "[report]") {
  CHECK(known_rdb_version("redis", "7.0.15") == 10);
  CHECK(known_rdb_version("redis", "7.2.4") == 11);
  CHECK(known_rdb_version("redis", "7.4.2") == 12);
  CHECK(known_rdb_version("redis", "8.0.2") == 12);
  CHECK(known_rdb_version("redis", "8.2.1") == 12);
  CHECK(known_rdb_version("valkey", "7.2.5") == 11);
  CHECK(known_rdb_version("valkey", "8.0.1") == 11);
  CHECK(known_rdb_version("valkey", "8.1.1") == 11);
  CHECK(known_rdb_version("valkey", "9.0.0") == 80);
  CHECK_FALSE(known_rdb_version("redis", "garbage"));
  CHECK(restore_accepts(11, "redis", 12));
  CHECK_FALSE(restore_accepts(12, "valkey", 11));
  CHECK_FALSE(restore_accepts(12, "valkey", 80));
  CHECK(restore_accepts(11, "valkey", 80));
}
