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

TEST_CASE("argv_scrub: the secrets masked are returned, and redact() hides them in messages") {
  std::vector<std::string> args = {"migcheck",      "compare", "redis://alice:s3cret@h:1/0",
                                   "--source-pass", "pw1",     "--target-pass=pw2",
                                   "redis://h:2"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  auto secrets = scrub_argv(static_cast<int>(argv.size()), argv.data());
  CHECK(secrets == std::vector<std::string>{"s3cret", "pw1", "pw2"});
  CHECK(redact("unexpected: redis://alice:s3cret@h:1/0 and pw1, pw2pw2", secrets) ==
        "unexpected: redis://alice:***@h:1/0 and ***, ******");
  CHECK(redact("nothing secret", secrets) == "nothing secret");
  CHECK(redact("keeps going", {""}) == "keeps going");
  // A secret that contains its own replacement does not loop.
  CHECK(redact("a***b", {"***"}) == "a***b");
}

TEST_CASE("argv_scrub: sentinel URIs and --*-sentinel-pass values are masked too") {
  std::vector<std::string> args = {"migcheck",
                                   "info",
                                   "redis-sentinel://u:dpw@h1:26379,h2?master=m",
                                   "--source-sentinel-pass",
                                   "spw",
                                   "--target-sentinel-pass=tpw"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  auto secrets = scrub_argv(static_cast<int>(argv.size()), argv.data());
  CHECK(args[2] == "redis-sentinel://u:***@h1:26379,h2?master=m");
  CHECK(args[4] == "***");
  CHECK(args[5] == "--target-sentinel-pass=***");
  CHECK(secrets == std::vector<std::string>{"dpw", "spw", "tpw"});
}
