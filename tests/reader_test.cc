// Integration tests of the KeyReader (src/reader.h) against real servers:
// digests independent of encoding, engine and insertion order; big keys read
// in chunks; keys that change, vanish or change type between steps; TTLs;
// binary keys; stream groups and pending entries.
#include <catch2/catch_test_macros.hpp>

#include <chrono>
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

// Encodings forced to the "big" forms for every type.
ServerOptions big_encodings(std::string binary = "valkey-server") {
  return ServerOptions{.binary = std::move(binary),
                       .config = {{"hash-max-listpack-entries", "0"},
                                  {"set-max-intset-entries", "0"},
                                  {"set-max-listpack-entries", "0"},
                                  {"zset-max-listpack-entries", "0"},
                                  {"list-max-listpack-size", "1"}}};
}

std::unique_ptr<Client> client_for(TestServer& s) {
  return std::make_unique<Client>(parse_uri(s.uri()), ClientOptions{});
}

// The same logical data; `reversed` inserts every collection in another order.
void load_types(TestServer& s, bool reversed) {
  Cmds c;
  c.push_back({"SET", "str", "hello world"});
  c.push_back({"SET", std::string("bin\0key\xff", 8), std::string("\0\1\2\xff", 4)});
  c.push_back({"SET", "empty", ""});
  if (!reversed) {
    c.push_back({"RPUSH", "list", "a", "b", "c", "a"});
    c.push_back({"HSET", "hash", "f1", "v1", "f2", "v2", "f3", "v3"});
    c.push_back({"SADD", "intset", "1", "2", "3", "100"});
    c.push_back({"SADD", "set", "x", "y", "z"});
    c.push_back({"ZADD", "zset", "1", "a", "0.1", "b", "-inf", "c", "2.5", "d"});
  } else {
    c.push_back({"LPUSH", "list", "a", "c", "b", "a"});  // LPUSH reverses: a b c a
    c.push_back({"HSET", "hash", "f3", "v3", "f1", "v1"});
    c.push_back({"HSET", "hash", "f2", "v2"});
    c.push_back({"SADD", "intset", "100", "3", "2", "1"});
    c.push_back({"SADD", "set", "z", "x", "y"});
    c.push_back({"ZADD", "zset", "2.50", "d", "-inf", "c", "1e0", "a", "0.10000000000000001", "b"});
  }
  c.push_back({"XADD", "stream", "1-1", "f", "v"});
  c.push_back({"XADD", "stream", "2-0", "a", "b", "c", "d"});
  c.push_back({"XGROUP", "CREATE", "stream", reversed ? "g2" : "g1", "0"});
  c.push_back({"XGROUP", "CREATE", "stream", reversed ? "g1" : "g2", "0"});
  c.push_back({"XREADGROUP", "GROUP", "g1", "alice", "COUNT", "1", "STREAMS", "stream", ">"});
  s.pipeline(c);
}

const std::vector<std::string> kTypeKeys = {
    "str",   std::string("bin\0key\xff", 8), "empty", "list", "hash", "intset", "set", "zset",
    "stream"};

}  // namespace

