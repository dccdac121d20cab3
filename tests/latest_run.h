// What a finished migcheck run left in its store, read back by the tests of
// the commands that record per-key outcomes (replicate, repair): the totals
// and the outcomes of the latest run of a command, and the key counts two
// compare runs' totals must share. One copy here instead of one per test
// file.
#pragma once

#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "store.h"

namespace migcheck::test {

// The totals of the latest `command` run in the store at `path`, which must
// hold one.
inline nlohmann::json latest_totals(const std::string& path, const std::string& command) {
  Store s(path, false);
  auto run = s.latest_run(command);
  REQUIRE(run);
  return nlohmann::json::parse(run->totals_json);
}

// The per-key outcomes of the latest `command` run in the store at `path`,
// by key.
inline std::map<std::string, Outcome> latest_outcomes(const std::string& path,
                                                      const std::string& command) {
  Store s(path, false);
  auto run = s.latest_run(command);
  REQUIRE(run);
  std::map<std::string, Outcome> out;
  s.for_each_outcome(run->id, [&](const Outcome& o) { out[o.key] = o; });
  return out;
}

// Two compare runs that must have counted the same keys (a partitioned run
// merged and the whole one, a resumed run and one never stopped) agree on
// the totals that count keys, round by round too.
inline void check_same_key_counts(const nlohmann::json& got, const nlohmann::json& want) {
  for (const char* field : {"keys_checked", "keys_by_type", "target_keys_scanned", "differences",
                            "differences_by_kind", "databases"}) {
    INFO(field);
    CHECK(got[field] == want[field]);
  }
  REQUIRE(got["rounds"].size() == want["rounds"].size());
  for (size_t i = 0; i < got["rounds"].size(); ++i) {
    CHECK(got["rounds"][i]["keys_checked"] == want["rounds"][i]["keys_checked"]);
    CHECK(got["rounds"][i]["differences"] == want["rounds"][i]["differences"]);
  }
}

}  // namespace migcheck::test
