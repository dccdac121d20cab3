// `migcheck info FILE` end to end: a file saved by a real server (version,
// aux fields, keys and expiries per db and type, biggest keys, functions),
// file:// URIs, already-expired keys of a hand-built file, and one line with
// the offset and exit 2 for truncated or corrupt files.
#include "rdb_info.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <fstream>
#include <string>

#include "cli_runner.h"
#include "rdb_writer.h"
#include "server_fixture.h"

namespace t = migcheck::test;
using Catch::Matchers::ContainsSubstring;
using t::run_migcheck;

namespace {

std::string temp_file(const std::string& name, const std::string& bytes) {
  std::string path = "/tmp/migcheck-rdbinfo-" + std::to_string(::getpid()) + "-" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

}  // namespace

TEST_CASE("rdb info: a file saved by Redis 7.0, text and JSON", "[rdb][integration]") {
  t::TestServer srv;
  srv.pipeline({{"SET", "small", "x"},
                {"SET", "big", std::string(50000, 'b') + "end"},
                {"HSET", "h", "f", "v"},
                {"PEXPIRE", "h", "3600000"},
                {"RPUSH", "l", "1", "2"},
                {"SELECT", "3"},
                {"SADD", "s", "a"},
                {"FUNCTION", "LOAD",
                 "#!lua name=mylib\nredis.register_function('f', "
                 "function() return 1 end)"},
                {"SAVE"}});
  const std::string path = srv.dir() + "/dump.rdb";
  auto r = run_migcheck({"info", path, "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  REQUIRE(j.size() == 1);
  auto f = j[0];
  CHECK(f["kind"] == "rdb");
  CHECK(f["rdb_version"] == 10);
  CHECK(f["checksum"] == "verified");
  CHECK(f["aux"]["redis-ver"].get<std::string>().rfind("7.0", 0) == 0);
  CHECK(f["aux"].contains("ctime"));
  CHECK(f["keys"] == 5);
  CHECK(f["expires"] == 1);
  CHECK(f["already_expired"] == 0);
  REQUIRE(f["dbs"].size() == 2);
  CHECK(f["dbs"][0]["db"] == 0);
  CHECK(f["dbs"][0]["keys"] == 4);
  CHECK(f["dbs"][0]["types"]["hash"]["expires"] == 1);
  CHECK(f["dbs"][1]["db"] == 3);
  CHECK(f["dbs"][1]["types"]["set"]["keys"] == 1);
  REQUIRE(f["biggest_keys"].size() == 5);
  CHECK(f["biggest_keys"][0]["key"] == "big");
  CHECK(f["biggest_keys"][0]["bytes"].get<uint64_t>() < 50000);  // LZF-compressed
  CHECK(f["functions"] == nlohmann::json::array({"mylib"}));

  auto text = run_migcheck({"info", "file://" + path});
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, ContainsSubstring("snapshot file (RDB 10)") &&
                           ContainsSubstring("5 (1 with an expiry, 0 already expired)") &&
                           ContainsSubstring("mylib"));
}

TEST_CASE("rdb info: expired keys, module types, a bounded biggest-keys list", "[rdb]") {
  t::RdbWriter w(9);
  w.select(0).expire_ms(1000).key(0, "old").str("gone");
  for (int i = 0; i < 30; ++i) w.key(0, "k" + std::to_string(i)).str(std::string(i, 'v'));
  w.key(7, "m").len(0x1234567890ull << 10).len(5).str("body").len(0);
  const std::string path = temp_file("a.rdb", w.finish());
  migcheck::RdbSummary s = migcheck::summarize_rdb(path, 20, 2000);
  std::remove(path.c_str());
  CHECK(s.dbs[0].keys == 32);
  CHECK(s.dbs[0].expired == 1);
  REQUIRE(s.biggest.size() == 20);
  CHECK(s.biggest[0].key == "k29");
  CHECK(s.biggest[19].key == "k11");  // k_i is i + 2 bytes; m is 17
  CHECK(s.module_types.size() == 1);
}

TEST_CASE("rdb info: truncated or corrupt file is one line with the offset, exit 2",
          "[rdb][integration]") {
  std::string good = t::sample_rdb();
  const std::string cut = temp_file("cut.rdb", good.substr(0, good.size() / 2));
  auto r = run_migcheck({"info", cut});
  std::remove(cut.c_str());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("offset ") && ContainsSubstring("truncated"));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);

  std::string bad = good;
  bad[bad.size() - 3] ^= 1;
  const std::string crc = temp_file("crc.rdb", bad);
  r = run_migcheck({"info", crc});
  std::remove(crc.c_str());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("checksum"));

  r = run_migcheck({"info", "/nonexistent/dir/dump.rdb"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, ContainsSubstring("cannot open"));
}

TEST_CASE("rdb info: commands that do not read snapshot files yet say so, exit 2",
          "[rdb][integration]") {
  const std::string path = temp_file("src.rdb", t::sample_rdb());
  t::TestServer target;
  for (const std::string& src : {path, "file://" + path}) {
    // compare and replicate read them now (tests/snapshot_compare_test.cc,
    // tests/snapshot_replicate_test.cc); repair not yet.
    auto r = run_migcheck({"repair", src, target.uri()});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, ContainsSubstring("is a snapshot file"));
  }
  std::remove(path.c_str());
}

TEST_CASE("rdb info --digest: one pass digesting every key of the file", "[rdb]") {
  const std::string path = temp_file("digest.rdb", t::sample_rdb());
  auto r = run_migcheck({"info", path, "--digest", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  uint64_t keys = 0;
  for (const auto& [db, d] : migcheck::summarize_rdb(path).dbs) keys += d.keys;
  CHECK(j[0]["keys"] == keys);
  CHECK(j[0]["digest"].get<std::string>().size() == 32);
  // The same file digests the same; the text form says so too.
  r = run_migcheck({"info", path, "--digest"});
  CHECK(r.out.find(j[0]["digest"].get<std::string>()) != std::string::npos);
  std::remove(path.c_str());
}
