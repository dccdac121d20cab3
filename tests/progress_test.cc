// The progress line (src/progress.h): thousands separators, and a caller's
// own line (replicate) served through the same ticker.
#include "progress.h"

#include <catch2/catch_test_macros.hpp>

#include <atomic>
#include <string>

using namespace migcheck;

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
