// The progress line (src/progress.h): thousands separators, a caller's own
// line (replicate) served through the same ticker, the countdown between
// phases and the phase line taking over again when the next phase starts.
#include "progress.h"

#include <catch2/catch_test_macros.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>

#include "cli_runner.h"
#include "server_fixture.h"

using namespace migcheck;
namespace t = migcheck::test;

TEST_CASE("progress: counts down to the next phase, then shows it", "[progress]") {
  Progress p(false);
  p.start("round 1", 10);
  p.add_keys(10);
  p.finish();
  const auto now = std::chrono::steady_clock::now();
  p.countdown("round 2", now + std::chrono::milliseconds(4500));
  CHECK(p.line() == "round 2 in 5s");
  p.countdown("round 3", now - std::chrono::seconds(1));  // overdue: never negative
  CHECK(p.line() == "round 3 in 0s");
  p.start("round 3", 20);
  p.add_keys(5);
  const std::string line = p.line();
  CHECK(line.rfind("round 3: 5 of 20 keys (25.0%)", 0) == 0);
  CHECK(line.find(" in ") == std::string::npos);
  p.start("round 4", 1234567);
  p.add_keys(1000);
  CHECK(p.line().rfind("round 4: 1,000 of 1,234,567 keys", 0) == 0);
}

TEST_CASE("progress: compare shows the countdown between rounds", "[integration][progress]") {
  t::TestServer source, target;
  source.cmd({"SET", "k", "1"});  // missing on the target: a second round
  // Not a TTY: a plain progress line every 10 s, so a 12 s wait shows one.
  const auto store = std::filesystem::temp_directory_path() /
                     ("migcheck-progress-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(store);
  auto r = t::run_migcheck({"compare", source.uri(), target.uri(), "--store", store.string(),
                            "--rounds", "2", "--interval", "12s"});
  std::filesystem::remove(store);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("round 2 in ") != std::string::npos);
}

TEST_CASE("progress: numbers are grouped by thousands") {
  CHECK(grouped(0) == "0");
  CHECK(grouped(999) == "999");
  CHECK(grouped(1000) == "1,000");
  CHECK(grouped(1234567) == "1,234,567");
  CHECK(grouped(-1234567) == "-1,234,567");
  CHECK(grouped(INT64_MAX) == "9,223,372,036,854,775,807");
}

TEST_CASE("progress: a caller's own line is what line() gives, read afresh each time") {
  std::atomic<int> n{0};
  Progress p(false, [&] { return "copied " + grouped(n.load()); });
  CHECK(p.line() == "copied 0");
  n = 12345;
  CHECK(p.line() == "copied 12,345");
  p.finish();  // disabled: prints nothing, and does not throw
}

TEST_CASE("progress: the standard line counts keys of a total") {
  Progress p(false);
  p.start("round 1", 2000);
  p.add_keys(1500);
  p.add_differences(1);
  const std::string line = p.line();
  CHECK(line.starts_with("round 1: 1,500 of 2,000 keys (75.0%)"));
  CHECK(line.ends_with(", 1 difference"));
}