TEST_CASE("reader: every type digests the same across encodings, engines and insertion orders",
          "[reader][integration]") {
  TestServer redis;                    // Redis 7.0, default (small) encodings
  TestServer valkey(big_encodings());  // Valkey 8, hashtable/skiplist/quicklist encodings
  load_types(redis, false);
  load_types(valkey, true);
  CHECK(valkey.cmd({"OBJECT", "ENCODING", "hash"}) == "hashtable");
  CHECK(redis.cmd({"OBJECT", "ENCODING", "intset"}) == "intset");
  CHECK(valkey.cmd({"OBJECT", "ENCODING", "intset"}) == "hashtable");

  auto a = client_for(redis);
  auto b = client_for(valkey);
  KeyReader ra(*a), rb(*b);
  read_together(ra, kTypeKeys, rb, kTypeKeys);
  auto sa = ra.results();
  auto sb = rb.results();
  REQUIRE(sa.size() == kTypeKeys.size());
  for (size_t i = 0; i < kTypeKeys.size(); ++i) {
    INFO("key " << kTypeKeys[i] << ": " << sa[i].detail << sb[i].detail);
    CHECK(sa[i].status == ReadStatus::Ok);
    CHECK(sb[i].status == ReadStatus::Ok);
    CHECK(sa[i].type_name == sb[i].type_name);
    CHECK(sa[i].size == sb[i].size);
    CHECK(sa[i].digest == sb[i].digest);
    CHECK(sa[i].pttl == -1);
    CHECK_FALSE(sa[i].chunked);
  }
  CHECK(sa[0].type == ValueType::String);
  CHECK(sa[2].size == 0);
  CHECK(sa[8].type == ValueType::Stream);
  // Two steps per batch: TYPE+PTTL, then one read command per key.
  CHECK(ra.stats().steps == 3);  // + TYPE to tell the empty string from a vanished key
  CHECK(ra.stats().commands == 2 * kTypeKeys.size() + kTypeKeys.size() + 1);

  // Now one change per type on the Valkey side: every digest moves.
  valkey.pipeline({{"SET", "str", "hello World"},
                   {"SET", std::string("bin\0key\xff", 8), std::string("\0\1\2\xfe", 4)},
                   {"LSET", "list", "3", "b"},
                   {"HSET", "hash", "f2", "V2"},
                   {"SREM", "intset", "100"},
                   {"SADD", "intset", "101"},
                   {"SADD", "set", "w"},
                   {"ZADD", "zset", "2.5000001", "d"},
                   {"XCLAIM", "stream", "g1", "bob", "0", "1-1"}});
  rb.read(kTypeKeys);
  sb = rb.results();
  for (size_t i = 0; i < kTypeKeys.size(); ++i) {
    if (kTypeKeys[i] == "empty") continue;
    INFO("key " << kTypeKeys[i]);
    CHECK(sa[i].digest != sb[i].digest);
  }
}

TEST_CASE("reader: big keys are read in chunks with the digest of a one-shot read",
          "[reader][integration]") {
  TestServer redis;
  TestServer valkey(big_encodings());
  Cmds c;
  for (int i = 0; i < 5000; i += 500) {
    std::vector<std::string> sadd{"SADD", "set"}, hset{"HSET", "hash"}, rpush{"RPUSH", "list"},
        zadd{"ZADD", "zset"};
    for (int j = i; j < i + 500; ++j) {
      sadd.push_back("m" + std::to_string(j));
      hset.push_back("f" + std::to_string(j));
      hset.push_back("v" + std::to_string(j * 3));
      rpush.push_back(std::to_string(j % 17));
      zadd.push_back(std::to_string(j * 0.25));
      zadd.push_back("z" + std::to_string(j));
    }
    for (auto* v : {&sadd, &hset, &rpush, &zadd}) c.push_back(*v);
  }
  c.push_back({"SET", "string", std::string(300000, 'q') + "end"});
  for (int i = 1; i <= 40; ++i)
    c.push_back({"XADD", "stream", std::to_string(i) + "-0", "n", std::to_string(i)});
  c.push_back({"XGROUP", "CREATE", "stream", "g", "0"});
  c.push_back({"XGROUP", "CREATE", "stream", "h", "0"});
  c.push_back({"XREADGROUP", "GROUP", "g", "c1", "COUNT", "25", "STREAMS", "stream", ">"});
  c.push_back({"XREADGROUP", "GROUP", "h", "c2", "COUNT", "12", "STREAMS", "stream", ">"});
  redis.pipeline(c);
  valkey.pipeline(c);
  const std::vector<std::string> keys = {"set", "hash", "list", "zset", "string", "stream"};

  auto a = client_for(redis);
  auto b = client_for(valkey);
  KeyReader whole(*a, ReaderOptions{.chunk = 100000, .big_string = 1 << 20});
  KeyReader chunked(*a, ReaderOptions{.chunk = 7, .big_string = 4096, .first_string_window = 1000});
  KeyReader other(*b, ReaderOptions{.chunk = 333, .big_string = 65536, .first_string_window = 100});
  auto w = whole.read(keys);
  std::vector<KeyState> ws(w.begin(), w.end());
  auto ch = chunked.read(keys);
  auto ot = other.read(keys);
  for (size_t i = 0; i < keys.size(); ++i) {
    INFO("key " << keys[i] << " " << ch[i].detail << ot[i].detail);
    CHECK(ws[i].status == ReadStatus::Ok);
    CHECK(ch[i].status == ReadStatus::Ok);
    CHECK(ot[i].status == ReadStatus::Ok);
    CHECK(ch[i].chunked);
    CHECK(ch[i].digest == ws[i].digest);
    CHECK(ot[i].digest == ws[i].digest);
    CHECK(ch[i].size == ws[i].size);
  }
  CHECK(ws[0].size == 5000);
  CHECK(ws[4].size == 300003);
  CHECK(ws[5].size == 40);
  CHECK(chunked.stats().chunked_keys == keys.size());
  CHECK(chunked.stats().chunk_commands > 1000);
  CHECK(whole.stats().chunked_keys == 0);
}

