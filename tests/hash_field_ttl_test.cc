// Hash-field expiration (Redis 7.4+) end to end on Redis 8.0: field expiries
// are part of a hash's value for compare (lost or added ones are differences;
// chunked reads agree with whole ones; moved ones: field_expiry_check_test); replicate and repair
// carry them by RESTORE and by type (HPEXPIREAT, big hashes in chunks too);
// a target without field expiration (Valkey 8.1) gets a failed per-key
// outcome saying what would be lost, exit 1, and the key is not written.
#include "hash_field_ttl.h"

#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "client.h"
#include "engines.h"
#include "reader.h"
#include "server_fixture.h"
#include "store.h"
#include "test_util.h"
#include "uri.h"

using namespace migcheck;
namespace t = migcheck::test;
using t::run_migcheck;

namespace {

using t::Cmds;

const int64_t kIn1h = 3600 * 1000;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `fields` fields; every 3rd expires at `at` + i ms.
Cmds hash_with_expiries(const std::string& key, int fields, int64_t at, size_t value_bytes = 4) {
  Cmds c;
  std::vector<std::string> hset = {"HSET", key};
  for (int i = 0; i < fields; ++i) {
    hset.push_back("f" + std::to_string(i));
    hset.push_back(std::string(value_bytes, static_cast<char>('a' + i % 26)));
  }
  c.push_back(hset);
  for (int i = 0; i < fields; i += 3)
    c.push_back(
        {"HPEXPIREAT", key, std::to_string(at + i), "FIELDS", "1", "f" + std::to_string(i)});
  return c;
}

KeyState read_one(t::TestServer& s, const std::string& key, size_t chunk = 1000) {
  Client c(parse_uri(s.uri()), ClientOptions{});
  KeyReader r(c, ReaderOptions{.chunk = chunk});
  std::vector<std::string> keys{key};
  return r.read(keys)[0];
}

std::string tmp_store(const std::string& name) {
  return migcheck::test::tmp_store("hfe", name);
}

// Every field's absolute expiry, as the server answers it.
std::vector<long long> expiries(t::TestServer& s, const std::string& key, int fields) {
  std::vector<std::string> cmd = {"HPEXPIRETIME", key, "FIELDS", std::to_string(fields)};
  for (int i = 0; i < fields; ++i) cmd.push_back("f" + std::to_string(i));
  std::vector<long long> out;
  for (const auto& e : s.reply(cmd).elements) out.push_back(e.integer);
  return out;
}

}  // namespace

TEST_CASE("hash field expiry: part of a hash's digest, chunked or not", "[integration]") {
  const std::string bin = MIGCHECK_REQUIRE_ENGINE("redis-8.0");
  t::TestServer s(t::ServerOptions{.binary = bin});
  const int64_t at = now_ms() + kIn1h;
  s.pipeline(hash_with_expiries("a", 50, at));
  s.pipeline(hash_with_expiries("b", 50, at));
  s.pipeline(hash_with_expiries("plain", 50, at));
  s.cmd({"HPERSIST", "plain", "FIELDS", "1", "f0"});
  for (int i = 3; i < 50; i += 3)
    s.cmd({"HPERSIST", "plain", "FIELDS", "1", "f" + std::to_string(i)});
  const KeyState a = read_one(s, "a");
  REQUIRE(a.status == ReadStatus::Ok);
  CHECK(a.field_expiries == 17);
  CHECK_FALSE(a.field_expiry_digest.is_zero());
  CHECK(a.field_expiry_digest == read_one(s, "b").field_expiry_digest);
  CHECK(a.field_expiry_digest == read_one(s, "a", 7).field_expiry_digest);  // in chunks: the same
  // The value digest is over field names and values only: the expiries have
  // a digest of their own (settled against --ttl-tolerance by compare).
  const KeyState plain = read_one(s, "plain");
  CHECK(a.digest == plain.digest);
  CHECK(plain.field_expiries == 0);
  CHECK(plain.field_expiry_digest.is_zero());
  // One field's expiry lost, or moved by a second: a different expiry digest.
  s.cmd({"HPERSIST", "b", "FIELDS", "1", "f9"});
  CHECK(read_one(s, "b").field_expiry_digest != a.field_expiry_digest);
  s.cmd({"HPEXPIREAT", "b", std::to_string(at + 9 + 1000), "FIELDS", "1", "f9"});
  CHECK(read_one(s, "b").field_expiry_digest != a.field_expiry_digest);
  CHECK(read_one(s, "b").digest == a.digest);
  s.cmd({"HPEXPIREAT", "b", std::to_string(at + 9), "FIELDS", "1", "f9"});
  CHECK(read_one(s, "b", 4).field_expiry_digest == a.field_expiry_digest);

  // A hash none of whose fields expire digests as on a server without field
  // expiration (Valkey 8.0): such hashes compare equal across engines.
  t::TestServer valkey(t::ServerOptions{.binary = "valkey-server"});
  valkey.pipeline(hash_with_expiries("plain", 50, at), false);  // no HPEXPIREAT there
  CHECK(read_one(valkey, "plain").digest == read_one(s, "plain").digest);
}

