// What a finished migcheck run left in its store, read back by the tests of
// the commands that record per-key outcomes (replicate, repair): the totals
// and the outcomes of the latest run of a command. One copy here instead of
// one per test file.
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

}  // namespace migcheck::test