TEST_CASE("reader: keys that change, vanish or change type between steps are unstable",
          "[reader][integration]") {
  TestServer srv;
  srv.pipeline(
      {{"RPUSH", "head", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"},
       {"RPUSH", "tail", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"},
       {"SADD", "set", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o"},
       {"SET", "gone", "soon"},
       {"HSET", "retyped", "f", "v"},
       {"SET", "stable", "v"}});
  // A member that is no integer: the set is a hashtable, SSCAN takes several calls.
  srv.cmd({"SADD", "set", std::string(100, 'x')});
  auto client = client_for(srv);
  KeyReader r(*client, ReaderOptions{.chunk = 3});
  const std::vector<std::string> keys = {"head", "tail", "set", "gone", "retyped", "stable"};
  r.begin(keys);
  REQUIRE(r.submit_step());  // TYPE + PTTL
  r.collect_step();
  // Between step 1 and step 2: one key vanishes, one changes type.
  srv.pipeline({{"DEL", "gone"}, {"DEL", "retyped"}, {"SET", "retyped", "now a string"}});
  REQUIRE(r.submit_step());  // first chunks
  r.collect_step();
  // A push at the head shifts every element (found by the window overlap).
  srv.cmd({"LPUSH", "head", "0"});
  REQUIRE(r.submit_step());  // sizes + second chunks
  r.collect_step();
  // Sizes that move between chunks.
  srv.pipeline({{"RPUSH", "tail", "11"}, {"SREM", "set", "a"}});
  while (r.submit_step()) r.collect_step();
  auto s = r.results();
  for (size_t i = 0; i < keys.size(); ++i) INFO(keys[i] << ": " << s[i].detail);
  CHECK(s[0].status == ReadStatus::Unstable);
  CHECK(s[0].detail.find("elements moved") != std::string::npos);
  CHECK(s[1].status == ReadStatus::Unstable);
  CHECK(s[1].detail.find("LLEN 10 -> 11") != std::string::npos);
  CHECK(s[2].status == ReadStatus::Unstable);
  CHECK(s[2].detail.find("changed while read in chunks") != std::string::npos);
  CHECK(s[3].status == ReadStatus::Unstable);
  CHECK(s[3].detail.find("vanished") != std::string::npos);
  CHECK(s[4].status == ReadStatus::Unstable);
  CHECK(s[4].detail.find("type changed") != std::string::npos);
  CHECK(s[5].status == ReadStatus::Ok);
  CHECK(r.stats().unstable == 5);

  // Read again, nothing moving: all settle.
  auto again = r.read(keys);
  CHECK(again[0].status == ReadStatus::Ok);
  CHECK(again[0].size == 11);
  CHECK(again[1].status == ReadStatus::Ok);
  CHECK(again[2].status == ReadStatus::Ok);
  CHECK(again[3].status == ReadStatus::Absent);
  CHECK(again[4].status == ReadStatus::Ok);
  CHECK(again[4].type_name == "string");
}

TEST_CASE(
    "reader: TTLs become expiry times on the local monotonic clock; absent, filtered and existence "
    "reads",
    "[reader][integration]") {
  TestServer srv;
  srv.pipeline({{"SET", "persist", "v"},
                {"SET", "ttl", "v", "PX", "60000"},
                {"HSET", "h", "f", "v"},
                {"SET", std::string("\0nul", 4), "x"}});
  auto client = client_for(srv);
  const auto now = monotonic_ms();
  KeyReader r(*client);
  const std::vector<std::string> keys = {"persist", "ttl", "nope", std::string("\0nul", 4)};
  auto s = r.read(keys, ReadLevel::Meta);
  CHECK(s[0].status == ReadStatus::Ok);
  CHECK(s[0].pttl == -1);
  CHECK(s[0].expire_at_ms == 0);
  CHECK(s[1].pttl > 59000);
  CHECK(std::llabs(s[1].expire_at_ms - (now + 60000)) < 1500);
  CHECK(s[2].status == ReadStatus::Absent);
  CHECK_FALSE(s[2].exists);
  CHECK(s[3].exists);
  CHECK(r.stats().steps == 1);

  KeyReader filtered(*client, ReaderOptions{.types = {"hash"}});
  auto f = filtered.read(std::vector<std::string>{"persist", "h"});
  CHECK(f[0].status == ReadStatus::Filtered);
  CHECK(f[1].status == ReadStatus::Ok);

  // EXISTS in groups of 64 on a standalone server, key by key where one is missing.
  std::vector<std::string> many;
  for (int i = 0; i < 150; ++i) many.push_back(i == 77 ? "missing" : "persist");
  KeyReader ex(*client);
  auto e = ex.read(many, ReadLevel::Exists);
  for (int i = 0; i < 150; ++i) CHECK(e[static_cast<size_t>(i)].exists == (i != 77));
  CHECK(ex.stats().steps == 2);
  CHECK(ex.stats().commands == 3 + 64);
}

TEST_CASE("reader: stream groups and pending entries are part of the value",
          "[reader][integration]") {
  TestServer a;
  TestServer b(ServerOptions{.binary = "valkey-server"});
  Cmds c;
  for (int i = 1; i <= 20; ++i)
    c.push_back({"XADD", "s", std::to_string(i) + "-1", "k", std::to_string(i)});
  c.push_back({"XGROUP", "CREATE", "s", "g", "0"});
  c.push_back({"XREADGROUP", "GROUP", "g", "alice", "COUNT", "12", "STREAMS", "s", ">"});
  c.push_back({"XGROUP", "CREATECONSUMER", "s", "g", "carol"});
  a.pipeline(c);
  b.pipeline(c);
  auto ca = client_for(a);
  auto cb = client_for(b);
  KeyReader ra(*ca, ReaderOptions{.chunk = 5});
  KeyReader rb(*cb, ReaderOptions{.chunk = 5});
  const std::vector<std::string> keys = {"s"};
  read_together(ra, keys, rb, keys);
  const Digest128 same = ra.results()[0].digest;
  CHECK(ra.results()[0].status == ReadStatus::Ok);
  CHECK(ra.results()[0].chunked);
  CHECK(rb.results()[0].digest == same);

  b.cmd({"XCLAIM", "s", "g", "bob", "0", "3-1"});  // PEL owner and delivery count
  CHECK(rb.read(keys)[0].digest != same);
  b.cmd({"XCLAIM", "s", "g", "alice", "0", "3-1"});
  CHECK(rb.read(keys)[0].digest != same);  // delivery count still differs

  a.cmd({"XCLAIM", "s", "g", "bob", "0", "3-1"});
  a.cmd({"XCLAIM", "s", "g", "alice", "0", "3-1"});
  CHECK(ra.read(keys)[0].digest == rb.read(keys)[0].digest);
  // Consumer names count too.
  a.cmd({"XGROUP", "CREATECONSUMER", "s", "g", "dave"});
  CHECK(ra.read(keys)[0].digest != rb.read(keys)[0].digest);
}
