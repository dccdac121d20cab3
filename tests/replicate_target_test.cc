// What replicate counts when the target misbehaves: a full target's refused
// writes are not "copied" bytes, and a standalone target made a replica
// mid-run is warned about once and ends the run with exit 2.
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "cli_runner.h"
#include "server_fixture.h"
#include "store.h"
#include "test_util.h"

namespace fs = std::filesystem;
using Catch::Matchers::ContainsSubstring;
using namespace migcheck;
using namespace migcheck::test;

namespace {

nlohmann::json totals(const std::string& store) {
  Store s(store, false, true);
  auto rec = s.run(1);
  REQUIRE(rec);
  return nlohmann::json::parse(rec->totals_json);
}

}  // namespace

TEST_CASE("replicate target: writes a full target refuses are not counted as copied bytes",
          "[replicate_target]") {
  TestServer source, target({.config = {{"maxmemory-policy", "noeviction"}}, .maxmemory = "100kb"});
  std::vector<std::vector<std::string>> sets;
  for (int i = 0; i < 50; ++i)
    sets.push_back({"SET", "big:" + std::to_string(i), std::string(20000, 'x')});
  source.pipeline(sets);
  const std::string store = tmp_store("target", "full");
  auto r = run_migcheck({"replicate", source.uri(), target.uri(), "--store", store, "-q"});
  INFO(r.err << r.out);
  CHECK(r.exit_code == 1);
  auto t = totals(store);
  CHECK(t["copied"] == 0);
  CHECK(t["failed"] == 50);
  CHECK(t["bytes"] == 0);
}

TEST_CASE("replicate target: a target made a replica mid-run ends it with exit 2",
          "[replicate_target]") {
  TestServer source, target, other;
  std::vector<std::vector<std::string>> sets;
  for (int i = 0; i < 400; ++i) sets.push_back({"SET", "k:" + std::to_string(i), "v"});
  source.pipeline(sets);
  const std::string store = tmp_store("target", "demoted");
  Spawned run({"replicate", source.uri(), target.uri(), "--store", store, "--max-ops-per-sec",
               "150", "--batch", "20"},
              store + ".out", store + ".err");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until && std::stoll(target.cmd({"DBSIZE"})) < 20)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(std::stoll(target.cmd({"DBSIZE"})) >= 20);
  target.cmd({"REPLICAOF", "127.0.0.1", std::to_string(other.port())});
  const int code = run.wait(std::chrono::seconds(120));
  const std::string err = slurp(store + ".err"), out = slurp(store + ".out");
  INFO(err << out);
  CHECK(code == 2);
  CHECK_THAT(err,
             ContainsSubstring("became a replica of 127.0.0.1:" + std::to_string(other.port())));
  CHECK_THAT(out, ContainsSubstring("the target became a replica"));
  CHECK(totals(store)["target_became_replica"] == true);
}

TEST_CASE("replicate target: a live tail stops when its target is made a replica",
          "[replicate_target]") {
  TestServer source({.config = {{"notify-keyspace-events", "KEA"}}}), target, other;
  source.cmd({"SET", "a", "1"});
  const std::string store = tmp_store("target", "demoted-live");
  Spawned run({"replicate", source.uri(), target.uri(), "--store", store, "--mode", "live"},
              store + ".out", store + ".err");
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until && target.cmd({"EXISTS", "a"}) != "1")
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(target.cmd({"EXISTS", "a"}) == "1");
  target.cmd({"REPLICAOF", "127.0.0.1", std::to_string(other.port())});
  const int code = run.wait(std::chrono::seconds(30));  // without a signal: it stops by itself
  const std::string err = slurp(store + ".err");
  INFO(err);
  CHECK(code == 2);
  CHECK_THAT(err, ContainsSubstring("became a replica"));
}
