// Unit tests for durations and sizes.
#include "duration.h"

#include <catch2/catch_test_macros.hpp>

#include "errors.h"

using namespace migcheck;

TEST_CASE("duration: suffixes and bare seconds") {
  CHECK(parse_duration("500ms").count() == 500);
  CHECK(parse_duration("5s").count() == 5000);
  CHECK(parse_duration("5").count() == 5000);
  CHECK(parse_duration("2m").count() == 120000);
  CHECK(parse_duration("1h").count() == 3600000);
  CHECK(parse_duration("1.5s").count() == 1500);
  CHECK(parse_duration("0").count() == 0);
}

TEST_CASE("duration: bad text is a UsageError") {
  for (const char* bad : {"", "ms", "-1s", "5x", "1e3", "abc", "5 s", "nan", "9999999999999h"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_duration(bad), UsageError);
  }
}

TEST_CASE("duration: sizes") {
  CHECK(parse_size("512") == 512);
  CHECK(parse_size("64kb") == 64 * 1024);
  CHECK(parse_size("10MB") == 10 * 1024 * 1024);
  CHECK(parse_size("1g") == 1024ull * 1024 * 1024);
  CHECK_THROWS_AS(parse_size("10 parsecs"), UsageError);
}

TEST_CASE("duration: formatting") {
  CHECK(format_duration(Millis(850)) == "850ms");
  CHECK(format_duration(Millis(1250)) == "1.25s");
  CHECK(format_duration(Millis(184000)) == "3m04s");
  CHECK(format_bytes(1536) == "1.5 KiB");
}