TEST_CASE("hash field expiry: read by a read-only user (COMMAND refused)", "[integration]") {
  const std::string bin = MIGCHECK_REQUIRE_ENGINE("redis-8.0");
  t::TestServer s(t::ServerOptions{.binary = bin, .acl_users = {"reader on >pw ~* -@all +@read"}});
  const int64_t at = now_ms() + kIn1h;
  s.pipeline(hash_with_expiries("a", 20, at));
  s.pipeline(hash_with_expiries("b", 20, at));
  s.cmd({"HPERSIST", "b", "FIELDS", "1", "f6"});
  Client c(parse_uri("redis://reader:pw@127.0.0.1:" + std::to_string(s.port())), ClientOptions{});
  REQUIRE(c.on_node(0, {"COMMAND", "INFO", "HPEXPIRETIME"}).error_code() == "NOPERM");
  CHECK(supports_field_expiry(c, 0));
  KeyReader r(c);
  std::vector<std::string> keys{"a", "b"};
  auto st = r.read(keys);
  REQUIRE(st[0].status == ReadStatus::Ok);
  CHECK(st[0].field_expiries == 7);
  CHECK(st[1].field_expiries == 6);
  CHECK(st[0].field_expiry_digest != st[1].field_expiry_digest);
  // Redis 7.0 has none of it.
  t::TestServer old;
  Client oc(parse_uri(old.uri()), ClientOptions{});
  CHECK_FALSE(supports_field_expiry(oc, 0));
}

