// --resume and what it takes from the command line (src/resume.h): speed
// and load options given again take effect, the rest stay the run's; a run
// killed with SIGKILL reads back as interrupted and resumes from the
// checkpoint taken at its start.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
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

void fill(TestServer& s, int n) {
  std::vector<std::vector<std::string>> sets;
  for (int i = 0; i < n; ++i) sets.push_back({"SET", "k:" + std::to_string(i), "v"});
  s.pipeline(sets);
}

// Waits until run 1 of `store` exists (and has a checkpoint when asked).
bool wait_for_run(const std::string& store, bool checkpoint) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until) {
    try {
      if (fs::exists(store)) {
        Store s(store, false, true);
        auto r = s.run(1);
        if (r && (!checkpoint || s.checkpoint(1, r->command))) return true;
      }
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// migcheck `args`, its output in store.out/.err, until its run in `store`
// has a checkpoint and `settle` more has passed; then `stop` ends it.
void run_then_stop(const std::vector<std::string>& args, const std::string& store,
                   std::chrono::milliseconds settle, const std::function<void(Spawned&)>& stop) {
  Spawned slow(args, store + ".out", store + ".err");
  REQUIRE(wait_for_run(store, true));
  std::this_thread::sleep_for(settle);
  stop(slow);
}

}  // namespace

TEST_CASE("resume options: a throttled compare is sped up on resume", "[resume_options]") {
  TestServer source, target;
  fill(source, 400);
  fill(target, 400);
  const std::string store = tmp_store("resume-opts", "compare");
  run_then_stop({"compare", source.uri(), target.uri(), "--store", store, "--max-ops-per-sec", "10",
                 "--batch", "10", "-q"},
                store, std::chrono::milliseconds(500), [](Spawned& slow) {
                  slow.signal(SIGINT);
                  REQUIRE(slow.wait(std::chrono::seconds(60)) == 2);
                });
  const auto start = std::chrono::steady_clock::now();
  auto r = run_migcheck({"compare", "--resume", "1", source.uri(), target.uri(), "--store", store,
                         "--max-ops-per-sec", "0", "--batch", "100", "--match", "k:1*"});
  const auto took = std::chrono::steady_clock::now() - start;
  INFO(r.err);
  CHECK(r.exit_code == 0);
  // At the recorded 10 commands a second, 400 keys would take over a minute.
  CHECK(took < std::chrono::seconds(30));
  CHECK_THAT(r.err, ContainsSubstring("--match is ignored"));
  CHECK_THAT(r.err, !ContainsSubstring("--max-ops-per-sec"));
  Store s(store, false, true);
  auto rec = s.run(1);
  REQUIRE(rec);
  auto options = nlohmann::json::parse(rec->options_json);
  CHECK(options["max_ops_per_sec"] == 0);
  CHECK(options["batch"] == 100);
  CHECK(options["match"] != "k:1*");  // what decides the result stays the run's
}

TEST_CASE(
    "resume options: a replicate killed before its first batch is interrupted and "
    "resumable",
    "[resume_options]") {
  TestServer source, target;
  fill(source, 300);
  const std::string store = tmp_store("resume-opts", "replicate");
  run_then_stop({"replicate", source.uri(), target.uri(), "--store", store, "--max-ops-per-sec",
                 "2", "--batch", "100", "-q"},
                store, std::chrono::milliseconds(300), [&](Spawned& slow) {
                  {
                    Store s(store, false, true);
                    CHECK(s.run(1)->status == "running");  // its process is alive
                  }
                  slow.signal(SIGKILL);
                  slow.wait(std::chrono::seconds(30));
                });
  {
    Store s(store, false, true);
    CHECK(s.run(1)->status == "interrupted");
  }
  auto report = run_migcheck({"report", "--store", store, "--format", "json", "--out", "-"});
  CHECK_THAT(report.out, ContainsSubstring("\"interrupted\""));
  auto r = run_migcheck({"replicate", "--resume", "1", source.uri(), target.uri(), "--store", store,
                         "--max-ops-per-sec", "0"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(target.cmd({"DBSIZE"}) == "300");
}
