// --help labels (src/help_format.cc), unit and through the binary.
#include "help_format.h"

#include <catch2/catch_test_macros.hpp>

#include "cli_runner.h"

using namespace migcheck;
using migcheck::test::run_migcheck;

TEST_CASE("help_format: parser labels become what a person reads") {
  CHECK(friendly_type("TEXT:DURATION") == "DURATION");
  CHECK(friendly_type("UINT:INT in [1 - 100000]") == "1..100000");
  CHECK(friendly_type("INT:INT in [0 - 1048576]") == "0..1048576");
  CHECK(friendly_type("UINT in [1 - 64]") == "1..64");
  CHECK(friendly_type("TEXT:{primary,replica}") == "{primary,replica}");
  CHECK(friendly_type("FLOAT:NONNEGATIVE") == "NUMBER");
  CHECK(friendly_type("INT:POSITIVE") == "N");
  CHECK(friendly_type("UINT") == "N");
  CHECK(friendly_type("TEXT") == "TEXT");
  CHECK(friendly_type("HOST:PORT") == "HOST:PORT");
}

TEST_CASE("help_format: no command's help shows a parser label") {
  for (const char* cmd : {"info", "compare", "diffs", "repair", "replicate", "report"}) {
    auto r = run_migcheck({cmd, "--help"});
    INFO(cmd);
    CHECK(r.exit_code == 0);
    for (const char* label : {"TEXT:", "UINT:", "INT:", "FLOAT:", "INT in ["})
      CHECK(r.out.find(label) == std::string::npos);
  }
  auto r = run_migcheck({"compare", "--help"});
  CHECK(r.out.find("--timeout DURATION=30s") != std::string::npos);
  CHECK(r.out.find("--read-from {primary,replica}=primary") != std::string::npos);
}
