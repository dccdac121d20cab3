// Joining partition totals: counts summed, rounds and databases matched,
// elapsed the largest, server facts from the first, per-store ids dropped.
#include <catch2/catch_test_macros.hpp>

#include "totals_merge.h"

using migcheck::merge_totals;
using json = nlohmann::json;

TEST_CASE("totals merge: sums, keyed arrays, maxima", "[partition]") {
  const json a = {
      {"keys_checked", 10},
      {"keys_per_sec", 1.5},
      {"sampled", false},
      {"elapsed_ms", 300},
      {"differences_by_kind", {{"missing", 2}}},
      {"rounds", json::array({{{"round", 1}, {"keys_checked", 10}, {"elapsed_ms", 100}},
                              {{"round", 2}, {"keys_checked", 2}, {"elapsed_ms", 50}}})},
      {"databases", json::array({{{"source_db", 0}, {"target_db", 0}, {"keys_checked", 10}}})},
      {"clock_skew", {{"known", true}, {"skew_ms", 3}}},
      {"big_keys", {{"count", 1}, {"keys", json::array({{{"key", "a"}}})}}},
      {"partition", {{"index", 1}}},
      {"verify_run", 4}};
  const json b = {
      {"keys_checked", 5},
      {"keys_per_sec", 2.0},
      {"sampled", false},
      {"elapsed_ms", 900},
      {"differences_by_kind", {{"missing", 1}, {"value", 4}}},
      {"rounds", json::array({{{"round", 1}, {"keys_checked", 5}, {"elapsed_ms", 400}}})},
      {"databases", json::array({{{"source_db", 0}, {"target_db", 0}, {"keys_checked", 5}},
                                 {{"source_db", 1}, {"target_db", 1}, {"keys_checked", 7}}})},
      {"clock_skew", {{"known", true}, {"skew_ms", 9}}},
      {"big_keys", {{"count", 2}, {"keys", json::array({{{"key", "b"}}, {{"key", "c"}}})}}},
      {"partition", {{"index", 2}}}};
  const json m = merge_totals({a, b});
  CHECK(m["keys_checked"] == 15);
  CHECK(m["keys_per_sec"].get<double>() == 3.5);
  CHECK(m["elapsed_ms"] == 900);
  CHECK(m["sampled"] == false);
  CHECK(m["differences_by_kind"] == json{{"missing", 3}, {"value", 4}});
  REQUIRE(m["rounds"].size() == 2);
  CHECK(m["rounds"][0] == json{{"round", 1}, {"keys_checked", 15}, {"elapsed_ms", 400}});
  CHECK(m["rounds"][1] == json{{"round", 2}, {"keys_checked", 2}, {"elapsed_ms", 50}});
  REQUIRE(m["databases"].size() == 2);
  CHECK(m["databases"][0]["keys_checked"] == 15);
  CHECK(m["databases"][1]["keys_checked"] == 7);
  CHECK(m["clock_skew"]["skew_ms"] == 3);
  CHECK(m["big_keys"]["count"] == 3);
  CHECK(m["big_keys"]["keys"].size() == 3);
  CHECK_FALSE(m.contains("partition"));
  CHECK_FALSE(m.contains("verify_run"));

  // A partition without a big-key count (round 1 unfinished): no count.
  json c = b;
  c.erase("big_keys");
  CHECK_FALSE(merge_totals({a, c}).contains("big_keys"));
}
