// Unit tests for hiding passwords in argv.
#include "argv_scrub.h"

#include <catch2/catch_test_macros.hpp>

#include <string>
#include <vector>

using namespace migcheck;

TEST_CASE("argv_scrub: URIs and --*-pass values are masked in place") {
  std::vector<std::string> args = {
      "migcheck",          "compare",       "redis://alice:s3cret@h:1/0",
      "rediss://tok@h",    "--source-pass", "pw1",
      "--target-pass=pw2", "redis://h:2",   "unix:///tmp/x.sock"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  scrub_argv(static_cast<int>(argv.size()), argv.data());
  CHECK(args[2] == "redis://alice:******@h:1/0");
  CHECK(args[3] == "rediss://***@h");
  CHECK(args[5] == "***");
  CHECK(args[6] == "--target-pass=***");
  CHECK(args[7] == "redis://h:2");
  CHECK(args[8] == "unix:///tmp/x.sock");
}
