// Snapshot digests equal live digests: servers (Redis 7.0, Valkey 8.0; compact
// and non-compact encodings) hold every type, integers, LZF-compressible
// strings, big keys, expiries, several dbs and a stream with groups, pending
// entries and deleted entries; SAVE writes the file; every key's digest from
// the file must equal the KeyReader's digest of the same key on that server.
#include "rdb_digest.h"

#include <catch2/catch_test_macros.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "client.h"
#include "reader.h"
#include "server_fixture.h"
#include "uri.h"

using namespace migcheck;
using migcheck::test::ServerOptions;
using migcheck::test::TestServer;

namespace {

using migcheck::test::Cmds;

void load_everything(TestServer& s) {
  // Elements over this many bytes go to plain quicklist nodes (RDB quicklist2 container 1).
  s.pipeline({{"DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1000"}}, false);
  Cmds c;
  c.push_back({"SET", "s:int", "12345"});
  c.push_back({"SET", "s:neg", "-7"});
  c.push_back({"SET", "s:wide", "12345678901234"});
  std::string rep;
  for (int i = 0; i < 300; ++i) rep += "abc";
  c.push_back({"SET", "s:lzf", rep});
  c.push_back({"SET", std::string("s:bin\0\xff", 7), std::string("\0\1\2\xfe", 4)});
  c.push_back({"SET", "s:empty", ""});
  std::string big;
  for (int i = 0; big.size() < (3 << 20); ++i) big += std::to_string(i * 7919) + ",";
  c.push_back({"SET", "s:big", big});
  c.push_back({"RPUSH", "l:small", "a", "1", "-200", "70000", "5000000000", "x"});
  std::vector<std::string> bl = {"RPUSH", "l:big"}, bh = {"HSET", "h:big"},
                           bs = {"SADD", "set:big"}, bz = {"ZADD", "z:big"};
  for (int i = 0; i < 3000; ++i) {
    bl.push_back(i % 3 ? std::to_string(i) : "elem-" + std::to_string(i));
    bh.push_back("f" + std::to_string(i));
    bh.push_back(std::to_string(i * 3));
    bs.push_back("m" + std::to_string(i));
    bz.push_back(std::to_string(i) + ".25");
    bz.push_back("m" + std::to_string(i));
  }
  c.push_back(bl);
  c.push_back(bh);
  c.push_back(bs);
  c.push_back(bz);
  c.push_back({"RPUSH", "l:plain", std::string(9000, 'P'), "tail"});
  c.push_back({"HSET", "h:small", "f1", "v1", "n", "42", "neg", "-1"});
  c.push_back({"SADD", "set:i16", "1", "2", "-300"});
  c.push_back({"SADD", "set:i64", "1", "5000000000", "-5000000000"});
  c.push_back({"SADD", "set:str", "x", "y", "z"});
  c.push_back({"ZADD", "z:small", "1", "a", "0.1", "b", "-inf", "c", "inf", "d", "-2.5", "e"});
  for (int i = 1; i <= 6; ++i)
    c.push_back({"XADD", "st", std::to_string(i) + "-1", "f", "v" + std::to_string(i)});
  c.push_back({"XADD", "st", "7-0", "other", "fields", "n", "1"});
  c.push_back({"XDEL", "st", "3-1"});
  c.push_back({"XGROUP", "CREATE", "st", "g1", "0"});
  c.push_back({"XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "st", ">"});
  c.push_back({"XREADGROUP", "GROUP", "g1", "bob", "COUNT", "1", "STREAMS", "st", ">"});
  c.push_back({"XACK", "st", "g1", "2-1"});
  c.push_back({"XGROUP", "CREATECONSUMER", "st", "g1", "carol"});
  c.push_back({"XGROUP", "CREATE", "st", "g2", "$"});
  for (int i = 0; i < 1200; ++i)
    c.push_back({"XADD", "st:big", "*", "k" + std::to_string(i % 3), std::to_string(i)});
  c.push_back({"SET", "e:str", "with ttl", "PX", "3600000"});
  c.push_back({"PEXPIRE", "l:small", "7200000"});
  c.push_back({"SELECT", "2"});
  c.push_back({"SET", "db2:k", "in db 2"});
  c.push_back({"HSET", "db2:h", "a", "b"});
  c.push_back({"PEXPIRE", "db2:h", "5000000"});
  c.push_back({"SELECT", "5"});
  c.push_back({"SADD", "db5:s", "q"});
  s.pipeline(c);
}

ServerOptions non_compact(const std::string& binary) {
  ServerOptions o{.binary = binary,
                  .config = {{"hash-max-listpack-entries", "0"},
                             {"set-max-intset-entries", "0"},
                             {"zset-max-listpack-entries", "0"},
                             {"list-max-listpack-size", "1"},
                             {"list-compress-depth", "1"}}};
  if (binary == "valkey-server") o.config.push_back({"set-max-listpack-entries", "0"});  // 7.2+
  return o;
}

using FileStates = std::map<std::pair<int, std::string>, RdbKeyState>;

// Every key of the file digests as the KeyReader digests it on `srv`.
void check_digests(FileStates& file, TestServer& srv) {
  REQUIRE(file.size() == 24);
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  for (int db : {0, 2, 5}) {
    std::vector<std::string> keys;
    for (const auto& [k, s] : file)
      if (k.first == db) keys.push_back(k.second);
    REQUIRE_FALSE(keys.empty());
    Client client(parse_uri(srv.uri() + "/" + std::to_string(db)), ClientOptions{});
    KeyReader reader(client);
    auto live = reader.read(keys);
    for (size_t i = 0; i < keys.size(); ++i) {
      const RdbKeyState& f = file[{db, keys[i]}];
      INFO("db " << db << " key " << keys[i] << " type " << f.type_name);
      REQUIRE(live[i].status == ReadStatus::Ok);
      CHECK(live[i].type_name == f.type_name);
      CHECK(live[i].size == f.size);
      CHECK(live[i].digest == f.digest);
      CHECK(live[i].has_expiry() == f.expire_ms.has_value());
      if (f.expire_ms) {
        CHECK(*f.expire_ms > now);
        // The file's expiry is absolute (unix ms); the live read's remaining TTL
        // is relative to when it was read, on this host's clock.
        CHECK(std::llabs(live[i].pttl - (*f.expire_ms - now)) < 2000);
      }
    }
  }
}

FileStates read_file(const std::string& path) {
  FileStates file;
  const int version = digest_rdb_file(path, [&](const RdbKeyState& s) { file[{s.db, s.key}] = s; });
  CHECK(version >= 10);
  return file;
}

void check_file_equals_server(TestServer& srv) {
  load_everything(srv);
  REQUIRE(srv.cmd({"SAVE"}) == "OK");
  FileStates file = read_file(srv.dir() + "/dump.rdb");
  check_digests(file, srv);
  // The big stream has one digest however it is read; a change is seen.
  srv.cmd({"XADD", "st", "8-0", "f", "new"});
  Client client(parse_uri(srv.uri()), ClientOptions{});
  KeyReader reader(client);
  std::vector<std::string> st = {"st"};
  CHECK(reader.read(st)[0].digest != file[{0, "st"}].digest);
}

}  // namespace

TEST_CASE("rdb digest: Redis 7.0 compact encodings, file digests equal live digests",
          "[rdb][integration]") {
  TestServer srv;
  check_file_equals_server(srv);
}

TEST_CASE("rdb digest: Redis 7.0 non-compact encodings", "[rdb][integration]") {
  TestServer srv(non_compact("redis-server"));
  check_file_equals_server(srv);
}

TEST_CASE("rdb digest: a Redis 7.0 file loaded into Valkey 8.0 digests as the loaded keys",
          "[rdb][integration]") {
  TestServer redis(non_compact("redis-server"));
  load_everything(redis);
  REQUIRE(redis.cmd({"SAVE"}) == "OK");
  FileStates file = read_file(redis.dir() + "/dump.rdb");
  TestServer valkey(ServerOptions{.binary = "valkey-server"});
  valkey.stop();
  std::filesystem::copy_file(redis.dir() + "/dump.rdb", valkey.dir() + "/dump.rdb",
                             std::filesystem::copy_options::overwrite_existing);
  valkey.restart();  // loads the file, re-encoded with Valkey's compact defaults
  REQUIRE(valkey.cmd({"DBSIZE"}) == "21");
  check_digests(file, valkey);
}

TEST_CASE("rdb digest: Valkey 8.0 compact and non-compact encodings", "[rdb][integration]") {
  {
    TestServer srv(ServerOptions{.binary = "valkey-server"});
    check_file_equals_server(srv);
  }
  TestServer srv(non_compact("valkey-server"));
  check_file_equals_server(srv);
}
