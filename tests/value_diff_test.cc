// Locating value differences (src/value_diff.h): the comparisons per type,
// the stored form, and end to end through `compare`, `diffs` and `report`
// against real servers.
#include "value_diff.h"

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "html_escape.h"
#include "server_fixture.h"
#include "test_util.h"

using namespace migcheck;
using namespace migcheck::test;
using namespace std::string_literals;
using Catch::Matchers::ContainsSubstring;

namespace {

std::string tmp_path(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() /
           ("migcheck-valuediff-" + name + "-" + std::to_string(::getpid()));
  migcheck::test::remove_store(p.string());
  return p.string();
}

}  // namespace

TEST_CASE("value_diff: strings differ at the first differing byte", "[value_diff]") {
  CHECK_FALSE(locate_in_strings("abc", "abc", 64));
  auto l = locate_in_strings("hello world", "hello there", 64);
  REQUIRE(l);
  CHECK(l->located);
  CHECK(l->part == "offset");
  CHECK(l->at == "6");
  CHECK(l->source == "world");
  CHECK(l->target == "there");
  CHECK(l->source_bytes == 11);
  // A prefix: the difference is where the shorter one ends.
  l = locate_in_strings("abc", "abcdef", 64);
  REQUIRE(l);
  CHECK(l->at == "3");
  CHECK(l->source == "");
  CHECK(l->target == "def");
  // Long tails are cut and marked.
  l = locate_in_strings("x" + std::string(100, 'a'), "y" + std::string(100, 'a'), 8);
  REQUIRE(l);
  CHECK(l->source == "xaaaaaaa...");
  CHECK(l->source_bytes == 101);
}

TEST_CASE("value_diff: lists, hashes, sets and sorted sets", "[value_diff]") {
  const std::vector<std::string> a = {"a", "b", "c"}, b = {"a", "B", "c"}, c = {"a", "b"};
  auto l = locate_in_lists(a, b, 64);
  REQUIRE(l);
  CHECK(l->part == "index");
  CHECK(l->at == "1");
  CHECK(l->source == "b");
  CHECK(l->target == "B");
  l = locate_in_lists(a, c, 64);
  REQUIRE(l);
  CHECK(l->at == "2");
  CHECK(l->source == "c");
  CHECK_FALSE(l->target);
  CHECK(l->target_bytes == -1);
  CHECK_FALSE(locate_in_lists(a, a, 64));

  // Hashes: order of the pairs does not matter; the first field in byte order wins.
  CHECK_FALSE(locate_in_hashes({{"f1", "1"}, {"f2", "2"}}, {{"f2", "2"}, {"f1", "1"}}, 64));
  l = locate_in_hashes({{"f2", "2"}, {"f1", "1"}, {"f3", "3"}}, {{"f1", "1"}, {"f3", "x"}}, 64);
  REQUIRE(l);
  CHECK(l->part == "field");
  CHECK(l->at == "f2");
  CHECK(l->source == "2");
  CHECK_FALSE(l->target);
  l = locate_in_hashes({{"f1", "1"}, {"f3", "3"}}, {{"f3", "x"}, {"f1", "1"}}, 64);
  REQUIRE(l);
  CHECK(l->at == "f3");
  CHECK(l->source == "3");
  CHECK(l->target == "x");

  l = locate_in_sets({"a", "b", "c"}, {"c", "a", "d"}, 64);
  REQUIRE(l);
  CHECK(l->part == "member");
  CHECK(l->at == "b");
  CHECK(l->source);
  CHECK_FALSE(l->target);
  CHECK_FALSE(locate_in_sets({"a", "b"}, {"b", "a"}, 64));

  // Scores compare as numbers: "1" and "1.0" are the same score.
  CHECK_FALSE(locate_in_zsets({{"m", "1"}}, {{"m", "1.0"}}, 64));
  l = locate_in_zsets({{"m", "1"}, {"n", "2"}}, {{"n", "2"}, {"m", "1.5"}}, 64);
  REQUIRE(l);
  CHECK(l->part == "score");
  CHECK(l->at == "m");
  CHECK(l->source == "1");
  CHECK(l->target == "1.5");
  l = locate_in_zsets({{"m", "1"}}, {{"m", "1"}, {"a", "3"}}, 64);
  REQUIRE(l);
  CHECK(l->part == "member");
  CHECK(l->at == "a");
  CHECK_FALSE(l->source);
  CHECK(l->target == "3");
}

