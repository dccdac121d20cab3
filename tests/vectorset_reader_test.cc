// Vector sets (Redis 8.0) through the KeyReader: equal sets built in another
// order digest the same though their DUMPs differ; a changed attribute or
// vector differs; big sets are read in chunks with the same digest.
#include "vectorset_reader.h"

#include <catch2/catch_test_macros.hpp>

#include <memory>
#include <string>
#include <vector>

#include "client.h"
#include "engines.h"
#include "reader.h"
#include "server_fixture.h"
#include "uri.h"

using namespace migcheck;
namespace t = migcheck::test;

namespace {

using t::Cmds;

std::unique_ptr<Client> client_for(t::TestServer& s) {
  return std::make_unique<Client>(parse_uri(s.uri()), ClientOptions{});
}

// n elements of dimension 4; `reversed` adds them in the opposite order.
Cmds vset(const std::string& key, int n, bool reversed, const std::string& extra = "") {
  Cmds c;
  for (int k = 0; k < n; ++k) {
    const int i = reversed ? n - 1 - k : k;
    const std::string id = std::to_string(i);
    std::vector<std::string> add = {
        "VADD",    key,      "VALUES", "4",       std::to_string(i % 7 + 1),
        id + ".5", "-" + id, "0.25",   "el:" + id};
    if (!extra.empty()) add.push_back(extra);
    if (i % 3 == 0) {
      add.push_back("SETATTR");
      add.push_back(R"({"n":)" + id + "}");
    }
    c.push_back(add);
  }
  return c;
}

KeyState read_one(t::TestServer& s, const std::string& key, size_t chunk = 1000) {
  auto c = client_for(s);
  KeyReader r(*c, ReaderOptions{.chunk = chunk});
  std::vector<std::string> keys{key};
  return r.read(keys)[0];
}

}  // namespace

TEST_CASE("vectorset reader: insertion order does not matter, DUMP bytes do", "[integration]") {
  const std::string bin = MIGCHECK_REQUIRE_ENGINE("redis-8.0");
  t::TestServer a(t::ServerOptions{.binary = bin}), b(t::ServerOptions{.binary = bin});
  for (const char* q : {"", "NOQUANT", "BIN"}) {
    const std::string key = std::string("vs:") + q;
    a.pipeline(vset(key, 60, false, q));
    b.pipeline(vset(key, 60, true, q));
    INFO(key);
    REQUIRE(a.cmd({"TYPE", key}) == "vectorset");
    const KeyState sa = read_one(a, key), sb = read_one(b, key);
    REQUIRE(sa.status == ReadStatus::Ok);
    REQUIRE(sb.status == ReadStatus::Ok);
    CHECK(sa.size == 60);
    CHECK(sa.digest == sb.digest);
    // The serialised graph differs: a DUMP body digest would call them different.
    CHECK(a.reply({"DUMP", key}).str != b.reply({"DUMP", key}).str);
  }
  // Quantisations differ as values.
  CHECK(read_one(a, "vs:").digest != read_one(a, "vs:NOQUANT").digest);
}

TEST_CASE("vectorset reader: one changed attribute or vector is a difference", "[integration]") {
  const std::string bin = MIGCHECK_REQUIRE_ENGINE("redis-8.0");
  t::TestServer s(t::ServerOptions{.binary = bin});
  s.pipeline(vset("a", 20, false));
  s.pipeline(vset("b", 20, true));
  REQUIRE(read_one(s, "a").digest == read_one(s, "b").digest);
  s.cmd({"VSETATTR", "b", "el:4", R"({"n":5})"});
  CHECK(read_one(s, "a").digest != read_one(s, "b").digest);
  s.cmd({"VSETATTR", "b", "el:4", ""});  // removes the attributes: el:4 had none
  CHECK(read_one(s, "a").digest == read_one(s, "b").digest);
  s.cmd({"VADD", "b", "VALUES", "4", "9", "9", "9", "9", "el:5"});  // updates el:5's vector
  CHECK(read_one(s, "a").digest != read_one(s, "b").digest);
  s.cmd({"VREM", "b", "el:5"});
  CHECK(read_one(s, "b").size == 19);
}

TEST_CASE("vectorset reader: big sets in chunks, same digest", "[integration]") {
  const std::string bin = MIGCHECK_REQUIRE_ENGINE("redis-8.0");
  t::TestServer s(t::ServerOptions{.binary = bin});
  s.pipeline(vset("v", 250, false));
  const KeyState whole = read_one(s, "v", 1000);
  const KeyState chunks = read_one(s, "v", 20);
  REQUIRE(chunks.status == ReadStatus::Ok);
  CHECK_FALSE(whole.chunked);
  CHECK(chunks.chunked);
  CHECK(whole.digest == chunks.digest);
  // A vector set with no key at all reads as absent.
  CHECK(read_one(s, "none").status == ReadStatus::Absent);
}