TEST_CASE("hash field expiry: compare finds a lost one, repair restores it", "[integration]") {
  const std::string bin = MIGCHECK_REQUIRE_ENGINE("redis-8.0");
  t::TestServer source(t::ServerOptions{.binary = bin}), target(t::ServerOptions{.binary = bin});
  const int64_t at = now_ms() + kIn1h;
  source.pipeline(hash_with_expiries("h", 30, at));
  source.pipeline(hash_with_expiries("h2", 30, at));
  const std::string store = tmp_store("compare");
  auto r = run_migcheck({"replicate", source.uri(), target.uri(), "--store", store});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(expiries(target, "h", 30) == expiries(source, "h", 30));  // RESTORE carries them
  r = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1"});
  CHECK(r.exit_code == 0);
  target.cmd({"HPERSIST", "h", "FIELDS", "1", "f3"});
  r = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  r = run_migcheck({"diffs", "--store", store, "--format", "jsonl"});
  CHECK(r.out.find("\"h\"") != std::string::npos);
  CHECK(r.out.find("\"h2\"") == std::string::npos);
  // A value difference with a precise detail.
  CHECK(r.out.find("hash fields with an expiry: 10 on source, 9 on target") != std::string::npos);
  r = run_migcheck({"repair", source.uri(), target.uri(), "--store", store, "--struct"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(expiries(target, "h", 30) == expiries(source, "h", 30));  // by type: HPEXPIREAT
  r = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1"});
  CHECK(r.exit_code == 0);
  std::filesystem::remove(store);
}

TEST_CASE("hash field expiry: copied by type, big hashes in chunks", "[integration]") {
  const std::string bin = MIGCHECK_REQUIRE_ENGINE("redis-8.0");
  t::TestServer source(t::ServerOptions{.binary = bin}), target(t::ServerOptions{.binary = bin});
  const int64_t at = now_ms() + kIn1h;
  source.pipeline(hash_with_expiries("small", 40, at));
  source.pipeline(hash_with_expiries("big", 3000, at, 600));  // > 1 MB: read and written in chunks
  const std::string store = tmp_store("struct");
  auto r = run_migcheck({"replicate", source.uri(), target.uri(), "--store", store, "--struct"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(expiries(target, "small", 40) == expiries(source, "small", 40));
  CHECK(expiries(target, "big", 3000) == expiries(source, "big", 3000));
  CHECK(source.debug_digest_value("big") == target.debug_digest_value("big"));
  r = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1"});
  CHECK(r.exit_code == 0);
  std::filesystem::remove(store);
}

TEST_CASE_METHOD(
    t::Redis80ToValkey81,
    "hash field expiry: a target without it gets a failed outcome, never a silent loss",
    "[integration]") {
  const int64_t at = now_ms() + kIn1h;
  source.pipeline(hash_with_expiries("hfe", 30, at));
  source.pipeline(hash_with_expiries("hfe:big", 3000, at, 600));
  source.cmd({"HSET", "plain", "a", "1", "b", "2"});
  const std::string store = tmp_store("valkey");
  auto r = run_migcheck({"replicate", source.uri(), target.uri(), "--store", store});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(target.cmd({"HGET", "plain", "b"}) == "2");
  CHECK(target.cmd({"EXISTS", "hfe", "hfe:big"}) == "0");
  Store s(store, false);
  auto run = s.latest_run("replicate");
  REQUIRE(run);
  int lost = 0;
  s.for_each_outcome(run->id, [&](const Outcome& o) {
    if (o.key == "hfe" || o.key == "hfe:big") {
      INFO(o.key << ": " << o.detail);
      CHECK(o.outcome == Outcome::Result::Failed);
      CHECK(o.detail.find("fields have an expiry") != std::string::npos);
      CHECK(o.detail.find("would lose") != std::string::npos);
      ++lost;
    }
  });
  CHECK(lost == 2);
  // The readiness report of that run fails its outcomes check: not ready.
  r = run_migcheck({"report", "--store", store, "--format", "json", "--out", "-"});
  INFO(r.out << r.err);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["verdict"] != "READY");
  bool failed_check = false;
  for (const auto& c : j["checks"])
    if (c["id"] == "outcomes") failed_check = c["status"] == "fail";
  CHECK(failed_check);
  std::filesystem::remove(store);
}

TEST_CASE("hash field expiry: HPEXPIREAT commands grouped by time, in chunks", "[hfe]") {
  std::vector<FieldExpiry> fx = {{"a", 100}, {"b", 200}, {"c", 100}, {"d", 100}};
  std::vector<Command> out;
  push_field_expiries(out, "k", fx, 5, 2);
  REQUIRE(out.size() == 3);
  CHECK(out[0] == Command{"HPEXPIREAT", "k", "105", "FIELDS", "2", "a", "c"});
  CHECK(out[1] == Command{"HPEXPIREAT", "k", "105", "FIELDS", "1", "d"});
  CHECK(out[2] == Command{"HPEXPIREAT", "k", "205", "FIELDS", "1", "b"});
}