TEST_CASE("value_diff: binary values are escaped; the JSON form round-trips", "[value_diff]") {
  auto l = locate_in_hashes({{"f\0"s, "a\0b\x1b[31m"s}}, {{"f\0"s, "a\0c"s}}, 64);
  REQUIRE(l);
  CHECK(l->at == "f\\x00");
  CHECK(l->source == "a\\x00b\\x1B[31m");
  CHECK(l->target == "a\\x00c");
  const std::string j = l->to_json();
  CHECK(j.find('\x1b') == std::string::npos);
  CHECK(j.find('\0') == std::string::npos);
  auto back = ValueLocation::from_json(j);
  REQUIRE(back);
  CHECK(back->located);
  CHECK(back->part == "field");
  CHECK(back->at == l->at);
  CHECK(back->source == l->source);
  CHECK(back->target == l->target);
  CHECK(back->summary() == R"(field "f\x00": source "a\x00b\x1B[31m", target "a\x00c")");

  ValueLocation none;
  none.reason = "key larger than the bound (x)";
  auto nb = ValueLocation::from_json(none.to_json());
  REQUIRE(nb);
  CHECK_FALSE(nb->located);
  CHECK(nb->summary() == "not located: key larger than the bound (x)");
  CHECK_FALSE(ValueLocation::from_json(""));
  CHECK_FALSE(ValueLocation::from_json("not json"));
}

TEST_CASE("value_diff: compare locates one changed element of every type, diffs and report show it",
          "[value_diff][integration]") {
  TestServer source, target;
  Cmds common = {
      {"SET", "str", "the quick brown fox"},
      {"RPUSH", "list", "a", "b", "c", "d"},
      {"HSET", "hash", "f1", "v1", "f2", "v2", "f3", "v3"},
      {"SADD", "set", "m1", "m2", "m3"},
      {"ZADD", "zset", "1", "a", "2", "b", "3", "c"},
      {"XADD", "stream", "1-0", "f", "v"},
      {"XADD", "stream", "2-0", "f", "v"},
      {"SET", "bin", "head\0tail\x1B[31m<b>red</b>"s},
      {"XADD", "groups", "1-0", "f", "v"},
  };
  std::vector<std::string> big = {"HSET", "big"};
  for (int i = 0; i < 30; ++i) {
    big.push_back("f" + std::to_string(i));
    big.push_back("v");
  }
  common.push_back(big);
  source.pipeline(common);
  target.pipeline(common);
  target.pipeline({
      {"SETRANGE", "str", "4", "QUICK"},
      {"LSET", "list", "2", "C"},
      {"HSET", "hash", "f2", "changed"},
      {"SREM", "set", "m2"},
      {"ZADD", "zset", "2.5", "b"},
      {"XADD", "stream", "2-1", "g", "w"},
      {"SETRANGE", "bin", "5", "T\0"s},
      {"HSET", "big", "f7", "other"},
  });
  // Same entries, a consumer group at another position.
  source.cmd({"XGROUP", "CREATE", "groups", "g1", "0"});
  target.cmd({"XGROUP", "CREATE", "groups", "g1", "$"});
  const std::string store = tmp_path("e2e") + ".db";
  auto c = run_migcheck({"compare", source.uri(), target.uri(), "--store", store, "--rounds", "1",
                         "--quiet", "--locate-max-elements", "20"});
  INFO(c.out << c.err);
  REQUIRE(c.exit_code == 1);

  auto j = run_migcheck({"diffs", "--store", store, "--format", "jsonl"});
  REQUIRE(j.exit_code == 0);
  CHECK(j.out.find('\x1b') == std::string::npos);
  std::map<std::string, nlohmann::json> loc;
  std::istringstream in(j.out);
  for (std::string line; std::getline(in, line);) {
    auto o = nlohmann::json::parse(line);
    REQUIRE(o["kind"] == "value");
    REQUIRE(o.contains("location"));
    loc[o["key"].get<std::string>()] = o["location"];
  }
  REQUIRE(loc.size() == 9);
  using json = nlohmann::json;
  CHECK(loc["str"] == json{{"located", true},
                           {"part", "offset"},
                           {"at", "4"},
                           {"source", "quick brown fox"},
                           {"target", "QUICK brown fox"},
                           {"source_bytes", 19},
                           {"target_bytes", 19}});
  // Per key: the part, where in it, and both sides there (null: absent).
  const std::vector<std::array<json, 5>> where = {
      {"list", "index", "2", "c", "C"},
      {"hash", "field", "f2", "v2", "changed"},
      {"zset", "score", "b", "2", "2.5"},
      {"stream", "entry", "2-1", nullptr, "g=w"},
      // Binary values: escaped, never raw NUL or ESC.
      {"bin", "offset", "5", "tail\\x1B[31m<b>red</b>", "T\\x00il\\x1B[31m<b>red</b>"}};
  for (const auto& [key, part, at, on_source, on_target] : where) {
    INFO(key);
    CHECK(loc[key]["part"] == part);
    CHECK(loc[key]["at"] == at);
    CHECK(loc[key]["source"] == on_source);
    CHECK(loc[key]["target"] == on_target);
  }
  CHECK(loc["set"]["part"] == "member");
  CHECK(loc["set"]["at"] == "m2");
  CHECK(loc["set"]["target"].is_null());
  CHECK(loc["groups"]["part"] == "group");
  CHECK(loc["groups"]["at"] == "g1");
  CHECK_THAT(loc["groups"]["source"].get<std::string>(),
             ContainsSubstring("last-delivered-id 0-0"));
  CHECK_THAT(loc["groups"]["target"].get<std::string>(),
             ContainsSubstring("last-delivered-id 1-0"));
  // Over the bound: never read again.
  CHECK(loc["big"]["located"] == false);
  CHECK_THAT(loc["big"]["reason"].get<std::string>(),
             ContainsSubstring("key larger than the bound (30 on source, 30 on target"));

  auto t = run_migcheck({"diffs", "--store", store});
  REQUIRE(t.exit_code == 0);
  CHECK(t.out.find('\x1b') == std::string::npos);
  CHECK_THAT(t.out, ContainsSubstring(R"(field "f2": source "v2", target "changed")"));
  CHECK_THAT(t.out, ContainsSubstring(R"(offset "5": source "tail\x1B[31m<b>red</b>")"));
  CHECK_THAT(t.out, ContainsSubstring("not located: key larger than the bound"));

  // The reports carry it: JSON as stored, HTML escaped.
  auto rj = run_migcheck({"report", "--store", store, "--format", "json", "--out", "-"});
  INFO(rj.err);
  auto report = nlohmann::json::parse(rj.out);
  int located = 0;
  for (const auto& item : report["samples"]["items"])
    if (item["location"].is_object() && item["location"]["located"] == true) ++located;
  CHECK(located == 8);
  const std::string page = tmp_path("e2e") + ".html";
  auto rh = run_migcheck({"report", "--store", store, "--format", "html", "--out", page});
  INFO(rh.err);
  const std::string html = slurp(page);
  std::filesystem::remove(page);
  CHECK(html.find('\x1b') == std::string::npos);
  CHECK(html.find("<b>red") == std::string::npos);
  CHECK_THAT(html,
             ContainsSubstring("offset &quot;5&quot;: source &quot;tail\\x1B[31m&lt;b&gt;red"));
  CHECK_THAT(html, ContainsSubstring("not located: key larger than the bound"));
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(store + suffix);
}
